//! The ports the domain needs from the outside: time, and small store capabilities.
//! Handlers ask for the narrowest trait that serves them.

use crate::holder::{Holder, HolderId};
use crate::otp::{Challenge, Channel, Party};
use crate::outbox::OutboxMessage;
use crate::records::{Account, AccountId, CertifiedDomain, Mailbox, Operation};
use crate::search::{HolderQuery, HolderSummary, Page, PageRequest};
use crate::transfer::{Transfer, TransferId};
use crate::values::EmailAddress;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The current time. Never read the system clock elsewhere.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the data changed since it was read.
    #[error("the item changed since it was read")]
    Conflict,
    #[error("invalid page cursor")]
    InvalidCursor,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored item is unreadable: {0}")]
    Corrupt(String),
}

/// A value together with the version its conditional update must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// The answer a write gave, kept under its Idempotency-Key so a retry gets it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotentResponse {
    pub key: String,
    /// Hash of the request that produced it; the same key with another request is refused.
    pub fingerprint: String,
    pub status: u16,
    pub body: serde_json::Value,
    pub expires_at: jiff::Timestamp,
}

#[async_trait]
pub trait HolderReader: Send + Sync {
    async fn holder(
        &self,
        account: &AccountId,
        id: &HolderId,
    ) -> Result<Option<Versioned<Holder>>, StoreError>;
}

#[async_trait]
pub trait HolderSearch: Send + Sync {
    async fn search_holders(
        &self,
        account: &AccountId,
        query: &HolderQuery,
        page: &PageRequest,
    ) -> Result<Page<HolderSummary>, StoreError>;
}

#[async_trait]
pub trait HolderWriter: Send + Sync {
    async fn next_holder_id(&self) -> Result<HolderId, StoreError>;
    /// Inserts a holder, its search keys, its operation entry and, when given, the answer
    /// to keep for its Idempotency-Key, all or nothing.
    async fn insert_holder(
        &self,
        account: &AccountId,
        holder: &Holder,
        operation: &Operation,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError>;
    /// Replaces `before` with `after` if nobody changed it meanwhile (else `Conflict`).
    async fn update_holder(
        &self,
        account: &AccountId,
        before: &Versioned<Holder>,
        after: &Holder,
        operation: &Operation,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait IdempotencyReader: Send + Sync {
    async fn idempotent_response(
        &self,
        account: &AccountId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;
}

/// Which mailboxes a listing shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailboxFilter {
    /// Only those whose holder is not this one (the account owner's own profile).
    pub held_by_others_than: Option<HolderId>,
}

#[async_trait]
pub trait MailboxReader: Send + Sync {
    async fn mailbox(
        &self,
        account: &AccountId,
        address: &EmailAddress,
    ) -> Result<Option<Mailbox>, StoreError>;
    async fn mailboxes(
        &self,
        account: &AccountId,
        filter: &MailboxFilter,
        page: &PageRequest,
    ) -> Result<Page<Mailbox>, StoreError>;
}

#[async_trait]
pub trait DomainReader: Send + Sync {
    async fn domain(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<CertifiedDomain>, StoreError>;
    async fn domains(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<CertifiedDomain>, StoreError>;
}

#[async_trait]
pub trait OperationReader: Send + Sync {
    /// Newest first.
    async fn operations(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Operation>, StoreError>;
}

#[async_trait]
pub trait AccountReader: Send + Sync {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
}

/// Writes that set data up (demo seed, tests); each is idempotent.
#[async_trait]
pub trait Fixtures: Send + Sync {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Puts a holder with a given id and its search keys, unless one with that id exists.
    async fn seed_holder(&self, account: &AccountId, holder: &Holder) -> Result<(), StoreError>;
    async fn put_mailbox(&self, account: &AccountId, mailbox: &Mailbox) -> Result<(), StoreError>;
    async fn put_domain(
        &self,
        account: &AccountId,
        domain: &CertifiedDomain,
    ) -> Result<(), StoreError>;
    async fn put_transfer(&self, transfer: &Transfer) -> Result<(), StoreError>;
}

#[async_trait]
pub trait TransferReader: Send + Sync {
    async fn transfer(&self, id: &TransferId) -> Result<Option<Versioned<Transfer>>, StoreError>;
}

#[async_trait]
pub trait ChallengeStore: Send + Sync {
    async fn challenge(
        &self,
        transfer: &TransferId,
        party: Party,
        channel: Channel,
    ) -> Result<Option<Versioned<Challenge>>, StoreError>;
    /// Stores a (re)sent challenge and the message carrying its code, all or nothing, if
    /// neither the request nor the challenge (`before`: its version, `None` when new)
    /// changed since they were read.
    async fn record_send(
        &self,
        transfer: &Versioned<Transfer>,
        before: Option<u64>,
        challenge: &Challenge,
        message: &OutboxMessage,
    ) -> Result<(), StoreError>;
    /// Stores a challenge after a verification attempt, if unchanged since read.
    async fn record_attempt(
        &self,
        transfer: &Versioned<Transfer>,
        before: u64,
        challenge: &Challenge,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn outbox_message(
        &self,
        transfer: &TransferId,
        id: &str,
    ) -> Result<Option<Versioned<OutboxMessage>>, StoreError>;
    /// Every message of a request, oldest first.
    async fn outbox_messages(
        &self,
        transfer: &TransferId,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Replaces a message unchanged since read (version `before`) and, when given, the
    /// challenge whose delivery it reports, unchanged since its read too.
    async fn update_outbox(
        &self,
        before: u64,
        message: &OutboxMessage,
        challenge: Option<&Versioned<Challenge>>,
    ) -> Result<(), StoreError>;
}

/// Password-reset links: a grant recorded when the link is issued, used up by the reset.
#[async_trait]
pub trait PasswordResetGrants: Send + Sync {
    async fn grant_reset(
        &self,
        account: &AccountId,
        token: &crate::transfer::PasswordResetToken,
    ) -> Result<(), StoreError>;
    /// Uses the grant once; a used or expired one is a `Conflict`.
    async fn use_reset(
        &self,
        token: &crate::transfer::PasswordResetToken,
    ) -> Result<(), StoreError>;
}

/// Everything the HTTP handlers use, for wiring; handlers themselves take the narrow traits.
pub trait Store:
    HolderReader
    + HolderSearch
    + HolderWriter
    + IdempotencyReader
    + MailboxReader
    + DomainReader
    + OperationReader
    + AccountReader
    + TransferReader
    + ChallengeStore
    + OutboxStore
    + Fixtures
{
}

impl<T> Store for T where
    T: HolderReader
        + HolderSearch
        + HolderWriter
        + IdempotencyReader
        + MailboxReader
        + DomainReader
        + OperationReader
        + AccountReader
        + TransferReader
        + ChallengeStore
        + OutboxStore
        + Fixtures
{
}
