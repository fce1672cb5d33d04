//! Commands to the mail platform: what a change of holder does to the real mailbox or
//! domain, decided in the transaction that decides the change, delivered at least once in
//! order per mailbox, applied once by their id, and acknowledged back (docs/platform.md).
//! The JSON Schemas are `infra/events/platform-command-v1.schema.json` and
//! `infra/events/platform-ack-v1.schema.json`.

use crate::holder::HolderId;
use crate::ids::{ItemKind, TransferId};
use crate::records::AccountId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The version of the command and acknowledgement formats (`"schema": 1`).
pub const SCHEMA: u32 = 1;

/// One command, as the platform receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub schema: u32,
    /// Unique: the platform applies a command once by it (and the FIFO queue deduplicates
    /// by it). It names the transfer, never the mailbox.
    pub id: CommandId,
    /// The mailbox's address or the domain's name: commands of one target apply in order
    /// (the FIFO message group).
    pub target: String,
    pub target_kind: ItemKind,
    /// The account that manages the target once the change is done.
    pub account: AccountId,
    pub issued_at: Timestamp,
    #[serde(flatten)]
    pub action: Action,
}

/// What the platform is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Action {
    /// The target has a new holder (and, with `hand_over`, a new managing account).
    #[serde(rename = "holder.changed")]
    HolderChanged {
        previous_holder: HolderId,
        new_holder: HolderId,
        /// The new holder's name as the change recorded it.
        new_holder_name: String,
    },
    /// The new holder's password, as an argon2id PHC string (Dovecot and most password
    /// databases read it as it is). Erased from the service once acknowledged.
    #[serde(rename = "password.set")]
    PasswordSet { password_hash: Option<String> },
    /// The access history (last logins) starts empty.
    #[serde(rename = "access-history.reset")]
    AccessHistoryReset,
    /// Access by other users (delegations) is suspended.
    #[serde(rename = "delegated-access.suspended")]
    DelegatedAccessSuspended,
    /// The second-factor device is unlinked.
    #[serde(rename = "second-factor.unlinked")]
    SecondFactorUnlinked,
}

impl Command {
    /// The FIFO message group: one per mailbox or domain, opaque (a queue's metadata never
    /// names an address): the SHA-256 of the lower-case target, in hex.
    pub fn group(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.target.to_lowercase().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Action {
    /// The `type` word, as ids and metrics carry it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HolderChanged { .. } => "holder.changed",
            Self::PasswordSet { .. } => "password.set",
            Self::AccessHistoryReset => "access-history.reset",
            Self::DelegatedAccessSuspended => "delegated-access.suspended",
            Self::SecondFactorUnlinked => "second-factor.unlinked",
        }
    }
}

/// `<transfer>.<item index>.<action>[.<n>]`: unique, and the transfer it belongs to is
/// read back from it (the acknowledgement carries only the id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommandId(String);

