//! The ports the domain needs from the outside: time, and small store capabilities.
//! Handlers ask for the narrowest trait that serves them.

use crate::holder::{Holder, HolderId};
use crate::otp::{Challenge, Channel, Party};
use crate::outbox::OutboxMessage;
use crate::records::{Account, AccountId, CertifiedDomain, Mailbox, Operation};
use crate::search::{HolderQuery, HolderSummary, Page, PageRequest};
use crate::transfer::{ItemRef, Transfer, TransferId, TransferStatus};
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
    /// Hash of the transfer that produced it; the same key with another transfer is refused.
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

/// Whose Idempotency-Keys a key is among.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyScope {
    Account(AccountId),
    /// A holder acting through their link.
    Party(TransferId, Party),
    /// Password resets of a mailbox.
    Mailbox(EmailAddress),
}

#[async_trait]
pub trait IdempotencyReader: Send + Sync {
    async fn idempotent_response(
        &self,
        scope: &IdempotencyScope,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;
}

/// Which mailboxes or domains a listing shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    /// Only those whose holder is not this one (the account owner's own profile).
    pub held_by_others_than: Option<HolderId>,
    /// Only those of this holder.
    pub holder_id: Option<HolderId>,
    /// Only addresses or names starting with this (lower case): a range of the sort key.
    pub prefix: Option<String>,
}

impl ItemFilter {
    pub fn keeps(&self, holder: &HolderId) -> bool {
        self.held_by_others_than
            .as_ref()
            .is_none_or(|own| holder != own)
            && self.holder_id.as_ref().is_none_or(|id| holder == id)
    }
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
        filter: &ItemFilter,
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
        filter: &ItemFilter,
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
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError>;
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

/// A mailbox or a domain as read, with the version its conditional update must match.
// At most 25 live at once (one transfer's items), read and written straight away: a box
// per mailbox would cost more than the few hundred bytes a domain leaves unused.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ItemState {
    Mailbox(Versioned<Mailbox>),
    Domain(Versioned<CertifiedDomain>),
}

/// Why an item cannot be put in a new transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ItemLock {
    /// In a transfer that has not ended (a draft counts).
    InRequest { transfer: TransferId },
    /// Changed holder recently (the `post_change_lock_days` policy).
    RecentChange {
        transfer: TransferId,
        until: jiff::Timestamp,
    },
}

/// A line of an account's request list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferSummary {
    pub id: TransferId,
    pub status: TransferStatus,
    pub created_at: jiff::Timestamp,
    pub deadline: jiff::Timestamp,
    pub items: Vec<ItemRef>,
    pub current_holder: String,
    pub new_holder: String,
    #[serde(default)]
    pub ended_at: Option<jiff::Timestamp>,
}

impl From<&Transfer> for TransferSummary {
    fn from(t: &Transfer) -> Self {
        Self {
            id: t.id.clone(),
            status: t.status,
            created_at: t.created_at,
            deadline: t.deadline,
            items: t.items.iter().map(|i| i.item.clone()).collect(),
            current_holder: t.current_holder_card.name.clone(),
            new_holder: t.new_holder_card.name.clone(),
            ended_at: t.ended_at,
        }
    }
}

#[async_trait]
pub trait TransferReader: Send + Sync {
    async fn transfer(&self, id: &TransferId) -> Result<Option<Versioned<Transfer>>, StoreError>;
    /// The transfers named that are kept, read together (one round trip per 100), in the
    /// order asked.
    async fn transfers_by_id(&self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError>;
    /// An account's transfers, newest first, of the given statuses (all when empty).
    async fn transfers(
        &self,
        account: &AccountId,
        statuses: &[TransferStatus],
        page: &PageRequest,
    ) -> Result<Page<TransferSummary>, StoreError>;
    /// The live lock on an item, if any.
    async fn item_lock(&self, item: &ItemRef) -> Result<Option<ItemLock>, StoreError>;
    /// The transfers written under a support key (`support::item_key`, `fiscal_key`), newest
    /// first, at most `limit`.
    async fn support_lookup(&self, key: &str, limit: usize) -> Result<Vec<TransferId>, StoreError>;
    /// The live locks on `items`, in order, read together (one round trip per 100).
    async fn item_locks(&self, items: &[ItemRef]) -> Result<Vec<Option<ItemLock>>, StoreError>;
    /// The account's mailboxes and domains named, in order (`None` where there is none).
    async fn items(
        &self,
        account: &AccountId,
        items: &[ItemRef],
    ) -> Result<Vec<Option<ItemState>>, StoreError>;
    /// Entries of the index by deadline at or before `now`, soonest first, after `after`
    /// when given: transfers still running past their deadline (or, if the backstop could
    /// not end one, stale entries).
    async fn overdue(
        &self,
        now: jiff::Timestamp,
        after: Option<&Due>,
        limit: usize,
    ) -> Result<Vec<Due>, StoreError>;
}

/// An entry of the index by deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub transfer: TransferId,
    pub deadline: jiff::Timestamp,
}

