//! Change-of-holder transfers: what they hold (parties, items, progress, audit trail), whether
//! they still accept steps, and the tokens of the links emailed to people. The steps
//! themselves are in the `steps` module.

use crate::holder::{Holder, HolderId, Lingua, Tipo};
pub use crate::ids::TransferId;
use crate::ids::{AccountId, Party};
use crate::secret::SecretKey;
use crate::values::{EmailAddress, MobileNumber};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }
}

/// Where a party's codes and messages go by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub mobile: MobileNumber,
    pub email: EmailAddress,
    pub lingua: Lingua,
    /// The name messages give the person (the profile's display name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The generation of the holder's link: a correction of the contact issues a new one,
    /// and only the newest works.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub link: u32,
    /// Invitations sent to the holder, and when the last one was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub invitations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<Timestamp>,
    /// What the email provider reported of the last invitation (docs/rules.md, "Delivery");
    /// `None` while none came, and again once a new one is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_report: Option<crate::delivery::Report>,
}

impl Contact {
    /// A holder profile's mobile, email and language, and the name messages give them.
    pub fn of(h: &Holder) -> Self {
        Self::new(
            h.cellulare.clone(),
            h.email.clone(),
            h.lingua,
            Some(h.display_name()),
        )
    }

    /// A contact as a transfer starts with it: first link, nobody invited yet.
    pub fn new(
        mobile: MobileNumber,
        email: EmailAddress,
        lingua: Lingua,
        name: Option<String>,
    ) -> Self {
        Self {
            mobile,
            email,
            lingua,
            name,
            link: 0,
            invitations: 0,
            invited_at: None,
            invitation_report: None,
        }
    }

    /// Whether the provider said the last invitation can never reach this address: sending
    /// again is pointless until the contact is corrected.
    pub fn unreachable(&self) -> bool {
        self.invitation_report.as_ref().is_some_and(|r| {
            matches!(&r.outcome, crate::delivery::Outcome::Failed { failure } if failure.permanent())
        })
    }
}

pub use crate::ids::ItemKind;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemRef {
    pub kind: ItemKind,
    pub id: String,
}

impl ItemRef {
    /// A mailbox address or a domain name, normalised to lower case.
    pub fn parse(kind: ItemKind, id: &str) -> Result<Self, &'static str> {
        let id = match kind {
            ItemKind::Mailbox => EmailAddress::parse(id)
                .map_err(|_| "Indirizzo PEC non valido.")?
                .as_str()
                .to_lowercase(),
            ItemKind::Domain => {
                let name = id.trim().trim_end_matches('.').to_lowercase();
                let label_ok = |l: &str| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                };
                if name.len() > 253 || name.split('.').count() < 2 || !name.split('.').all(label_ok)
                {
                    return Err("Nome di dominio non valido.");
                }
                name
            }
        };
        Ok(Self { kind, id })
    }

    pub fn label(&self) -> String {
        match self.kind {
            ItemKind::Mailbox => format!("casella {}", self.id),
            ItemKind::Domain => format!("dominio {}", self.id),
        }
    }

    /// The item with its article, to start a sentence with ("La casella info@… ",
    /// "Il dominio …").
    pub fn title(&self) -> String {
        match self.kind {
            ItemKind::Mailbox => format!("La casella {}", self.id),
            ItemKind::Domain => format!("Il dominio {}", self.id),
        }
    }

    /// The form of a word that agrees with the item's noun: casella is feminine, dominio
    /// masculine ("attiva" / "attivo").
    pub fn agrees<'a>(&self, masculine: &'a str, feminine: &'a str) -> &'a str {
        match self.kind {
            ItemKind::Mailbox => feminine,
            ItemKind::Domain => masculine,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Changed holder.
    Moved,
    /// Stayed as it was.
    Kept,
    /// Left the transfer before it ended: the provider's inventory removed it, suspended it
    /// or gave it another holder (docs/rules.md, "The inventory").
    Withdrawn,
}

/// One item of a transfer with each holder's decision and, once ended, its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferItem {
    #[serde(flatten)]
    pub item: ItemRef,
    pub current_holder: Option<bool>,
    pub new_holder: Option<bool>,
    pub outcome: Option<ItemOutcome>,
}