impl CommandId {
    pub fn new(transfer: &TransferId, item: usize, action: &Action, n: Option<u64>) -> Self {
        let mut id = format!("{}.{item}.{}", transfer.as_str(), action.name());
        if let Some(n) = n {
            id.push_str(&format!(".{n}"));
        }
        Self(id)
    }

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let transfer = s.split('.').next().unwrap_or_default();
        let fits = s.len() <= 120
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !fits || TransferId::parse(transfer).is_err() || s.split('.').count() < 3 {
            return Err("not a command id");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn transfer(&self) -> TransferId {
        TransferId::parse(self.0.split('.').next().unwrap_or_default())
            .expect("checked when parsed")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CommandId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CommandId> for String {
    fn from(id: CommandId) -> Self {
        id.0
    }
}

/// The `n`-th command (from 1) that gives the platform a mailbox's new password, under the
/// transfer that moved it (`index`: the mailbox's place in its items).
pub fn password_set(
    transfer: &TransferId,
    index: usize,
    n: u64,
    account: &AccountId,
    mailbox: &str,
    password_hash: &str,
    now: Timestamp,
) -> Command {
    let action = Action::PasswordSet {
        password_hash: Some(password_hash.to_owned()),
    };
    Command {
        schema: SCHEMA,
        id: CommandId::new(transfer, index, &action, Some(n)),
        target: mailbox.to_owned(),
        target_kind: ItemKind::Mailbox,
        account: account.clone(),
        issued_at: now,
        action,
    }
}

/// What the platform answers for a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub schema: u32,
    pub command: CommandId,
    pub result: AckResult,
    /// Why it was refused, or why it does not apply (a platform with no second factor):
    /// the platform's words, shown to operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the platform applied (or gave up on) it.
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckResult {
    Applied,
    /// Nothing to do on this platform (it has no such thing): done.
    NotApplicable,
    /// Refused after the platform's own retries: reported and alarmed.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("not an acknowledgement: {0}")]
    Malformed(String),
    #[error("schema {0} is not one this service reads (it reads {SCHEMA})")]
    Schema(u32),
    #[error("a reason longer than 500 characters")]
    Reason,
}

impl Ack {
    pub fn parse(text: &str) -> Result<Self, AckError> {
        let ack: Self = serde_json::from_str(text).map_err(|e| {
            AckError::Malformed(format!("{:?} at column {}", e.classify(), e.column()))
        })?;
        if ack.schema != SCHEMA {
            return Err(AckError::Schema(ack.schema));
        }
        if ack.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(AckError::Reason);
        }
        Ok(ack)
    }
}

/// Where a command stands, as the service keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CommandState {
    /// Not acknowledged yet; `relayed_at`: handed to the platform's queue.
    Waiting {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        relayed_at: Option<Timestamp>,
    },
    Done {
        result: AckResult,
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A command and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command: Command,
    #[serde(flatten)]
    pub state: CommandState,
}

impl CommandRecord {
    pub fn waiting(command: Command) -> Self {
        Self {
            command,
            state: CommandState::Waiting { relayed_at: None },
        }
    }

    /// The record once `ack` is recorded: done, and a password erased (the platform has it).
    /// `None`: it was done already (a repeated acknowledgement changes nothing).
    pub fn acknowledged(&self, ack: &Ack) -> Option<Self> {
        if matches!(self.state, CommandState::Done { .. }) {
            return None;
        }
        let mut command = self.command.clone();
        if let Action::PasswordSet { password_hash } = &mut command.action
            && ack.result != AckResult::Refused
        {
            *password_hash = None;
        }
        Some(Self {
            command,
            state: CommandState::Done {
                result: ack.result,
                at: ack.at,
                reason: ack.reason.clone(),
            },
        })
    }
}

/// Where an item stands with the platform, from its commands: waiting while any is, refused
/// if any was, else applied at the latest acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemPlatform {
    Waiting,
    Applied { at: Timestamp },
    Refused { at: Timestamp },
}

pub fn item_platform<'a>(
    records: impl IntoIterator<Item = &'a CommandRecord>,
) -> Option<ItemPlatform> {
    let mut status: Option<ItemPlatform> = None;
    for record in records {
        let next = match &record.state {
            CommandState::Waiting { .. } => ItemPlatform::Waiting,
            CommandState::Done {
                result: AckResult::Refused,
                at,
                ..
            } => ItemPlatform::Refused { at: *at },
            CommandState::Done { at, .. } => ItemPlatform::Applied { at: *at },
        };
        status = Some(match (status, next) {
            (None, n) => n,
            (Some(ItemPlatform::Waiting), _) | (_, ItemPlatform::Waiting) => ItemPlatform::Waiting,
            (Some(ItemPlatform::Refused { at }), _) | (_, ItemPlatform::Refused { at }) => {
                ItemPlatform::Refused { at }
            }
            (Some(ItemPlatform::Applied { at: a }), ItemPlatform::Applied { at: b }) => {
                ItemPlatform::Applied { at: a.max(b) }
            }
        });
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_transfer_and_never_the_mailbox() {
        let t = TransferId::parse("42").unwrap();
        let id = CommandId::new(&t, 1, &Action::AccessHistoryReset, None);
        assert_eq!(id.as_str(), "42.1.access-history.reset");
        assert_eq!(CommandId::parse(id.as_str()).unwrap().transfer(), t);
        for bad in ["", "x.1.a", "42", "42.1", "42.1.a b", "42.1.a@b"] {
            assert!(CommandId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_ack_is_recorded_once_and_erases_the_password() {
        let t = TransferId::parse("42").unwrap();
        let account = AccountId::parse("demo").unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let c = password_set(&t, 0, 1, &account, "a@pec.it", "$argon2id$x", now);
        assert_eq!(c.id.as_str(), "42.0.password.set.1");
        let record = CommandRecord::waiting(c.clone());
        let ack = Ack::parse(&format!(
            r#"{{"schema":1,"command":"{}","result":"applied","at":"2027-01-15T08:00:00Z"}}"#,
            c.id.as_str()
        ))
        .unwrap();
        let done = record.acknowledged(&ack).unwrap();
        assert_eq!(
            done.command.action,
            Action::PasswordSet {
                password_hash: None
            }
        );
        assert!(done.acknowledged(&ack).is_none(), "once");
        assert_eq!(item_platform([&record, &done]), Some(ItemPlatform::Waiting));
        assert_eq!(
            item_platform([&done]),
            Some(ItemPlatform::Applied { at: ack.at })
        );
        let refused = Ack {
            result: AckResult::Refused,
            ..ack
        };
        let kept = record.acknowledged(&refused).unwrap();
        assert!(matches!(
            kept.command.action,
            Action::PasswordSet {
                password_hash: Some(_)
            }
        ));
        assert!(matches!(
            item_platform([&done, &kept]),
            Some(ItemPlatform::Refused { .. })
        ));
        assert!(
            Ack::parse(
                r#"{"schema":2,"command":"42.0.x","result":"applied","at":"2027-01-15T08:00:00Z"}"#
            )
            .is_err()
        );
        assert!(
            Ack::parse(
                r#"{"schema":1,"command":"nope","result":"applied","at":"2027-01-15T08:00:00Z"}"#
            )
            .is_err()
        );
    }
}
