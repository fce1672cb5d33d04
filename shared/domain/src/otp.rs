//! One-time code challenges (OWASP ASVS 4.0.3 §2.7, NIST SP 800-63B §5.1.3): one per
//! request, party and channel; its state decides every send and every verification.

pub use crate::ids::{Channel, Party, TransferId};
use crate::secret::{CodeBinding, OneTimeCode, SecretKey};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The limits, from configuration; the defaults are the product's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePolicy {
    pub validity: SignedDuration,
    pub resend_after: SignedDuration,
    pub max_sends: u32,
    pub max_attempts: u32,
    /// International calling codes SMS may go to.
    pub sms_country_codes: Vec<u16>,
    /// SMS to one number, across transfers and accounts (against SMS pumping).
    pub sms_per_destination: crate::quota::Limit,
    /// SMS for the transfers of one account, to any party.
    pub sms_per_account: crate::quota::Limit,
    /// Invitations and code emails for the transfers of one account (docs/security.md).
    pub emails_per_account: crate::quota::Limit,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            validity: SignedDuration::from_mins(10),
            resend_after: SignedDuration::from_secs(60),
            max_sends: 5,
            max_attempts: 5,
            sms_country_codes: vec![39],
            sms_per_destination: crate::quota::Limit {
                max: 10,
                per: SignedDuration::from_hours(1),
            },
            sms_per_account: crate::quota::Limit {
                max: 50,
                per: SignedDuration::from_hours(24),
            },
            // Fifty transfers a day at about five emails each, twice over.
            emails_per_account: crate::quota::Limit {
                max: 500,
                per: SignedDuration::from_hours(24),
            },
        }
    }
}

/// Statuses in the style of Twilio Verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeStatus {
    Pending,
    Approved,
    Expired,
    MaxAttemptsReached,
    Canceled,
}

/// Where the message carrying the current code is: queued, taken by the provider ("inviato"),
/// reported delivered by it ("consegnato"), or lost ("non consegnato").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Queued,
    Sent,
    /// The provider reported it delivered (docs/rules.md, "Delivery").
    Delivered,
    /// "non consegnato": the next send may go at once.
    Failed,
}

impl Delivery {
    /// What a person reads beside a code that did not arrive, with the provider's reason
    /// when it gave one.
    pub fn notice(self, failure: Option<&crate::delivery::Failure>) -> Option<String> {
        (self == Self::Failed).then(|| match failure {
            Some(f) => format!("Non consegnato: {}. Chiedi un nuovo invio.", f.words()),
            None => "Non consegnato: chiedi un nuovo invio.".to_owned(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    pub transfer: TransferId,
    pub party: Party,
    pub channel: Channel,
    /// E.164 number or email address the current code went to.
    pub destination: String,
    /// Sends so far; also numbers the current code.
    pub sends: u32,
    pub last_sent_at: Timestamp,
    pub expires_at: Timestamp,
    /// Wrong tries against the current code.
    pub attempts: u32,
    pub status: ChallengeStatus,
    pub delivery: Delivery,
    /// Why the provider reported the current code's message lost, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<crate::delivery::Failure>,
    /// The generation of the party's link the sends since `generation_start` were made
    /// under: a corrected contact (a new link) gets a budget of sends of its own, so whoever
    /// held an old link cannot spend the corrected holder's (docs/security.md).
    #[serde(default)]
    pub generation: u32,
    /// `sends` when this generation began (`sends` itself never goes back: it numbers the
    /// code, and a code must never repeat).
    #[serde(default)]
    pub generation_start: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("Codice già verificato.")]
    AlreadyApproved,
    #[error(
        "Hai già ricevuto {0} codici per questa richiesta, il massimo: non se ne possono inviare altri. Usa l'ultimo ricevuto, se vale ancora; altrimenti contatta l'assistenza."
    )]
    TooManySends(u32),
    #[error("Attendi {} prima di chiedere un nuovo codice.", crate::text::wait_in_words(*.0))]
    TooSoon(i64),
    #[error("Nessun codice inviato: chiedine uno.")]
    NoCode,
    #[error("Codice scaduto: chiedine uno nuovo.")]
    Expired,
    #[error("Troppi tentativi errati: chiedi un nuovo codice.")]
    TooManyAttempts,
    #[error("{}", wrong_code_message(*.0))]
    Wrong(u32),
    #[error("Il codice deve avere 6 cifre.")]
    Format,
    #[error(
        "La verifica via {0} non è prevista per te: l'attuale titolare e il richiedente verificano solo il cellulare."
    )]
    Channel(&'static str),
    #[error(
        "Non si possono inviare SMS verso questo prefisso internazionale: usa un cellulare italiano."
    )]
    Country,
    #[error("{0}")]
    SmsLimit(crate::quota::OverLimit),
}

