//! The provider's inventory as its own systems send it: accounts, mailboxes and certified
//! domains, each with the source's monotonic `version` (docs/rules.md, "The inventory"). The
//! service keeps a replica: a message applies only over an older version, so a redelivered
//! or out-of-order message never overwrites newer state. Pure: the store reads the stored
//! version and writes what [`apply`] decides, conditionally on what it read.

use crate::holder::HolderId;
use crate::ids::AccountId;
use crate::records::{Access, Account, AccountRole, CertifiedDomain, Mailbox, ServiceStatus};
use crate::transfer::{ItemKind, ItemRef};
use crate::values::EmailAddress;
use serde::{Deserialize, Serialize};

/// The version of the message format this service reads (`"schema": 1`); the JSON Schema is
/// `infra/events/inventory-v1.schema.json`.
pub const SCHEMA: u32 = 1;

/// One message of the inventory queue or of a bulk file (one JSON object a line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryMessage {
    /// The format's version: [`SCHEMA`].
    pub schema: u32,
    /// The source's version of this entity: higher is newer.
    pub version: u64,
    #[serde(flatten)]
    pub change: Change,
}

/// What changed, by the message's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Change {
    #[serde(rename = "account.upserted")]
    AccountUpserted { account: AccountFacts },
    #[serde(rename = "mailbox.upserted")]
    MailboxUpserted {
        account: AccountId,
        mailbox: MailboxFacts,
    },
    #[serde(rename = "mailbox.removed")]
    MailboxRemoved {
        account: AccountId,
        address: EmailAddress,
    },
    #[serde(rename = "domain.upserted")]
    DomainUpserted {
        account: AccountId,
        domain: DomainFacts,
    },
    #[serde(rename = "domain.removed")]
    DomainRemoved { account: AccountId, name: String },
}

/// An account as the provider knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFacts {
    pub id: AccountId,
    pub username: String,
    pub role: AccountRole,
    #[serde(default)]
    pub own_holder_id: Option<HolderId>,
}

/// A mailbox as the provider knows it: everything but what the service itself keeps (a
/// pending password reset, the transfer that last moved it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxFacts {
    pub address: EmailAddress,
    pub holder_id: HolderId,
    pub status: ServiceStatus,
    pub kind: String,
    pub inbox_gb: u32,
    #[serde(default)]
    pub inbox_extra_gb: u32,
    #[serde(default)]
    pub archive_gb: Option<u32>,
    pub end_of_service: jiff::civil::Date,
    pub requested_on: jiff::civil::Date,
    #[serde(default)]
    pub certified_on: Option<jiff::civil::Date>,
    #[serde(default)]
    pub cancelled_on: Option<jiff::civil::Date>,
    pub renewal: String,
    pub duration: String,
    #[serde(default)]
    pub cliente_finale: bool,
    /// The latest logins, newest first, as the platform records them.
    #[serde(default)]
    pub access_history: Vec<Access>,
    /// Server-side rules and filters.
    #[serde(default)]
    pub rules: Vec<String>,
}

/// A certified domain as the provider knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainFacts {
    pub name: String,
    pub holder_id: HolderId,
    pub status: ServiceStatus,
    pub registered_on: jiff::civil::Date,
    pub end_of_service: jiff::civil::Date,
}

impl AccountFacts {
    /// The replica's account at the source's `version`.
    pub fn into_account(self, version: u64) -> Account {
        Account {
            id: self.id,
            username: self.username,
            own_holder_id: self.own_holder_id,
            role: self.role,
            source_version: version,
        }
    }
}

impl MailboxFacts {
    /// The replica's mailbox at the source's `version`: the provider's facts, and what the
    /// service itself keeps of the mailbox it had (a pending password reset, the transfer
    /// that moved it).
    pub fn into_mailbox(self, version: u64, had: Option<&Mailbox>) -> Mailbox {
        Mailbox {
            address: self.address,
            holder_id: self.holder_id,
            status: self.status,
            kind: self.kind,
            inbox_gb: self.inbox_gb,
            inbox_extra_gb: self.inbox_extra_gb,
            archive_gb: self.archive_gb,
            end_of_service: self.end_of_service,
            requested_on: self.requested_on,
            certified_on: self.certified_on,
            cancelled_on: self.cancelled_on,
            renewal: self.renewal,
            duration: self.duration,
            cliente_finale: self.cliente_finale,
            password_hash: had.and_then(|m| m.password_hash.clone()),
            password_reset_required: had.is_some_and(|m| m.password_reset_required),
            password_reset_issued_at: had.and_then(|m| m.password_reset_issued_at),
            password_reset_links: had.map_or(0, |m| m.password_reset_links),
            moved_by: had.and_then(|m| m.moved_by.clone()),
            password_reset_to: had.and_then(|m| m.password_reset_to.clone()),
            access_history: self.access_history,
            rules: self.rules,
            source_version: version,
        }
    }
}

