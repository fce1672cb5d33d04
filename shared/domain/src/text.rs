//! Text normalisation shared by the parsers and the search index.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Trims and folds every run of white space into one space.
pub fn collapse_whitespace(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upper-case ASCII form without accents, for comparisons that ignore case and accents
/// ("Nicolò" and "NICOLO" fold alike). Characters with no ASCII base are kept upper-cased.
pub fn fold(input: &str) -> String {
    collapse_whitespace(input)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The key under which a name is indexed for prefix search: folded, and without the
/// characters the store uses as separators.
pub fn search_key(input: &str) -> String {
    fold(input)
        .chars()
        .filter(|c| *c != '#' && !c.is_control())
        .collect()
}

/// Upper-case code without any white space ("dts ttd 90a01" → "DTSTTD90A01").
pub fn compact_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A number with its noun agreeing: "1 servizio trasferito", "2 servizi trasferiti",
/// "nessun servizio invariato".
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        0 => format!("nessun {one}"),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A wait as a person reads it: "45 secondi", "1 minuto", "3 ore e 5 minuti".
pub fn wait_in_words(seconds: i64) -> String {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if seconds < 60 {
        return plural(seconds.max(1), "secondo", "secondi");
    }
    let minutes = (seconds + 59) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => plural(m, "minuto", "minuti"),
        (h, 0) => plural(h, "ora", "ore"),
        (h, m) => format!(
            "{} e {}",
            plural(h, "ora", "ore"),
            plural(m, "minuto", "minuti")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("  Nicolò   d'Àlessandro "), "NICOLO D'ALESSANDRO");
        assert_eq!(search_key("Caffè #1"), "CAFFE 1");
        assert_eq!(compact_code(" dts ttd\t90a01 "), "DTSTTD90A01");
    }

    #[test]
    fn waits_read_as_words() {
        assert_eq!(wait_in_words(1), "1 secondo");
        assert_eq!(wait_in_words(45), "45 secondi");
        assert_eq!(wait_in_words(60), "1 minuto");
        assert_eq!(wait_in_words(61), "2 minuti");
        assert_eq!(wait_in_words(3600), "1 ora");
        assert_eq!(wait_in_words(3 * 3600 + 300), "3 ore e 5 minuti");
        assert_eq!(wait_in_words(3600 + 60), "1 ora e 1 minuto");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(
            count(0, "servizio invariato", "servizi invariati"),
            "nessun servizio invariato"
        );
        assert_eq!(
            count(1, "servizio trasferito", "servizi trasferiti"),
            "1 servizio trasferito"
        );
        assert_eq!(
            count(3, "servizio trasferito", "servizi trasferiti"),
            "3 servizi trasferiti"
        );
    }
}