/// How the transfer item must stand for a commit to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCondition {
    /// A new transfer: no item with its id.
    New,
    /// Live (before its deadline) and at this version.
    Unchanged(u64),
    /// At this version, even past its deadline (the expirer's ending).
    UnchangedPastDeadline(u64),
    /// Removed by the store's TTL (the backstop writes the ending again).
    Removed,
}

/// A mailbox or domain write of a completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    pub before: ItemState,
    pub after: ItemState,
    /// Where it lives from now on (another account with `hand_over`).
    pub to: AccountId,
}

/// A lock a step puts or frees (decided by `consequences`).
#[derive(Debug, Clone, PartialEq)]
pub enum LockWrite {
    /// `lock` on `item` until `until`: `fresh`, only where no lock is (a draft's); otherwise
    /// only where this transfer's own lock is.
    Put {
        item: ItemRef,
        lock: ItemLock,
        until: jiff::Timestamp,
        fresh: bool,
    },
    /// This transfer's lock on `item`, freed.
    Free { item: ItemRef },
}

/// An entry of the index by deadline a step drops or puts, at its moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueWrite {
    Drop(jiff::Timestamp),
    Put(jiff::Timestamp),
}

/// Everything one step of a transfer writes, all or nothing, as `consequences::commit`
/// decides it: the store turns each part into items and decides nothing.
#[derive(Debug, Clone)]
pub struct TransferCommit<'a> {
    pub condition: TransferCondition,
    pub after: &'a Transfer,
    /// A code challenge written with the step: its stored version (`None`: new) and value.
    pub challenge: Option<(Option<u64>, &'a Challenge)>,
    /// The send logs of the limits a send counts against.
    pub quotas: Vec<QuotaWrite>,
    pub messages: Vec<OutboxMessage>,
    pub operations: Vec<(AccountId, Operation)>,
    /// Holder profiles written with the step, each only if absent: created with the transfer,
    /// or copied into the account a transfer hands management over to the first time.
    pub holders: Vec<(AccountId, Holder)>,
    pub items: Vec<ItemWrite>,
    /// The account's list line, when the step changes it.
    pub list_line: Option<TransferSummary>,
    pub locks: Vec<LockWrite>,
    pub due: Vec<DueWrite>,
    /// The outcome marker of an ending, written only if absent: one ending, whoever is first.
    pub outcome: Option<TransferStatus>,
    /// A mailbox the step changes in place (a password set, then erased once the platform
    /// has it), conditionally on the version read.
    pub mailbox: Option<MailboxUpdate>,
    /// A sent message the provider reported on, written in place, conditionally on the
    /// version read (docs/rules.md, "Delivery").
    pub reported: Option<(u64, OutboxMessage)>,
    /// Support's keys of a new transfer (`Transfer::support_keys`).
    pub lookups: Vec<String>,
    pub idempotent: Option<(IdempotencyScope, IdempotentResponse)>,
}

/// A mailbox written in place by a transfer's step.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxUpdate {
    pub account: AccountId,
    /// The version read.
    pub before: u64,
    pub after: Mailbox,
}

impl<'a> TransferCommit<'a> {
    /// The transfer alone; `consequences` adds what the step causes.
    pub fn new(condition: TransferCondition, after: &'a Transfer) -> Self {
        Self {
            condition,
            after,
            challenge: None,
            quotas: Vec::new(),
            messages: Vec::new(),
            operations: Vec::new(),
            holders: Vec::new(),
            items: Vec::new(),
            list_line: None,
            locks: Vec::new(),
            due: Vec::new(),
            outcome: None,
            mailbox: None,
            lookups: Vec::new(),
            reported: None,
            idempotent: None,
        }
    }
}