/// Who manages the items after the change (docs/rules.md, the initiator's steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Management {
    /// The initiator's account keeps renewals, invoices and up/downgrades.
    Keep,
    /// Another account takes them; its user must log in as the new holder. The username is
    /// looked up only when the initiator verifies the draft (`None` until then), so a draft
    /// answers alike for a username that exists and one that does not (docs/security.md).
    HandOver {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<AccountId>,
    },
}

/// The holder data a party sees and, for a new holder that is not a privato, confirms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HolderCard {
    pub id: HolderId,
    pub tipo: Tipo,
    pub name: String,
    pub ragione_sociale: Option<String>,
    pub codice_fiscale: Option<String>,
    pub partita_iva: Option<String>,
}

impl HolderCard {
    pub fn of(holder: &Holder) -> Self {
        let codice_fiscale = match holder.tipo {
            Tipo::Azienda => holder
                .codice_fiscale_azienda
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            _ => holder
                .codice_fiscale
                .as_ref()
                .map(|c| c.as_str().to_owned()),
        };
        Self {
            id: holder.id.clone(),
            tipo: holder.tipo,
            name: holder.display_name(),
            ragione_sociale: holder
                .ragione_sociale
                .as_ref()
                .map(|r| r.as_str().to_owned()),
            codice_fiscale,
            partita_iva: holder.partita_iva.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// The steps of a transfer, in the order each party takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Decisions,
    /// With `hand_over`: the new holder logged in as the named account.
    Login,
    HolderData,
    Contract,
    Sms,
    Email,
}

/// A contract condition the new holder accepted, with the version it read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedCondition {
    pub id: String,
    pub version: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub initiator: Vec<Step>,
    pub current_holder: Vec<Step>,
    pub new_holder: Vec<Step>,
    #[serde(default)]
    pub accepted_conditions: Vec<AcceptedCondition>,
    #[serde(default)]
    pub login_account: Option<AccountId>,
}

/// One line of a transfer's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// `None` for the service itself (the expirer).
    pub party: Option<Party>,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: String,
    /// The provider's support did it, and why (docs/rules.md, "Support").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<Support>,
}

/// An operator of the provider's support acting on a request, with the reason they gave; on
/// every line of the trail the action writes, which the account sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    /// The operator's id, as the identity provider names them.
    pub operator: String,
    pub reason: String,
}

impl Support {
    /// Longest operator id and reason kept.
    pub const MAX_OPERATOR: usize = 128;
    pub const MAX_REASON: usize = 500;

    pub fn new(operator: &str, reason: &str) -> Self {
        Self {
            operator: clip(operator, Self::MAX_OPERATOR),
            reason: clip(reason.trim(), Self::MAX_REASON),
        }
    }
}

/// What a line of the trail records, named in snake case as it is stored and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Created,
    /// Code events: kept on the trail, but not steps of the transfer.
    CodeSent,
    CodeRefused,
    SmsVerified,
    EmailVerified,
    Decisions,
    Login,
    HolderDataConfirmed,
    ContractAccepted,
    InvitationSent,
    /// The automatic reminder before the deadline, to the holders who have not finished.
    ReminderSent,
    /// An operator of the provider's support read the request (docs/rules.md, "Support").
    SupportRead,
    /// An operator gave a holder whose code sends ran out a new budget, once per request.
    SupportUnblocked,
    /// The email provider said an invitation can never reach the holder's address.
    InvitationUndelivered,
    ContactCorrected,
    /// A holder verified a number other than the one on file (the transfer is held).
    NumberChanged,
    Stopped,
    HoldEnded,
    Cancelled,
    Expired,
    /// An item left the transfer: the provider's inventory changed it.
    ItemWithdrawn,
    EndedCompleted,
    EndedRejected,
    EndedCancelled,
    EndedExpired,
}

