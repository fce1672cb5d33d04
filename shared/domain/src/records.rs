//! Mailboxes, certified domains, accounts and the account's operations log.

use crate::holder::{HolderId, Lingua};
pub use crate::ids::AccountId;
use crate::values::EmailAddress;
use serde::{Deserialize, Serialize};

/// An account's login name as a person types it: 1 to 64 of letters, digits and `.-_@`
/// (it becomes part of a store key, so its length is bounded). Compared in lower case.
pub fn parse_username(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    {
        return Err(
            "Username non valido: da 1 a 64 caratteri tra lettere, cifre, punto, trattino, trattino basso e chiocciola.",
        );
    }
    Ok(name.to_owned())
}

/// A customer account: who logs in and, when known, the holder profile of the account's
/// own owner (mailboxes held by anyone else are "PEC di altri titolari").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub own_holder_id: Option<HolderId>,
    /// Accounts written before roles existed are customers.
    #[serde(default)]
    pub role: AccountRole,
    /// The provider's version of this account (0: not from the inventory; docs/rules.md,
    /// "The inventory").
    #[serde(default)]
    pub source_version: u64,
}

/// What the customer area calls the account's profile ("Profilo: Rivenditore").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Manages its own mailboxes.
    #[default]
    Cliente,
    /// Manages mailboxes for others (the customer area's "Rivenditore").
    Rivenditore,
}

impl AccountRole {
    /// The label the panel shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Cliente => "Cliente",
            Self::Rivenditore => "Rivenditore",
        }
    }
}

/// Status names as the customer area shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    Certificato,
    Attivo,
    Sospeso,
    Disdetto,
    Scaduto,
}

/// One login to a mailbox, shown under "Gestione account".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub at: jiff::Timestamp,
    pub ip: String,
    pub client: String,
}

/// A PEC mailbox. Billing data is shown, not managed here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mailbox {
    pub address: EmailAddress,
    pub holder_id: HolderId,
    pub status: ServiceStatus,
    /// Standard, Pro, Premium…
    pub kind: String,
    pub inbox_gb: u32,
    pub inbox_extra_gb: u32,
    pub archive_gb: Option<u32>,
    pub end_of_service: jiff::civil::Date,
    pub requested_on: jiff::civil::Date,
    pub certified_on: Option<jiff::civil::Date>,
    pub cancelled_on: Option<jiff::civil::Date>,
    pub renewal: String,
    pub duration: String,
    pub cliente_finale: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub password_reset_required: bool,
    /// When the pending reset link was issued: only that link may reset, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reset_issued_at: Option<jiff::Timestamp>,
    /// How many reset links were sent for the pending reset (the first with the change).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub password_reset_links: u32,
    /// The transfer that last moved the mailbox; a new reset link is sent under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_by: Option<crate::ids::TransferId>,
    /// Where every link of the pending reset goes: the email the new holder verified in
    /// that transfer. Never the holder profile's email, which the account may change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reset_to: Option<ResetRecipient>,
    pub access_history: Vec<Access>,
    /// Server-side rules and filters; kept across a transfer.
    pub rules: Vec<String>,
    /// The provider's version of this mailbox (0: not from the inventory).
    #[serde(default)]
    pub source_version: u64,
}

/// The verified address a mailbox's reset links go to, and the language they are written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRecipient {
    pub email: EmailAddress,
    pub lingua: Lingua,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A certified domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifiedDomain {
    pub name: String,
    pub holder_id: HolderId,
    pub status: ServiceStatus,
    pub registered_on: jiff::civil::Date,
    pub end_of_service: jiff::civil::Date,
    /// The provider's version of this domain (0: not from the inventory).
    #[serde(default)]
    pub source_version: u64,
}

/// An entry of the account's "Esito Operazioni".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub at: jiff::Timestamp,
    pub kind: OperationKind,
    pub outcome: Outcome,
    /// What it was about: a holder id, a request id.
    pub subject: String,
    /// Italian one-line summary.
    pub detail: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    HolderCreated,
    HolderUpdated,
    TransferCompleted,
    TransferRejected,
    TransferCancelled,
    TransferExpired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}
