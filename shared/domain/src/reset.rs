//! A new password-reset link for a moved mailbox, when the first lapsed or went missing:
//! limited like code sends (so many links, one a minute), and each new link voids the
//! previous one (the mailbox keeps the issue time of the only link that works). Every link
//! goes to the email the new holder verified in the transfer that moved the mailbox, never
//! to an address anyone can edit later (docs/security.md).

use crate::otp::CodePolicy;
use crate::otp::{Channel, Party};
use crate::outbox::{DeliveryStatus, Message, OutboxMessage, Recipient};
use crate::records::{AccountId, Mailbox, ResetRecipient};
use crate::transfer::TransferId;
use jiff::Timestamp;

/// Why a new password is refused. The page shows [`PasswordError::RULES`] before anyone types,
/// and the API answers the same words: one place for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("La password deve avere da 8 a 128 caratteri.")]
    Length,
    #[error("La password deve contenere almeno una lettera minuscola, una maiuscola e una cifra.")]
    Variety,
    #[error("La password non deve contenere il nome della casella.")]
    MailboxName,
}

impl PasswordError {
    /// The rule as a list item, in the order the checks run.
    pub const RULES: [&str; 3] = [
        "da 8 a 128 caratteri;",
        "almeno una lettera minuscola, una maiuscola e una cifra;",
        "non deve contenere il nome della casella.",
    ];
}

/// A PEC password: 8 to 128 characters with upper- and lower-case letters and a digit, and
/// not the mailbox's own name (its part before `@`, from 4 letters on).
pub fn check_password(password: &str, mailbox: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        return Err(PasswordError::Length);
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if !(has(char::is_lowercase) && has(char::is_uppercase) && has(|c| c.is_ascii_digit())) {
        return Err(PasswordError::Variety);
    }
    let local = mailbox.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && password.to_lowercase().contains(&local) {
        return Err(PasswordError::MailboxName);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("La password di questa casella è già stata impostata: non serve un nuovo link.")]
    NotPending,
    #[error("Per questa casella non si può inviare un nuovo link: chiedi aiuto all'assistenza.")]
    NoVerifiedAddress,
    #[error(
        "Questo link riguarda un cambio di titolare precedente della casella: non vale più. Usa l'ultimo link che hai ricevuto via email."
    )]
    EarlierChange,
    #[error("Questo link è già stato usato: la password della casella è già stata impostata.")]
    Used,
    #[error(
        "Questo link è stato sostituito da uno più recente: usa l'ultimo che hai ricevuto via email."
    )]
    Replaced,
    #[error(
        "Per questa casella sono già stati inviati {0} link, il massimo: chiedi aiuto all'assistenza."
    )]
    TooMany(u32),
    #[error("Attendi {} prima di chiedere un nuovo link.", crate::text::wait_in_words(*.0))]
    TooSoon(i64),
}

/// The mailbox with a new link issued at `now`, or why not.
pub fn reissued(
    mailbox: &Mailbox,
    now: Timestamp,
    policy: &CodePolicy,
) -> Result<Mailbox, LinkError> {
    let (true, Some(issued_at)) = (
        mailbox.password_reset_required,
        mailbox.password_reset_issued_at,
    ) else {
        return Err(LinkError::NotPending);
    };
    let sent = mailbox.password_reset_links.max(1);
    if sent >= policy.max_sends {
        return Err(LinkError::TooMany(sent));
    }
    let ready_at = issued_at + policy.resend_after;
    if now < ready_at {
        return Err(LinkError::TooSoon(
            (ready_at.as_second() - now.as_second()).max(1),
        ));
    }
    Ok(Mailbox {
        password_reset_issued_at: Some(crate::steps::reset_issued_at(now)),
        password_reset_links: sent + 1,
        ..mailbox.clone()
    })
}

/// The email that carries a new link of `mailbox` (as [`reissued`] left it), kept with the
/// request that moved it until `expires_at`.
pub struct LinkEmail<'a> {
    pub account: &'a AccountId,
    pub mailbox: &'a Mailbox,
    pub expires_at: Timestamp,
}