impl AuditAction {
    pub const ALL: [AuditAction; 25] = [
        Self::Created,
        Self::CodeSent,
        Self::CodeRefused,
        Self::SmsVerified,
        Self::EmailVerified,
        Self::Decisions,
        Self::Login,
        Self::HolderDataConfirmed,
        Self::ContractAccepted,
        Self::InvitationSent,
        Self::ReminderSent,
        Self::SupportRead,
        Self::SupportUnblocked,
        Self::InvitationUndelivered,
        Self::ContactCorrected,
        Self::NumberChanged,
        Self::Stopped,
        Self::HoldEnded,
        Self::Cancelled,
        Self::Expired,
        Self::ItemWithdrawn,
        Self::EndedCompleted,
        Self::EndedRejected,
        Self::EndedCancelled,
        Self::EndedExpired,
    ];

    /// The line that records a transfer's ending with `status` (`None`: not an ending).
    pub fn ended(status: TransferStatus) -> Option<Self> {
        match status {
            TransferStatus::Completed => Some(Self::EndedCompleted),
            TransferStatus::Rejected => Some(Self::EndedRejected),
            TransferStatus::Cancelled => Some(Self::EndedCancelled),
            TransferStatus::Expired => Some(Self::EndedExpired),
            TransferStatus::Draft | TransferStatus::Open => None,
        }
    }
}

impl AuditEntry {
    /// Whether the line is a party's step (not a code event, not the service's ending).
    pub fn is_step(&self) -> bool {
        self.party.is_some()
            && !matches!(
                self.action,
                AuditAction::CodeSent | AuditAction::CodeRefused | AuditAction::NumberChanged
            )
    }
}

/// Where a step came from, as API Gateway tells it, cut to a bounded length: every step
/// copies it into the transfer's audit trail, whose item must stay far below DynamoDB's
/// 400 KB whatever a caller sends (see [`MAX_AUDIT_ENTRIES`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    pub(crate) request_id: String,
    pub(crate) source_ip: String,
    pub(crate) user_agent: String,
    pub(crate) support: Option<Support>,
}

impl Actor {
    /// Longest request id kept (API Gateway's are 16–40 characters).
    pub const MAX_REQUEST_ID: usize = 64;
    /// Longest source address kept (an IPv6 address with zone is at most 45).
    pub const MAX_SOURCE_IP: usize = 64;
    /// Longest user agent kept; browsers send 100–250 characters.
    pub const MAX_USER_AGENT: usize = 256;

    pub fn new(request_id: &str, source_ip: &str, user_agent: &str) -> Self {
        Self {
            request_id: clip(request_id, Self::MAX_REQUEST_ID),
            source_ip: clip(source_ip, Self::MAX_SOURCE_IP),
            user_agent: clip(user_agent, Self::MAX_USER_AGENT),
            support: None,
        }
    }

    /// The same caller, acting as the provider's support: every line it writes says so.
    pub fn supporting(mut self, support: Support) -> Self {
        self.support = Some(support);
        self
    }

    /// The service itself (the expirer, the backstop).
    pub fn system(name: &str) -> Self {
        Self::new(name, "", "")
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }
}