/// "Codice errato", and how many tries are left, in words that agree with the number.
fn wrong_code_message(left: u32) -> String {
    match left {
        0 => "Codice errato: nessun tentativo rimasto, chiedi un nuovo codice.".into(),
        1 => "Codice errato: resta 1 tentativo.".into(),
        n => format!("Codice errato: restano {n} tentativi."),
    }
}

impl Challenge {
    /// The challenge after a (re)send of a new code to `destination`, within the current
    /// link generation. A new destination or a new send voids the previous code, which is
    /// bound to both.
    pub fn send(
        current: Option<&Challenge>,
        transfer: &TransferId,
        party: Party,
        channel: Channel,
        destination: &str,
        now: Timestamp,
        policy: &CodePolicy,
    ) -> Result<Self, CodeError> {
        let generation = current.map_or(0, |c| c.generation);
        Self::send_under(
            current,
            generation,
            transfer,
            party,
            channel,
            destination,
            now,
            policy,
        )
    }

    /// [`Challenge::send`] under link `generation`: a newer one than the current challenge's
    /// starts a budget of its own (and need not wait for the old one's resend delay).
    #[allow(clippy::too_many_arguments)]
    pub fn send_under(
        current: Option<&Challenge>,
        generation: u32,
        transfer: &TransferId,
        party: Party,
        channel: Channel,
        destination: &str,
        now: Timestamp,
        policy: &CodePolicy,
    ) -> Result<Self, CodeError> {
        if !party.channels().contains(&channel) {
            return Err(CodeError::Channel(channel.as_str()));
        }
        let same_generation = current.is_some_and(|c| c.generation == generation);
        let generation_start = match current {
            Some(c) if same_generation => c.generation_start,
            Some(c) => c.sends,
            None => 0,
        };
        if let Some(c) = current {
            if c.status == ChallengeStatus::Approved {
                return Err(CodeError::AlreadyApproved);
            }
            if c.sends - generation_start >= policy.max_sends {
                return Err(CodeError::TooManySends(policy.max_sends));
            }
            let ready_at = c.last_sent_at + policy.resend_after;
            if same_generation && c.delivery != Delivery::Failed && now < ready_at {
                return Err(CodeError::TooSoon(
                    (ready_at.as_second() - now.as_second()).max(1),
                ));
            }
        }
        Ok(Self {
            transfer: transfer.clone(),
            party,
            channel,
            destination: destination.to_owned(),
            sends: current.map_or(0, |c| c.sends) + 1,
            last_sent_at: now,
            expires_at: now + policy.validity,
            attempts: 0,
            status: ChallengeStatus::Pending,
            delivery: Delivery::Queued,
            failure: None,
            generation,
            generation_start,
        })
    }

    /// Sends left to this generation's budget.
    pub fn sends_left(&self, policy: &CodePolicy) -> u32 {
        policy
            .max_sends
            .saturating_sub(self.sends - self.generation_start)
    }

