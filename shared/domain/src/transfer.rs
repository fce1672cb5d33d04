//! Change-of-holder requests, as far as codes and links need them: who the parties are,
//! where their codes go, and whether the request still accepts steps.

use crate::holder::Lingua;
use crate::records::AccountId;
use crate::secret::SecretKey;
use crate::values::{EmailAddress, MobileNumber};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::otp::Party;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransferId(String);

impl TransferId {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let id = input.trim();
        if id.is_empty()
            || id.len() > 20
            || !id.bytes().all(|b| b.is_ascii_digit())
            || id.starts_with('0')
        {
            return Err("identificativo richiesta non valido");
        }
        Ok(Self(id.to_owned()))
    }

    pub fn from_number(n: u64) -> Self {
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TransferId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<TransferId> for String {
    fn from(value: TransferId) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Draft,
    Open,
    Completed,
    Rejected,
    Cancelled,
    Expired,
}

impl TransferStatus {
    pub fn is_ended(self) -> bool {
        !matches!(self, Self::Draft | Self::Open)
    }
}

/// Where a party's codes and messages go by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub mobile: MobileNumber,
    pub email: EmailAddress,
    pub lingua: Lingua,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub account: AccountId,
    pub status: TransferStatus,
    pub created_at: Timestamp,
    /// A step at or after this second is refused (24 h for a draft, 5 days once open).
    pub deadline: Timestamp,
    pub initiator: Contact,
    pub current_holder: Contact,
    pub new_holder: Contact,
}

/// Why a request takes no more steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Closed {
    #[error("la richiesta è scaduta: la pratica è stata annullata")]
    DeadlinePassed,
    #[error("la richiesta è già conclusa ({0:?})")]
    Ended(TransferStatus),
}

impl Transfer {
    /// Whether a step may be taken at `now`: not after an ending, not at or past the deadline.
    pub fn accepts_steps(&self, now: Timestamp) -> Result<(), Closed> {
        if self.status == TransferStatus::Expired
            || (!self.status.is_ended() && now >= self.deadline)
        {
            return Err(Closed::DeadlinePassed);
        }
        if self.status.is_ended() {
            return Err(Closed::Ended(self.status));
        }
        Ok(())
    }

    pub fn contact(&self, party: Party) -> &Contact {
        match party {
            Party::Initiator => &self.initiator,
            Party::CurrentHolder => &self.current_holder,
            Party::NewHolder => &self.new_holder,
        }
    }
}

/// The token in a holder's "Gestisci richiesta" link: `<request id>.<role>.<128-bit tag>`,
/// URL-safe, derived from the secret key (never stored), bound to request and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub transfer: TransferId,
    pub party: Party,
}

const LINK: &str = "link";

impl LinkToken {
    pub fn issue(key: &SecretKey, transfer: &TransferId, party: Party) -> String {
        format!(
            "{}.{}.{}",
            transfer.as_str(),
            role_code(party),
            key.tag(LINK, &[transfer.as_str(), party.as_str()])
        )
    }

    /// The request and role a token names, if its tag is right. A malformed and a forged
    /// token are the same `None`.
    pub fn verify(key: &SecretKey, token: &str) -> Option<Self> {
        let mut parts = token.trim().split('.');
        let (id, role, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let transfer = TransferId::parse(id).ok()?;
        let party = match role {
            "ch" => Party::CurrentHolder,
            "nh" => Party::NewHolder,
            _ => return None,
        };
        key.verify_tag(LINK, &[transfer.as_str(), party.as_str()], tag)
            .then_some(Self { transfer, party })
    }
}

fn role_code(party: Party) -> &'static str {
    match party {
        Party::CurrentHolder => "ch",
        Party::NewHolder => "nh",
        Party::Initiator => "in",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_bound_and_unforgeable() {
        let key = SecretKey::from_bytes(&[9; 32]).unwrap();
        let id = TransferId::from_number(42);
        let token = LinkToken::issue(&key, &id, Party::NewHolder);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "URL-safe"
        );
        assert_eq!(
            LinkToken::verify(&key, &token),
            Some(LinkToken {
                transfer: id.clone(),
                party: Party::NewHolder
            })
        );
        let swapped = token.replace(".nh.", ".ch.");
        assert_eq!(LinkToken::verify(&key, &swapped), None, "bound to the role");
        let other = token.replacen("42.", "43.", 1);
        assert_eq!(
            LinkToken::verify(&key, &other),
            None,
            "bound to the request"
        );
        assert_eq!(
            LinkToken::verify(&SecretKey::from_bytes(&[1; 32]).unwrap(), &token),
            None
        );
        for junk in ["", "a.b", "42.nh", "42.in.x", "42.nh.x.y"] {
            assert_eq!(LinkToken::verify(&key, junk), None);
        }
    }
}