/// At most `max` bytes of `text` without control characters, cut on a character boundary.
fn clip(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// The most audit lines a transfer can hold. Every line comes from a step or a code event,
/// each of which the rules bound (steps once per party, at most `max_sends` codes per
/// channel with `max_attempts` tries each), so a real request stays far below; the cap is
/// the guarantee that the transfer item can always be written, whatever the configuration.
pub const MAX_AUDIT_ENTRIES: usize = 400;

/// Lines kept free for steps and endings, which are always written: each party takes each
/// of its steps once, so they never need more.
pub const AUDIT_LINES_FOR_STEPS: usize = 32;

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
    pub current_holder_card: HolderCard,
    pub new_holder_card: HolderCard,
    pub management: Management,
    pub items: Vec<TransferItem>,
    #[serde(default)]
    pub progress: Progress,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// Set on an ending: when the transfer's personal data goes (its TTL from then on).
    #[serde(default)]
    pub retain_until: Option<Timestamp>,
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
    /// Code events not written because the trail was full (see [`MAX_AUDIT_ENTRIES`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub audit_omitted: u32,
    /// A holder verified a mobile number other than the one on file: the transfer completes
    /// no earlier than this, unless someone stops it first (docs/security.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_until: Option<Timestamp>,
    /// When the holders who have not finished are reminded (docs/rules.md, "Reminders"):
    /// set when the request opens, each moment dropped once it has passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<Timestamp>,
    /// What a completion asked of the mail platform, and where each command stands
    /// (docs/platform.md). Kept in the transfer's own item: a completion writes no more
    /// items for it, and an acknowledgement is one conditional write of the transfer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platform: Vec<crate::platform::CommandRecord>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Why a transfer takes no more steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Closed {
    #[error(
        "La richiesta è scaduta: non è stata completata entro 5 giorni e la pratica è stata annullata; nessun servizio ha cambiato titolare. Se il cambio serve ancora, chi gestisce i servizi può avviare una nuova richiesta."
    )]
    DeadlinePassed,
    /// The initiator never verified their mobile: the draft lapsed after 24 hours.
    #[error(
        "La richiesta non è mai partita: il richiedente non ha verificato il cellulare entro 24 ore e la bozza è scaduta; nessun servizio ha cambiato titolare. Se il cambio serve ancora, il richiedente può avviare una nuova richiesta."
    )]
    DraftLapsed,
    #[error("La richiesta è già conclusa: nessuna modifica è possibile.")]
    Ended(TransferStatus),
}

impl Transfer {
    /// Whether the transfer was ever opened (the initiator verified their mobile).
    pub fn was_opened(&self) -> bool {
        self.progress.initiator.contains(&Step::Sms)
    }

    /// Whether a step may be taken at `now`: not after an ending, not at or past the deadline.
    pub fn accepts_steps(&self, now: Timestamp) -> Result<(), Closed> {
        if self.status == TransferStatus::Expired
            || (!self.status.is_ended() && now >= self.deadline)
        {
            return Err(if self.was_opened() {
                Closed::DeadlinePassed
            } else {
                Closed::DraftLapsed
            });
        }
        if self.status.is_ended() {
            return Err(Closed::Ended(self.status));
        }
        Ok(())
    }

    /// The transfer as every read shows it at `now`: from the second of its deadline a
    /// running request is `expired`, whether or not the expirer has ended it yet.
    pub fn seen_at(&self, now: Timestamp) -> Transfer {
        let mut seen = self.clone();
        if !self.status.is_ended() && now >= self.deadline {
            seen.status = TransferStatus::Expired;
            seen.ended_at = Some(self.deadline);
        }
        seen
    }

    /// Whether an ended transfer's retention has passed: then it is gone for every reader,
    /// whether or not the store's TTL has deleted it yet.
    pub fn retention_passed(&self, now: Timestamp) -> bool {
        self.status.is_ended() && self.retain_until.is_some_and(|until| until <= now)
    }

    /// The store's TTL for the transfer and what belongs to it: the deadline while it runs,
    /// the end of retention once ended.
    pub fn ttl(&self) -> Timestamp {
        self.retain_until.unwrap_or(self.deadline)
    }

    pub fn contact_mut(&mut self, party: Party) -> &mut Contact {
        match party {
            Party::Initiator => &mut self.initiator,
            Party::CurrentHolder => &mut self.current_holder,
            Party::NewHolder => &mut self.new_holder,
        }
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
/// URL-safe, derived from the secret key (never stored), bound to request and role, and
/// from a contact's first correction on to its generation (`<role><n>`, e.g. `nh2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub transfer: TransferId,
    pub party: Party,
    pub generation: u32,
}

const LINK: &str = "link";

impl LinkToken {
    pub fn issue(key: &SecretKey, transfer: &TransferId, party: Party) -> String {
        Self::issue_generation(key, transfer, party, 0)
    }

    pub fn issue_generation(
        key: &SecretKey,
        transfer: &TransferId,
        party: Party,
        generation: u32,
    ) -> String {
        let tag = match generation {
            0 => key.tag(LINK, &[transfer.as_str(), party.as_str()]),
            n => key.tag(LINK, &[transfer.as_str(), party.as_str(), &n.to_string()]),
        };
        let role = match generation {
            0 => role_code(party).to_owned(),
            n => format!("{}{n}", role_code(party)),
        };
        format!("{}.{role}.{tag}", transfer.as_str())
    }

