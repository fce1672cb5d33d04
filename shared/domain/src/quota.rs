//! Limits on sends across transfers, over sliding windows the store keeps with conditional
//! writes. SMS, against SMS pumping: a loop of draft → send → cancel gets a fresh
//! per-request budget each time, so sends are also counted per destination number and per
//! account. Emails that carry an account's words or go where it says (invitations, codes),
//! per account, so the provider's name cannot be rented out (docs/security.md).

use crate::ids::AccountId;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// At most `max` sends within any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub per: SignedDuration,
}

/// What a count is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QuotaKey {
    /// SMS to one E.164 number, whatever request or account sends them.
    SmsTo(String),
    /// SMS sent for the transfers of one account (to any party).
    SmsFor(AccountId),
    /// Invitations and code emails sent for the transfers of one account.
    EmailFor(AccountId),
}

impl QuotaKey {
    pub fn scope(&self) -> QuotaScope {
        match self {
            Self::SmsTo(_) => QuotaScope::Destination,
            Self::SmsFor(_) => QuotaScope::Account,
            Self::EmailFor(_) => QuotaScope::AccountEmail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaScope {
    Destination,
    Account,
    AccountEmail,
}

/// The sends within the current window, oldest first (never more than the limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendLog {
    pub sent_at: Vec<Timestamp>,
}

/// A send refused by a limit; the next one is allowed after `retry_after_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Limite di invii raggiunto: riprova tra {}.", crate::text::wait_in_words(*retry_after_seconds))]
pub struct OverLimit {
    pub scope: QuotaScope,
    pub retry_after_seconds: i64,
}

impl SendLog {
    /// The log with one more send at `now`, or why not: `limit.max` sends already fall
    /// within the `limit.per` before `now`.
    pub fn admit(
        &self,
        now: Timestamp,
        limit: Limit,
        scope: QuotaScope,
    ) -> Result<SendLog, OverLimit> {
        let window_start = now - limit.per;
        let mut recent: Vec<Timestamp> = self
            .sent_at
            .iter()
            .copied()
            .filter(|t| *t > window_start && *t <= now)
            .collect();
        if recent.len() >= limit.max as usize {
            let frees_at = recent[recent.len() - limit.max as usize] + limit.per;
            return Err(OverLimit {
                scope,
                retry_after_seconds: (frees_at.as_second() - now.as_second()).max(1),
            });
        }
        recent.push(now);
        Ok(SendLog { sent_at: recent })
    }

    /// The log with `count` more sends at `now`, all or none.
    pub fn admit_many(
        &self,
        now: Timestamp,
        count: usize,
        limit: Limit,
        scope: QuotaScope,
    ) -> Result<SendLog, OverLimit> {
        (0..count).try_fold(self.clone(), |log, _| log.admit(now, limit, scope))
    }

    /// When the log no longer matters (its store TTL).
    pub fn forgotten_at(&self, limit: Limit) -> Option<Timestamp> {
        self.sent_at.last().map(|t| *t + limit.per)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_795_420_800;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(T0 + s).unwrap()
    }

    const TEN_AN_HOUR: Limit = Limit {
        max: 10,
        per: SignedDuration::from_hours(1),
    };

    #[test]
    fn the_eleventh_send_within_an_hour_waits_for_the_first_to_age_out() {
        let mut log = SendLog::default();
        for n in 0..10 {
            log = log
                .admit(at(n * 60), TEN_AN_HOUR, QuotaScope::Destination)
                .unwrap();
        }
        let refused = log
            .admit(at(600), TEN_AN_HOUR, QuotaScope::Destination)
            .unwrap_err();
        assert_eq!(refused.retry_after_seconds, 3600 - 600);
        assert!(
            log.admit(at(3599), TEN_AN_HOUR, QuotaScope::Destination)
                .is_err()
        );
        let later = log
            .admit(at(3600), TEN_AN_HOUR, QuotaScope::Destination)
            .unwrap();
        assert_eq!(later.sent_at.len(), 10, "the first send aged out");
    }

    #[test]
    fn a_batch_is_admitted_whole_or_not_at_all() {
        let log = SendLog::default()
            .admit_many(at(0), 8, TEN_AN_HOUR, QuotaScope::AccountEmail)
            .unwrap();
        assert_eq!(log.sent_at.len(), 8);
        let refused = log
            .admit_many(at(60), 3, TEN_AN_HOUR, QuotaScope::AccountEmail)
            .unwrap_err();
        assert_eq!(refused.scope, QuotaScope::AccountEmail);
        assert_eq!(refused.retry_after_seconds, 3600 - 60);
        assert_eq!(
            log.admit_many(at(60), 2, TEN_AN_HOUR, QuotaScope::AccountEmail)
                .unwrap()
                .sent_at
                .len(),
            10
        );
    }

    proptest! {
        // Up to 80 attempts a case, each a few comparisons: 1,000 cases.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Over any sequence of attempts, no window of an hour ever holds more than the
        /// limit, and a refusal's wait is exactly what lets the next send through.
        #[test]
        fn no_window_ever_holds_more_than_the_limit(gaps in proptest::collection::vec(0i64..900, 1..80)) {
            let mut log = SendLog::default();
            let mut admitted = Vec::new();
            let mut now = 0;
            for gap in gaps {
                now += gap;
                match log.admit(at(now), TEN_AN_HOUR, QuotaScope::Account) {
                    Ok(next) => { log = next; admitted.push(now); }
                    Err(e) => {
                        let wait = e.retry_after_seconds;
                        prop_assert!(wait >= 1);
                        prop_assert!(log.admit(at(now + wait), TEN_AN_HOUR, QuotaScope::Account).is_ok());
                        prop_assert!(wait == 1 || log.admit(at(now + wait - 1), TEN_AN_HOUR, QuotaScope::Account).is_err());
                    }
                }
                prop_assert!(log.sent_at.len() <= 10);
            }
            for (i, start) in admitted.iter().enumerate() {
                let within = admitted[i..].iter().filter(|t| **t < start + 3600).count();
                prop_assert!(within <= 10, "{} sends within an hour from {}", within, start);
            }
        }
    }
}