impl DomainFacts {
    /// The replica's domain at the source's `version`.
    pub fn into_domain(self, version: u64) -> CertifiedDomain {
        CertifiedDomain {
            name: self.name,
            holder_id: self.holder_id,
            status: self.status,
            registered_on: self.registered_on,
            end_of_service: self.end_of_service,
            source_version: version,
        }
    }
}

/// A record of the replica, which knows the source version it was written at.
pub trait Sourced {
    fn source_version(&self) -> u64;
}

impl Sourced for Account {
    fn source_version(&self) -> u64 {
        self.source_version
    }
}

impl Sourced for Mailbox {
    fn source_version(&self) -> u64 {
        self.source_version
    }
}

impl Sourced for CertifiedDomain {
    fn source_version(&self) -> u64 {
        self.source_version
    }
}

/// Why a message is refused: it goes to the dead-letter queue (or the loader's report) with
/// this reason, which names no personal datum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("not an inventory message: {0}")]
    Malformed(String),
    #[error("schema {0} is not one this service reads (it reads {SCHEMA})")]
    Schema(u32),
    #[error("version 0: versions start at 1")]
    NoVersion,
    #[error("the domain name is not valid")]
    DomainName,
}

impl InventoryMessage {
    /// One message from its JSON text: the format, the schema and every value checked.
    pub fn parse(text: &str) -> Result<Self, InventoryError> {
        let message: Self = serde_json::from_str(text).map_err(|e| {
            // serde's message may quote the value at fault: keep only where and what kind.
            InventoryError::Malformed(format!("{:?} at column {}", e.classify(), e.column()))
        })?;
        if message.schema != SCHEMA {
            return Err(InventoryError::Schema(message.schema));
        }
        if message.version == 0 {
            return Err(InventoryError::NoVersion);
        }
        let name = match &message.change {
            Change::DomainUpserted { domain, .. } => Some(&domain.name),
            Change::DomainRemoved { name, .. } => Some(name),
            _ => None,
        };
        if let Some(name) = name {
            let parsed =
                ItemRef::parse(ItemKind::Domain, name).map_err(|_| InventoryError::DomainName)?;
            if parsed.id != *name {
                return Err(InventoryError::DomainName);
            }
        }
        Ok(message)
    }

    /// The entity it is about, as the store keys it.
    pub fn entity(&self) -> Entity {
        match &self.change {
            Change::AccountUpserted { account } => Entity::Account(account.id.clone()),
            Change::MailboxUpserted { account, mailbox } => {
                Entity::Mailbox(account.clone(), mailbox.address.clone())
            }
            Change::MailboxRemoved { account, address } => {
                Entity::Mailbox(account.clone(), address.clone())
            }
            Change::DomainUpserted { account, domain } => {
                Entity::Domain(account.clone(), domain.name.clone())
            }
            Change::DomainRemoved { account, name } => {
                Entity::Domain(account.clone(), name.clone())
            }
        }
    }
}

/// An entity of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    Account(AccountId),
    Mailbox(AccountId, EmailAddress),
    Domain(AccountId, String),
}

/// What a message does to the replica, given the version stored for its entity (`None`:
/// never seen; a removal leaves its version behind, so an older upsert cannot bring the
/// entity back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Newer than what is stored: write it, conditionally on the stored version read.
    Apply,
    /// As old as or older than what is stored (a redelivery, an out-of-order message):
    /// nothing to write, and nothing is wrong.
    Stale,
}