    /// The transfer and role a token names, if its tag is right. A malformed and a forged
    /// token are the same `None`.
    pub fn verify(key: &SecretKey, token: &str) -> Option<Self> {
        let mut parts = token.trim().split('.');
        let (id, role, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let transfer = TransferId::parse(id).ok()?;
        let (code, number) = role.split_at(role.len().min(2));
        let party = match code {
            "ch" => Party::CurrentHolder,
            "nh" => Party::NewHolder,
            _ => return None,
        };
        let generation = match number {
            "" => 0,
            n if n.len() <= 4 && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().ok()?
            }
            _ => return None,
        };
        let authentic = match generation {
            0 => key.verify_tag(LINK, &[transfer.as_str(), party.as_str()], tag),
            n => key.verify_tag(
                LINK,
                &[transfer.as_str(), party.as_str(), &n.to_string()],
                tag,
            ),
        };
        authentic.then_some(Self {
            transfer,
            party,
            generation,
        })
    }
}

/// The token of a "Blocca la richiesta" link: `<request id>.stop-<role>.<128-bit tag>`, sent
/// to a holder's number and email on file when someone verified another number in their
/// place. It does one thing: that holder's rejection of the transfer (docs/security.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopToken {
    pub transfer: TransferId,
    pub party: Party,
}

const STOP: &str = "stop";

impl StopToken {
    pub fn issue(key: &SecretKey, transfer: &TransferId, party: Party) -> String {
        let tag = key.tag(STOP, &[transfer.as_str(), party.as_str()]);
        format!("{}.stop-{}.{tag}", transfer.as_str(), role_code(party))
    }

    /// The transfer and holder a token names, if its tag is right; anything else is `None`.
    pub fn verify(key: &SecretKey, token: &str) -> Option<Self> {
        let mut parts = token.trim().split('.');
        let (id, role, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let transfer = TransferId::parse(id).ok()?;
        let party = match role {
            "stop-ch" => Party::CurrentHolder,
            "stop-nh" => Party::NewHolder,
            _ => return None,
        };
        key.verify_tag(STOP, &[transfer.as_str(), party.as_str()], tag)
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
    fn stop_tokens_are_bound_and_no_link_token() {
        let key = SecretKey::from_bytes(&[9; 32]).unwrap();
        let id = TransferId::from_number(42);
        let token = StopToken::issue(&key, &id, Party::CurrentHolder);
        assert_eq!(
            StopToken::verify(&key, &token),
            Some(StopToken {
                transfer: id.clone(),
                party: Party::CurrentHolder
            })
        );
        assert_eq!(
            LinkToken::verify(&key, &token),
            None,
            "it opens nothing else"
        );
        let link = LinkToken::issue(&key, &id, Party::CurrentHolder);
        assert_eq!(StopToken::verify(&key, &link), None);
        let other_role = token.replace("stop-ch", "stop-nh");
        assert_eq!(
            StopToken::verify(&key, &other_role),
            None,
            "the role is signed"
        );
        let other_key = SecretKey::from_bytes(&[8; 32]).unwrap();
        assert_eq!(StopToken::verify(&other_key, &token), None);
    }

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
                party: Party::NewHolder,
                generation: 0,
            })
        );
        // A later generation is its own link; the tag binds the number too.
        let second = LinkToken::issue_generation(&key, &id, Party::NewHolder, 2);
        assert!(second.contains(".nh2."), "{second}");
        assert_eq!(
            LinkToken::verify(&key, &second).map(|l| l.generation),
            Some(2)
        );
        let bumped = second.replace(".nh2.", ".nh3.");
        assert_eq!(
            LinkToken::verify(&key, &bumped),
            None,
            "bound to the generation"
        );
        for junk in ["42.nh02.x", "42.nh99999.x", "42.nhx.x"] {
            assert_eq!(LinkToken::verify(&key, junk), None, "{junk}");
        }
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

