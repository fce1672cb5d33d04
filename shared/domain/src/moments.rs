//! Moments as people in Italy read them: the service keeps UTC, a person reads Rome's time.

/// `at` on Rome's clock (UTC should the time zone database be missing).
pub fn in_rome(at: jiff::Timestamp) -> jiff::Zoned {
    at.in_tz("Europe/Rome")
        .unwrap_or_else(|_| at.to_zoned(jiff::tz::TimeZone::UTC))
}

/// "05/12/2026 alle 13:00 (ora italiana)".
pub fn rome_time(at: jiff::Timestamp) -> String {
    let zoned = in_rome(at);
    format!(
        "{} alle {} (ora italiana)",
        zoned.strftime("%d/%m/%Y"),
        zoned.strftime("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_reads_in_rome_time_with_summer_time() {
        let summer: jiff::Timestamp = "2026-07-01T10:05:00Z".parse().unwrap();
        assert_eq!(rome_time(summer), "01/07/2026 alle 12:05 (ora italiana)");
        let winter: jiff::Timestamp = "2026-12-04T23:30:00Z".parse().unwrap();
        assert_eq!(rome_time(winter), "05/12/2026 alle 00:30 (ora italiana)");
    }
}