    /// What the current code is bound to.
    pub fn binding(&self) -> CodeBinding<'_> {
        CodeBinding {
            transfer: self.transfer.as_str(),
            party: self.party.as_str(),
            channel: self.channel.as_str(),
            destination: &self.destination,
            send_no: self.sends,
        }
    }

    pub fn code(&self, key: &SecretKey) -> OneTimeCode {
        key.one_time_code(&self.binding())
    }

    /// Whether `typed` is the code this challenge already approved: an identical repeat of
    /// a success, answered as the first one was.
    pub fn approved_with(&self, typed: &str, key: &SecretKey) -> bool {
        self.status == ChallengeStatus::Approved
            && OneTimeCode::parse(typed).is_some_and(|t| t.matches(&self.code(key)))
    }

    /// Checks a typed code. Returns the challenge as it must be stored (a wrong try counts,
    /// an expiry is recorded) and whether it was approved; `None` when nothing changes.
    pub fn verify(
        &self,
        typed: &str,
        now: Timestamp,
        key: &SecretKey,
        policy: &CodePolicy,
    ) -> (Option<Self>, Result<(), CodeError>) {
        match self.status {
            ChallengeStatus::Approved => return (None, Err(CodeError::AlreadyApproved)),
            ChallengeStatus::MaxAttemptsReached => return (None, Err(CodeError::TooManyAttempts)),
            ChallengeStatus::Expired => return (None, Err(CodeError::Expired)),
            ChallengeStatus::Canceled => return (None, Err(CodeError::NoCode)),
            ChallengeStatus::Pending => {}
        }
        if now >= self.expires_at {
            return (
                Some(Self {
                    status: ChallengeStatus::Expired,
                    ..self.clone()
                }),
                Err(CodeError::Expired),
            );
        }
        let Some(typed) = OneTimeCode::parse(typed) else {
            return (None, Err(CodeError::Format));
        };
        if typed.matches(&self.code(key)) {
            return (
                Some(Self {
                    status: ChallengeStatus::Approved,
                    ..self.clone()
                }),
                Ok(()),
            );
        }
        let attempts = self.attempts + 1;
        let status = if attempts >= policy.max_attempts {
            ChallengeStatus::MaxAttemptsReached
        } else {
            ChallengeStatus::Pending
        };
        (
            Some(Self {
                attempts,
                status,
                ..self.clone()
            }),
            Err(CodeError::Wrong(policy.max_attempts - attempts)),
        )
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

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[3; 32]).unwrap()
    }

    fn first(policy: &CodePolicy) -> Challenge {
        Challenge::send(
            None,
            &TransferId::from_number(1),
            Party::Initiator,
            Channel::Sms,
            "+393331234567",
            at(0),
            policy,
        )
        .unwrap()
    }

    #[test]
    fn a_code_lives_ten_minutes_to_the_second() {
        let p = CodePolicy::default();
        let c = first(&p);
        let code = c.code(&key());
        assert!(c.verify(code.reveal(), at(599), &key(), &p).1.is_ok());
        let (stored, result) = c.verify(code.reveal(), at(600), &key(), &p);
        assert_eq!(result, Err(CodeError::Expired));
        assert_eq!(stored.unwrap().status, ChallengeStatus::Expired);
    }

    #[test]
    fn five_wrong_tries_kill_the_code() {
        let p = CodePolicy::default();
        let mut c = first(&p);
        let right = c.code(&key());
        let wrong = if right.reveal() == "000000" {
            "111111"
        } else {
            "000000"
        };
        for left in (0..5).rev() {
            let (stored, result) = c.verify(wrong, at(10), &key(), &p);
            assert_eq!(result, Err(CodeError::Wrong(left)));
            c = stored.unwrap();
        }
        assert_eq!(c.status, ChallengeStatus::MaxAttemptsReached);
        assert_eq!(
            c.verify(right.reveal(), at(11), &key(), &p),
            (None, Err(CodeError::TooManyAttempts))
        );
    }

    /// A new link generation gets the whole budget again, at once, and its codes never
    /// repeat an earlier generation's (the send number keeps counting).
    #[test]
    fn a_new_link_generation_has_its_own_budget() {
        let p = CodePolicy::default();
        let transfer = TransferId::from_number(1);
        let send = |c: Option<&Challenge>, generation, s| {
            Challenge::send_under(
                c,
                generation,
                &transfer,
                Party::CurrentHolder,
                Channel::Sms,
                "+393331234567",
                at(s),
                &p,
            )
        };
        let mut c = send(None, 0, 0).unwrap();
        for n in 1..p.max_sends {
            c = send(Some(&c), 0, 60 * i64::from(n)).unwrap();
        }
        assert_eq!(c.sends_left(&p), 0);
        let later = 60 * i64::from(p.max_sends);
        assert_eq!(
            send(Some(&c), 0, later),
            Err(CodeError::TooManySends(p.max_sends))
        );
        let old_code = c.code(&key());
        let fresh = send(Some(&c), 1, later - 59).expect("no wait for a new generation");
        assert_eq!(fresh.sends_left(&p), p.max_sends - 1);
        assert_eq!(fresh.sends, p.max_sends + 1);
        assert!(!fresh.code(&key()).matches(&old_code));
        let again = send(Some(&fresh), 1, later - 58);
        assert!(matches!(again, Err(CodeError::TooSoon(_))), "{again:?}");
    }

    #[test]
    fn sends_are_limited_and_spaced() {
        let p = CodePolicy::default();
        let mut c = first(&p);
        let transfer = TransferId::from_number(1);
        let resend = |c: &Challenge, s| {
            Challenge::send(
                Some(c),
                &transfer,
                Party::Initiator,
                Channel::Sms,
                "+393331234567",
                at(s),
                &p,
            )
        };
        assert_eq!(resend(&c, 59), Err(CodeError::TooSoon(1)));
        for n in 2..=5 {
            c = resend(&c, 60 * i64::from(n)).unwrap();
            assert_eq!(c.sends, n);
        }
        assert_eq!(resend(&c, 10_000), Err(CodeError::TooManySends(5)));
    }

    #[test]
    fn a_failed_delivery_lifts_the_wait_and_a_new_send_voids_the_old_code() {
        let p = CodePolicy::default();
        let mut c = first(&p);
        let old = c.code(&key());
        c.delivery = Delivery::Failed;
        let again = Challenge::send(
            Some(&c),
            &TransferId::from_number(1),
            Party::Initiator,
            Channel::Sms,
            "+393339999999",
            at(5),
            &p,
        )
        .unwrap();
        assert_ne!(again.code(&key()), old);
        assert_eq!(
            again.verify(old.reveal(), at(6), &key(), &p).1,
            Err(CodeError::Wrong(4))
        );
    }

    #[test]
    fn used_codes_and_wrong_channels_are_refused() {
        let p = CodePolicy::default();
        let c = first(&p);
        let code = c.code(&key());
        let (approved, ok) = c.verify(code.reveal(), at(1), &key(), &p);
        assert!(ok.is_ok());
        let approved = approved.unwrap();
        assert_eq!(
            approved.verify(code.reveal(), at(2), &key(), &p),
            (None, Err(CodeError::AlreadyApproved))
        );
        let email = Challenge::send(
            None,
            &TransferId::from_number(1),
            Party::Initiator,
            Channel::Email,
            "a@b.it",
            at(0),
            &p,
        );
        assert_eq!(email, Err(CodeError::Channel("email")));
        assert_eq!(
            c.verify("12a456", at(1), &key(), &p),
            (None, Err(CodeError::Format))
        );
    }

    proptest! {
        // Up to 40 steps a case, each an HMAC: 1,000 cases.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Whatever sequence of sends, right and wrong tries and clock jumps: a code is
        /// approved at most once, never after its expiry, never after five wrong tries.
        #[test]
        fn challenge_invariants(steps in proptest::collection::vec((0u8..3, 0i64..400), 1..40)) {
            let p = CodePolicy::default();
            let mut c = first(&p);
            let mut now = 0;
            let mut approvals = 0;
            for (action, jump) in steps {
                now += jump;
                match action {
                    0 => if let Ok(next) = Challenge::send(Some(&c), &TransferId::from_number(1), Party::Initiator, Channel::Sms, "+393331234567", at(now), &p) {
                        prop_assert!(c.status != ChallengeStatus::Approved);
                        c = next;
                    },
                    _ => {
                        let right = c.code(&key());
                        let typed = if action == 1 { right.reveal().to_owned() } else { format!("{:06}", (right.reveal().parse::<u32>().unwrap() + 1) % 1_000_000) };
                        let before = c.clone();
                        let (stored, result) = c.verify(&typed, at(now), &key(), &p);
                        if result.is_ok() {
                            approvals += 1;
                            prop_assert!(at(now) < before.expires_at);
                            prop_assert!(before.attempts < p.max_attempts);
                        }
                        if let Some(s) = stored { c = s; }
                    }
                }
                prop_assert!(c.attempts <= p.max_attempts);
                prop_assert!(c.sends <= p.max_sends);
            }
            prop_assert!(approvals <= 1);
        }
    }
}