/// The link that lets a mailbox's new holder set its password: `<account, base64url>.
/// <mailbox, base64url>.<issued at, epoch seconds>.<request id>.<128-bit tag>`. Derived
/// from the secret key, valid 24 hours; single use is the mailbox's part: the reset it
/// grants must still be pending with this very issue time, and from the transfer
/// that started it (the request id), so a link from an earlier change of the same mailbox
/// is worth nothing to a later holder's reset (docs/security.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordResetToken {
    pub account: AccountId,
    pub mailbox: EmailAddress,
    pub issued_at: Timestamp,
    pub transfer: TransferId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResetTokenError {
    #[error("Link non valido.")]
    Invalid,
    #[error("Il link è scaduto: era valido 24 ore.")]
    Expired,
}

const RESET: &str = "password-reset";

impl PasswordResetToken {
    pub const VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

    pub fn issue(
        key: &SecretKey,
        account: &AccountId,
        mailbox: &EmailAddress,
        issued_at: Timestamp,
        transfer: &TransferId,
    ) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let seconds = issued_at.as_second().to_string();
        let transfer = transfer.as_str();
        let tag = key.tag(
            RESET,
            &[account.as_str(), mailbox.as_str(), &seconds, transfer],
        );
        format!(
            "{}.{}.{seconds}.{transfer}.{tag}",
            b64.encode(account.as_str()),
            b64.encode(mailbox.as_str())
        )
    }

    /// What a token grants, if its tag is right and it is less than 24 hours old at `now`.
    pub fn verify(key: &SecretKey, token: &str, now: Timestamp) -> Result<Self, ResetTokenError> {
        let token = Self::authentic(key, token)?;
        if now >= token.issued_at + Self::VALIDITY {
            return Err(ResetTokenError::Expired);
        }
        Ok(token)
    }

    /// What a token names, if its tag is right, however old: a lapsed link still proves
    /// that its bearer received the email (enough to ask for a new one, sent there).
    pub fn authentic(key: &SecretKey, token: &str) -> Result<Self, ResetTokenError> {
        use base64::Engine;
        let text = |part: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [account, mailbox, seconds, transfer, tag] = parts[..] else {
            return Err(ResetTokenError::Invalid);
        };
        let account = text(account)
            .and_then(|a| AccountId::parse(&a).ok())
            .ok_or(ResetTokenError::Invalid)?;
        let mailbox = text(mailbox)
            .and_then(|m| EmailAddress::parse(&m).ok())
            .ok_or(ResetTokenError::Invalid)?;
        let issued_at = seconds
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(ResetTokenError::Invalid)?;
        if !key.verify_tag(
            RESET,
            &[account.as_str(), mailbox.as_str(), seconds, transfer],
            tag,
        ) {
            return Err(ResetTokenError::Invalid);
        }
        let transfer = TransferId::parse(transfer).map_err(|_| ResetTokenError::Invalid)?;
        Ok(Self {
            account,
            mailbox,
            issued_at,
            transfer,
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
        let account = AccountId::parse("demo").unwrap();
        let issued: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        let transfer = TransferId::parse("30").unwrap();
        let token = PasswordResetToken::issue(&key, &account, &mailbox, issued, &transfer);
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
        assert_eq!(
            (grant.mailbox, grant.account, grant.transfer),
            (mailbox, account, transfer)
        );
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
        let other_change = token.replace(".30.", ".31.");
        assert_eq!(
            PasswordResetToken::verify(&key, &other_change, issued),
            Err(ResetTokenError::Invalid),
            "the change of holder is signed"
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

    #[test]
    fn only_a_partys_steps_are_steps() {
        let line = |party, action| AuditEntry {
            at: Timestamp::UNIX_EPOCH,
            party,
            action,
            detail: None,
            request_id: "r".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
            support: None,
        };
        use AuditAction::*;
        assert!(line(Some(Party::Initiator), Created).is_step());
        assert!(line(Some(Party::NewHolder), EmailVerified).is_step());
        assert!(!line(Some(Party::NewHolder), CodeSent).is_step());
        assert!(!line(Some(Party::CurrentHolder), CodeRefused).is_step());
        assert!(!line(None, EndedExpired).is_step());
    }
}