impl LinkEmail<'_> {
    /// The verified address the link goes to, or why there is none: a mailbox moved before
    /// the service kept it, or never moved.
    fn recipient(&self) -> Result<(&TransferId, &ResetRecipient), LinkError> {
        match (&self.mailbox.moved_by, &self.mailbox.password_reset_to) {
            (Some(transfer), Some(to)) => Ok((transfer, to)),
            _ => Err(LinkError::NoVerifiedAddress),
        }
    }

    pub fn message(&self, now: Timestamp) -> Result<OutboxMessage, LinkError> {
        let (transfer, to) = self.recipient()?;
        let mailbox = self.mailbox;
        Ok(OutboxMessage {
            // Opaque: ids go into log lines, where a mailbox address must not.
            id: format!(
                "{}-password-reset-{}-{}",
                transfer.as_str(),
                opaque(mailbox.address.as_str()),
                mailbox.password_reset_links
            ),
            transfer: transfer.clone(),
            account: self.account.clone(),
            channel: Channel::Email,
            to: Some(to.email.as_str().to_owned()),
            lingua: to.lingua,
            recipient: Some(Recipient {
                party: Party::NewHolder,
                name: None,
            }),
            message: Message::PasswordReset {
                account: self.account.clone(),
                mailboxes: vec![mailbox.address.as_str().to_owned()],
                issued_at: mailbox.password_reset_issued_at.unwrap_or(now),
                reissued: true,
            },
            status: DeliveryStatus::Pending,
            claimed_until: None,
            created_at: now,
            attempts: 0,
            provider_id: None,
            report: None,
            error: None,
            expires_at: self.expires_at,
        })
    }
}

/// 16 hex digits of the SHA-256 of `text`: unique enough among one transfer's mailboxes.
fn opaque(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_need_length_and_variety() {
        use super::{PasswordError as P, check_password};
        assert_eq!(check_password("Corto1", "x@pec.it"), Err(P::Length));
        assert_eq!(
            check_password("tuttominuscolo1", "x@pec.it"),
            Err(P::Variety)
        );
        assert_eq!(
            check_password("Teste1234-nuova", "teste1234@pec.it"),
            Err(P::MailboxName)
        );
        assert_eq!(
            check_password("Nuova-Password-7", "teste1234@pec.it"),
            Ok(())
        );
    }

    use super::*;

    fn pending(issued: i64, links: u32) -> Mailbox {
        let mut m: Mailbox = serde_json::from_value(serde_json::json!({
            "address": "a@pec.it", "holder_id": "19", "status": "Attivo", "kind": "Standard",
            "inbox_gb": 1, "inbox_extra_gb": 0, "archive_gb": null, "end_of_service": "2027-01-01",
            "requested_on": "2026-01-01", "certified_on": null, "cancelled_on": null,
            "renewal": "Manuale", "duration": "1 Anno", "cliente_finale": false,
            "password_reset_required": true, "access_history": [], "rules": [],
        }))
        .unwrap();
        m.password_reset_issued_at = Some(Timestamp::from_second(issued).unwrap());
        m.password_reset_links = links;
        m
    }

    #[test]
    fn a_new_link_waits_a_minute_and_stops_at_the_limit() {
        let policy = CodePolicy::default();
        let at = |s: i64| Timestamp::from_second(1_000_000 + s).unwrap();
        let m = pending(1_000_000, 1);
        assert_eq!(reissued(&m, at(59), &policy), Err(LinkError::TooSoon(1)));
        let next = reissued(&m, at(60), &policy).unwrap();
        assert_eq!(
            (next.password_reset_links, next.password_reset_issued_at),
            (2, Some(at(60)))
        );
        assert_eq!(
            reissued(&pending(1_000_000, 5), at(3600), &policy),
            Err(LinkError::TooMany(5))
        );
        let mut done = pending(1_000_000, 1);
        done.password_reset_required = false;
        assert_eq!(
            reissued(&done, at(3600), &policy),
            Err(LinkError::NotPending)
        );
    }

    #[test]
    fn a_new_link_goes_to_the_verified_address_under_an_opaque_id() {
        let account = AccountId::parse("demo").unwrap();
        let mut mailbox = pending(1_000_000, 2);
        let email = |m: &Mailbox| {
            LinkEmail {
                account: &account,
                mailbox: m,
                expires_at: Timestamp::from_second(2_000_000).unwrap(),
            }
            .message(Timestamp::from_second(1_000_060).unwrap())
        };
        assert_eq!(email(&mailbox), Err(LinkError::NoVerifiedAddress));
        mailbox.moved_by = Some(TransferId::parse("30").unwrap());
        mailbox.password_reset_to = Some(ResetRecipient {
            email: crate::values::EmailAddress::parse("verificata@example.it").unwrap(),
            lingua: crate::holder::Lingua::En,
        });
        let message = email(&mailbox).unwrap();
        assert_eq!(message.to.as_deref(), Some("verificata@example.it"));
        assert_eq!(message.lingua, crate::holder::Lingua::En);
        assert!(message.id.starts_with("30-password-reset-") && message.id.ends_with("-2"));
        assert!(
            !message.id.contains('@') && !message.id.contains("a@pec"),
            "{}",
            message.id
        );
        assert!(matches!(
            message.message,
            Message::PasswordReset { reissued: true, .. }
        ));
    }
}
