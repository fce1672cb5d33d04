//! The transfer rules from the environment, read once at start (Lambda and local alike).

use titolare_domain::steps::{ContractCondition, Rules};

/// `SAME_FISCAL_IDENTITY_ONLY` (true/false), `POST_CHANGE_LOCK_DAYS` (0: off),
/// `NUMBER_CHANGE_HOLD_HOURS` (24; 0: the number on file only), `REMINDER_HOURS` ("48,24";
/// empty: no reminders), `RETENTION_DAYS` (90), `CONTRACT_CONDITIONS` (JSON list of `{id, version, title, url,
/// required}`), `CHANGE_OF_NAME_URL`, `SUPPORT_URL`; unset means the default.
pub fn rules_from_env() -> Result<Rules, String> {
    rules_from(|name| std::env::var(name).ok())
}

pub fn rules_from(var: impl Fn(&str) -> Option<String>) -> Result<Rules, String> {
    let mut rules = Rules::default();
    let days = |name: &str| -> Result<Option<i64>, String> {
        var(name)
            .map(|v| {
                v.trim()
                    .parse::<u16>()
                    .map(i64::from)
                    .map_err(|_| format!("{name}: a number of days"))
            })
            .transpose()
    };
    if let Some(flag) = var("SAME_FISCAL_IDENTITY_ONLY") {
        rules.same_fiscal_identity_only = match flag.trim() {
            "true" | "1" => true,
            "false" | "0" | "" => false,
            _ => return Err("SAME_FISCAL_IDENTITY_ONLY: true or false".into()),
        };
    }
    if let Some(d) = days("POST_CHANGE_LOCK_DAYS")? {
        rules.post_change_lock = (d > 0).then(|| jiff::SignedDuration::from_hours(24 * d));
    }
    if let Some(hours) = var("NUMBER_CHANGE_HOLD_HOURS") {
        let hours = hours.trim().parse::<u8>().map_err(
            |_| "NUMBER_CHANGE_HOLD_HOURS: a number of hours (0 forbids another number)",
        )?;
        rules.number_change_hold =
            (hours > 0).then(|| jiff::SignedDuration::from_hours(i64::from(hours)));
    }
    if let Some(hours) = var("REMINDER_HOURS") {
        rules.reminders = hours
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                h.parse::<u16>()
                    .ok()
                    .filter(|h| (1..=120).contains(h))
                    .map(|h| jiff::SignedDuration::from_hours(i64::from(h)))
                    .ok_or("REMINDER_HOURS: hours before the deadline, 1 to 120, comma-separated")
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(d) = days("RETENTION_DAYS")? {
        rules.retention = jiff::SignedDuration::from_hours(24 * d);
    }
    if let Some(json) = var("CONTRACT_CONDITIONS").filter(|j| !j.trim().is_empty()) {
        rules.conditions = serde_json::from_str::<Vec<ContractCondition>>(&json)
            .map_err(|e| format!("CONTRACT_CONDITIONS: {e}"))?;
    }
    if let Some(url) = var("CHANGE_OF_NAME_URL") {
        rules.change_of_name_url = url;
    }
    if let Some(url) = var("SUPPORT_URL") {
        rules.support_url = url;
    }
    Ok(rules)
}

/// What a deployment must name itself: the rules from the environment, refusing to start
/// without the provider's own contract conditions and pages (the defaults are examples,
/// and a new holder would otherwise accept placeholder conditions).
pub fn deployed_rules_from_env() -> Result<Rules, String> {
    deployed_rules_from(|name| std::env::var(name).ok())
}

pub fn deployed_rules_from(var: impl Fn(&str) -> Option<String>) -> Result<Rules, String> {
    for name in ["CONTRACT_CONDITIONS", "CHANGE_OF_NAME_URL", "SUPPORT_URL"] {
        if var(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(format!("{name} is not set: a deployment names its own"));
        }
    }
    let rules = rules_from(&var)?;
    let https = |url: &str| url.starts_with("https://") && !url.contains(char::is_whitespace);
    if !rules.conditions.iter().any(|c| c.required) {
        return Err("CONTRACT_CONDITIONS: at least one required condition".into());
    }
    if let Some(c) = rules.conditions.iter().find(|c| !https(&c.url)) {
        return Err(format!(
            "CONTRACT_CONDITIONS: condition {} needs an https url",
            c.id
        ));
    }
    for (name, url) in [
        ("CHANGE_OF_NAME_URL", &rules.change_of_name_url),
        ("SUPPORT_URL", &rules.support_url),
    ] {
        if !https(url) {
            return Err(format!("{name}: an https url"));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_must_name_its_conditions_and_pages() {
        let full = |name: &str| {
            match name {
            "CONTRACT_CONDITIONS" => Some(
                r#"[{"id":"cg","version":"3","title":"Condizioni","url":"https://pec.example.com/cg","required":true}]"#.into(),
            ),
            "CHANGE_OF_NAME_URL" => Some("https://pec.example.com/ragione-sociale".into()),
            "SUPPORT_URL" => Some("https://pec.example.com/assistenza".into()),
            _ => None,
        }
        };
        assert!(deployed_rules_from(full).is_ok());
        for missing in ["CONTRACT_CONDITIONS", "CHANGE_OF_NAME_URL", "SUPPORT_URL"] {
            let without = |name: &str| (name != missing).then(|| full(name)).flatten();
            let err = deployed_rules_from(without).unwrap_err();
            assert!(err.starts_with(missing), "{err}");
        }
        let optional_only = |name: &str| {
            match name {
            "CONTRACT_CONDITIONS" => Some(
                r#"[{"id":"p","version":"1","title":"Privacy","url":"https://x.it/p","required":false}]"#.into(),
            ),
            other => full(other),
        }
        };
        assert!(deployed_rules_from(optional_only).is_err());
        let plain_http = |name: &str| match name {
            "SUPPORT_URL" => Some("http://x.it".into()),
            other => full(other),
        };
        assert!(deployed_rules_from(plain_http).is_err());
    }

    #[test]
    fn policies_are_off_by_default_and_read_when_set() {
        let rules = rules_from(|_| None).unwrap();
        assert!(!rules.same_fiscal_identity_only);
        assert_eq!(rules.post_change_lock, None);
        assert_eq!(
            rules.number_change_hold,
            Some(jiff::SignedDuration::from_hours(24))
        );
        let fixed = rules_from(|name| (name == "NUMBER_CHANGE_HOLD_HOURS").then(|| "0".into()));
        assert_eq!(fixed.unwrap().number_change_hold, None, "0 forbids");
        let bad = rules_from(|name| (name == "NUMBER_CHANGE_HOLD_HOURS").then(|| "-1".into()));
        assert!(bad.is_err());
        let set = rules_from(|name| match name {
            "SAME_FISCAL_IDENTITY_ONLY" => Some("true".into()),
            "POST_CHANGE_LOCK_DAYS" => Some("60".into()),
            "CONTRACT_CONDITIONS" => Some(
                r#"[{"id":"cg","version":"3","title":"Condizioni","url":"https://x.it","required":true}]"#.into(),
            ),
            _ => None,
        })
        .unwrap();
        assert!(set.same_fiscal_identity_only);
        assert_eq!(
            set.post_change_lock,
            Some(jiff::SignedDuration::from_hours(60 * 24))
        );
        assert_eq!(set.conditions[0].version, "3");
        assert!(rules_from(|n| (n == "POST_CHANGE_LOCK_DAYS").then(|| "x".into())).is_err());
    }

    #[test]
    fn reminders_are_hours_before_the_deadline() {
        let hours = |v: &str| rules_from(|n| (n == "REMINDER_HOURS").then(|| v.into()));
        let h = jiff::SignedDuration::from_hours;
        assert_eq!(rules_from(|_| None).unwrap().reminders, [h(48), h(24)]);
        assert_eq!(hours(" 72, 6 ").unwrap().reminders, [h(72), h(6)]);
        assert!(hours("").unwrap().reminders.is_empty(), "none");
        assert!(hours("0").is_err());
        assert!(hours("48;24").is_err());
    }
}