/// Whether a message of `version` applies over the `stored` version of its entity.
pub fn apply(stored: Option<u64>, version: u64) -> Verdict {
    match stored {
        Some(s) if s >= version => Verdict::Stale,
        _ => Verdict::Apply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAILBOX: &str = r#"{"schema":1,"type":"mailbox.upserted","version":7,"account":"demo",
        "mailbox":{"address":"Teste1234@PEC.it","holder_id":"534905","status":"Attivo",
        "kind":"Standard","inbox_gb":1,"end_of_service":"2027-11-30","requested_on":"2025-11-30",
        "renewal":"Automatico","duration":"1 Anno"}}"#;

    #[test]
    fn an_upsert_keeps_what_the_service_itself_keeps() {
        let m = InventoryMessage::parse(MAILBOX).unwrap();
        let Change::MailboxUpserted { mailbox, .. } = m.change else {
            panic!()
        };
        let first = mailbox.clone().into_mailbox(7, None);
        assert_eq!(first.source_version, 7);
        assert!(first.password_hash.is_none() && first.moved_by.is_none());
        let had = Mailbox {
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            password_reset_required: true,
            password_reset_links: 2,
            moved_by: Some(crate::ids::TransferId::parse("12").unwrap()),
            ..first.clone()
        };
        let next = mailbox.into_mailbox(8, Some(&had));
        assert_eq!(next.password_hash, had.password_hash);
        assert!(next.password_reset_required);
        assert_eq!((next.password_reset_links, next.source_version), (2, 8));
        assert_eq!(next.moved_by, had.moved_by);
        assert_eq!(next.source_version(), 8);
    }

    #[test]
    fn a_message_is_parsed_with_its_values() {
        let m = InventoryMessage::parse(MAILBOX).unwrap();
        assert_eq!(m.version, 7);
        let Change::MailboxUpserted { mailbox, .. } = &m.change else {
            panic!("{m:?}")
        };
        assert_eq!(
            mailbox.address.as_str(),
            "Teste1234@pec.it",
            "the domain normalised"
        );
        assert_eq!(
            m.entity(),
            Entity::Mailbox(AccountId::parse("demo").unwrap(), mailbox.address.clone())
        );
        let removed = r#"{"schema":1,"type":"domain.removed","version":3,"account":"demo","name":"testazienda-pec.it"}"#;
        assert!(InventoryMessage::parse(removed).is_ok());
    }

    #[test]
    fn bad_messages_are_refused_with_a_reason_that_names_no_datum() {
        let cases = [
            (MAILBOX.replace(r#""schema":1"#, r#""schema":2"#), "schema 2"),
            (MAILBOX.replace(r#""version":7"#, r#""version":0"#), "version 0"),
            (MAILBOX.replace("mailbox.upserted", "mailbox.renamed"), "not an inventory"),
            (MAILBOX.replace(r#""kind""#, r#""extra":1,"kind""#), "not an inventory"),
            (MAILBOX.replace(r#""version":7"#, r#""version":7,"extra":1"#), "not an inventory"),
            (MAILBOX.replace("Teste1234@PEC.it", "non-un-indirizzo"), "not an inventory"),
            (MAILBOX.replace(r#""534905""#, r#""abc""#), "not an inventory"),
            (
                r#"{"schema":1,"type":"domain.removed","version":3,"account":"demo","name":"-x-.it"}"#.into(),
                "domain name",
            ),
        ];
        for (text, reason) in cases {
            let e = InventoryMessage::parse(&text).unwrap_err().to_string();
            assert!(e.contains(reason), "{text}: {e}");
            assert!(
                !e.contains("Teste1234") && !e.contains("non-un-indirizzo"),
                "{e}"
            );
        }
    }

    proptest! {
        /// Whatever order and however often the versions of one entity arrive, the replica
        /// ends at the highest, and each version applies at most once.
        #[test]
        fn the_newest_version_wins_in_any_order(versions in prop::collection::vec(1u64..50, 1..40)) {
            let mut stored = None;
            let mut applied = Vec::new();
            for v in &versions {
                if apply(stored, *v) == Verdict::Apply {
                    applied.push(*v);
                    stored = Some(*v);
                }
            }
            prop_assert_eq!(stored, versions.iter().copied().max());
            prop_assert!(applied.windows(2).all(|w| w[0] < w[1]), "{:?}", applied);
        }
    }
}