#[async_trait]
pub trait TransferWriter: Send + Sync {
    async fn next_transfer_id(&self) -> Result<TransferId, StoreError>;
    /// Applies a step; `Conflict` when the transfer, a challenge, a lock or an item changed
    /// since read (nothing is written then).
    async fn commit(&self, commit: &TransferCommit<'_>) -> Result<(), StoreError>;
    /// Drops an index entry whose request has ended or is gone, so it cannot hide others.
    async fn drop_due(&self, due: &Due) -> Result<(), StoreError>;
    /// Replaces a mailbox unchanged since read (a password reset, a new reset link), with the
    /// message it sends, in one transaction.
    async fn update_mailbox(
        &self,
        account: &AccountId,
        before: u64,
        after: &Mailbox,
        message: Option<&OutboxMessage>,
        idempotent: Option<(IdempotencyScope, IdempotentResponse)>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ChallengeStore: Send + Sync {
    async fn challenge(
        &self,
        transfer: &TransferId,
        party: Party,
        channel: Channel,
    ) -> Result<Option<Versioned<Challenge>>, StoreError>;
    /// The live send log of a limit (none: nothing sent within its window).
    async fn send_log(
        &self,
        key: &crate::quota::QuotaKey,
    ) -> Result<Option<Versioned<crate::quota::SendLog>>, StoreError>;
}

/// A send log written with a code send, unchanged since read (`before`: its version, or
/// `None` for none), kept until `forget_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaWrite {
    pub key: crate::quota::QuotaKey,
    pub before: Option<u64>,
    pub log: crate::quota::SendLog,
    pub forget_at: jiff::Timestamp,
}

impl QuotaWrite {
    /// `key`'s log as read (`current`) with `count` more sends at `now`, or the limit they
    /// would break.
    pub fn admitting(
        key: crate::quota::QuotaKey,
        current: Option<Versioned<crate::quota::SendLog>>,
        count: usize,
        limit: crate::quota::Limit,
        now: jiff::Timestamp,
    ) -> Result<Self, crate::quota::OverLimit> {
        let log = current
            .as_ref()
            .map(|c| c.value.clone())
            .unwrap_or_default()
            .admit_many(now, count, limit, key.scope())?;
        Ok(Self {
            forget_at: log.forgotten_at(limit).unwrap_or(now),
            before: current.map(|c| c.version),
            key,
            log,
        })
    }
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn outbox_message(
        &self,
        transfer: &TransferId,
        id: &str,
    ) -> Result<Option<Versioned<OutboxMessage>>, StoreError>;
    /// Every message of a transfer, oldest first.
    async fn outbox_messages(
        &self,
        transfer: &TransferId,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Messages not settled whose [`OutboxMessage::retry_at`] has come: pending ones the
    /// stream never delivered, claims whose dispatcher died. At most `limit`.
    async fn unsent(
        &self,
        now: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(TransferId, String)>, StoreError>;
    /// Drops a message from the unsent index (superseded, or found sent or gone).
    async fn settle_outbox(&self, transfer: &TransferId, id: &str) -> Result<(), StoreError>;
    /// The transfer and id of the message the provider took under `provider_id`, while the
    /// message is kept (its reports find it this way).
    async fn sent_message(
        &self,
        provider_id: &str,
    ) -> Result<Option<(TransferId, String)>, StoreError>;
    /// Replaces a message unchanged since read (version `before`) and, when given, the
    /// challenge whose delivery it reports, unchanged since its read too. The unsent index
    /// follows the message's status.
    async fn update_outbox(
        &self,
        before: u64,
        message: &OutboxMessage,
        challenge: Option<&Versioned<Challenge>>,
    ) -> Result<(), StoreError>;
}

/// The mail platform's command queue: an SQS FIFO queue in AWS (one message group per
/// mailbox or domain, deduplicated by command id), the local gateway's stand-in locally.
#[async_trait]
pub trait Platform: Send + Sync {
    async fn deliver(&self, command: &crate::platform::Command) -> Result<(), String>;
}

/// The bus other consumers read the service's domain events on: EventBridge in AWS, a list
/// at `/dev/events` locally.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, event: &crate::events::TransferEnded) -> Result<(), String>;
}

/// The replica of the provider's inventory (docs/rules.md, "The inventory").
#[async_trait]
pub trait InventoryWriter: Send + Sync {
    /// Applies one message under the version rule: reads what the replica holds for its
    /// entity and, when the message is newer, writes it conditionally on what was read (a
    /// concurrent write makes it [`StoreError::Conflict`]: read and apply again).
    async fn apply_inventory(
        &self,
        message: &crate::inventory::InventoryMessage,
    ) -> Result<crate::inventory::Verdict, StoreError>;

    /// Applies many messages, as a bulk load does: one read of them all, the entities the
    /// table has never held written together without conditions, the others as
    /// [`InventoryWriter::apply_inventory`] does; each message's verdict, in order. Within the
    /// batch only each entity's newest message counts. Not for messages of entities someone
    /// else may be writing at the same time (docs/rules.md, "The inventory"). The accounts in
    /// `without_removals` hold no tombstone (the caller checked, and writes the only
    /// removals): theirs are not read.
    async fn apply_inventory_batch(
        &self,
        messages: &[crate::inventory::InventoryMessage],
        without_removals: &std::collections::HashSet<AccountId>,
    ) -> Result<Vec<crate::inventory::Verdict>, StoreError>;

    /// Whether the account holds any tombstone of a removed mailbox or domain.
    async fn has_removals(&self, account: &AccountId) -> Result<bool, StoreError>;
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
    + TransferWriter
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
        + TransferWriter
        + ChallengeStore
        + OutboxStore
        + Fixtures
{
}