/// The link that lets a mailbox's new holder set its password: `<mailbox, base64url>.
/// <issued at, epoch seconds>.<128-bit tag>`. Derived from the secret key, valid 24 hours;
/// single use is the store's part (the grant item it deletes on use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordResetToken {
    pub mailbox: crate::values::EmailAddress,
    pub issued_at: Timestamp,
    /// Names the grant item in the store: the tag, never the whole token.
    pub grant_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResetTokenError {
    #[error("link non valido")]
    Invalid,
    #[error("il link è scaduto: ne è stato inviato uno valido 24 ore")]
    Expired,
}

const RESET: &str = "password-reset";

impl PasswordResetToken {
    pub const VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

    pub fn issue(
        key: &SecretKey,
        mailbox: &crate::values::EmailAddress,
        issued_at: Timestamp,
    ) -> String {
        use base64::Engine;
        let seconds = issued_at.as_second().to_string();
        let tag = key.tag(RESET, &[mailbox.as_str(), &seconds]);
        format!(
            "{}.{seconds}.{tag}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mailbox.as_str())
        )
    }

    /// What a token grants, if its tag is right and it is less than 24 hours old at `now`.
    pub fn verify(key: &SecretKey, token: &str, now: Timestamp) -> Result<Self, ResetTokenError> {
        use base64::Engine;
        let mut parts = token.trim().split('.');
        let (mailbox, seconds, tag) = match (parts.next(), parts.next(), parts.next(), parts.next())
        {
            (Some(m), Some(s), Some(t), None) => (m, s, t),
            _ => return Err(ResetTokenError::Invalid),
        };
        let mailbox = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(mailbox)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|m| crate::values::EmailAddress::parse(&m).ok())
            .ok_or(ResetTokenError::Invalid)?;
        let issued_at = seconds
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(ResetTokenError::Invalid)?;
        if !key.verify_tag(RESET, &[mailbox.as_str(), seconds], tag) {
            return Err(ResetTokenError::Invalid);
        }
        if now >= issued_at + Self::VALIDITY {
            return Err(ResetTokenError::Expired);
        }
        Ok(Self {
            mailbox,
            issued_at,
            grant_id: tag.to_owned(),
        })
    }
}

#[cfg(test)]
mod reset_tests {
    use super::*;

    #[test]
    fn reset_tokens_last_24_hours_and_cannot_be_forged() {
        let key = SecretKey::from_bytes(&[6; 32]).unwrap();
        let mailbox = crate::values::EmailAddress::parse("teste1234@pec.it").unwrap();
        let issued: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        let token = PasswordResetToken::issue(&key, &mailbox, issued);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "URL-safe"
        );
        let grant = PasswordResetToken::verify(
            &key,
            &token,
            issued + jiff::SignedDuration::from_secs(86_399),
        )
        .unwrap();
        assert_eq!(grant.mailbox, mailbox);
        assert_eq!(
            PasswordResetToken::verify(
                &key,
                &token,
                issued + jiff::SignedDuration::from_secs(86_400)
            ),
            Err(ResetTokenError::Expired)
        );
        let later = token.replace(
            &issued.as_second().to_string(),
            &(issued.as_second() + 3600).to_string(),
        );
        assert_eq!(
            PasswordResetToken::verify(&key, &later, issued),
            Err(ResetTokenError::Invalid),
            "the time is signed"
        );
        assert_eq!(
            PasswordResetToken::verify(&SecretKey::from_bytes(&[7; 32]).unwrap(), &token, issued),
            Err(ResetTokenError::Invalid)
        );
        assert_eq!(
            PasswordResetToken::verify(&key, "x.y.z", issued),
            Err(ResetTokenError::Invalid)
        );
    }
}
