//! The single-table key design. Every key of an account's data starts with its account id,
//! so no read can cross accounts.

use titolare_domain::{AccountId, HolderId, SearchIndex};

pub fn account_pk(account: &AccountId) -> String {
    format!("ACC#{}", account.as_str())
}

pub const ACCOUNT_SK: &str = "ACCOUNT";
pub const HOLDER_PREFIX: &str = "HOLDER#";
pub const MAILBOX_PREFIX: &str = "MAILBOX#";
pub const DOMAIN_PREFIX: &str = "DOMAIN#";
pub const IDEMPOTENCY_PREFIX: &str = "IDEM#";
pub const SEQUENCE_PK: &str = "SEQ";

pub fn holder_sk(id: &HolderId) -> String {
    format!("{HOLDER_PREFIX}{}", id.as_str())
}

/// Partition of one search index of an account; sort keys are "<value>#<holder id>".
pub fn index_pk(account: &AccountId, index: SearchIndex) -> String {
    format!("ACC#{}#HIX#{}", account.as_str(), index.as_str())
}

pub fn mailbox_sk(address: &str) -> String {
    format!("{MAILBOX_PREFIX}{}", address.to_lowercase())
}

pub fn domain_sk(name: &str) -> String {
    format!("{DOMAIN_PREFIX}{}", name.to_lowercase())
}

/// Where a removal of the inventory leaves its tombstone: the source version it was removed
/// at, so an older upsert cannot bring the mailbox or domain back.
pub fn removed_sk(entity_sk: &str) -> String {
    format!("{REMOVED_PREFIX}{entity_sk}")
}

pub const REMOVED_PREFIX: &str = "REMOVED#";

/// The account and item an inventory item's keys name (a mailbox, a domain or the tombstone
/// of either), as the stream hands them over; `None` for any other item.
pub fn inventory_item(
    pk: &str,
    sk: &str,
) -> Option<(AccountId, titolare_domain::transfer::ItemRef)> {
    use titolare_domain::transfer::{ItemKind, ItemRef};
    let account = AccountId::parse(pk.strip_prefix("ACC#")?).ok()?;
    let sk = sk.strip_prefix(REMOVED_PREFIX).unwrap_or(sk);
    let item = if let Some(address) = sk.strip_prefix(MAILBOX_PREFIX) {
        ItemRef::parse(ItemKind::Mailbox, address).ok()?
    } else {
        ItemRef::parse(ItemKind::Domain, sk.strip_prefix(DOMAIN_PREFIX)?).ok()?
    };
    Some((account, item))
}
pub const REMOVED_KIND: &str = "inventory_removed";

pub fn idempotency_sk(key: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{key}")
}

/// Partition of an account's operations log, sorted by time.
pub fn operations_pk(account: &AccountId) -> String {
    format!("ACC#{}#OPS", account.as_str())
}

pub fn operation_sk(at: jiff::Timestamp, id: &str) -> String {
    format!("{:020}#{id}", at.as_microsecond())
}

/// Partition of one change-of-holder request: the request, its challenges, its outbox.
/// Holders reach it through their link token, which names the request but not the account.
pub fn transfer_pk(id: &titolare_domain::transfer::TransferId) -> String {
    format!("TRANSFER#{}", id.as_str())
}

pub const TRANSFER_SK: &str = "TRANSFER";
pub const OUTBOX_PREFIX: &str = "OUTBOX#";
/// The item kind the dispatcher's stream filter selects.
pub const OUTBOX_KIND: &str = "outbox";

pub fn challenge_sk(
    party: titolare_domain::otp::Party,
    channel: titolare_domain::otp::Channel,
) -> String {
    format!("CHALLENGE#{}#{}", party.as_str(), channel.as_str())
}

pub fn outbox_sk(message_id: &str) -> String {
    format!("{OUTBOX_PREFIX}{message_id}")
}

/// The lock that keeps an item in one request at a time (global: addresses and domain
/// names are unique). Its version is the owning request's number.
pub fn lock_pk(item: &titolare_domain::transfer::ItemRef) -> String {
    format!("LOCK#{}#{}", item.kind.as_str(), item.id)
}

pub const LOCK_SK: &str = "LOCK";

/// The index by deadline of running requests: one partition, sorted by deadline.
pub const DUE_PK: &str = "DUE";

pub fn due_sk(deadline: jiff::Timestamp, id: &titolare_domain::transfer::TransferId) -> String {
    format!("{:012}#{}", deadline.as_second(), id.as_str())
}

/// The index of outbox messages not yet settled (sent or failed), for the sweep that
/// sends what a lost stream delivery or a dead dispatcher left behind. One item each,
/// with the time it is due in its data.
/// A message a provider took, by the provider's id: where its reports go (docs/rules.md,
/// "Delivery"). The id is the provider's, never an address or a number.
pub fn sent_pk(provider_id: &str) -> String {
    format!("SENT#{provider_id}")
}
pub const SENT_SK: &str = "SENT";
pub const SENT_KIND: &str = "outbox_sent";

/// Support's index of transfers by item and by holder's codice fiscale or partita IVA
/// (`titolare_domain::support`); the sort key orders transfers by number.
pub fn support_pk(key: &str) -> String {
    format!("SUPPORT#{key}")
}
pub fn support_sk(id: &titolare_domain::transfer::TransferId) -> String {
    format!("{:0>20}", id.as_str())
}
pub const SUPPORT_KIND: &str = "support_lookup";

pub const UNSENT_PK: &str = "UNSENT";
pub const UNSENT_KIND: &str = "outbox_unsent";

pub fn unsent_sk(transfer: &titolare_domain::transfer::TransferId, message_id: &str) -> String {
    format!("{}#{message_id}", transfer.as_str())
}

/// The send log of a limit across requests: SMS per number or per account, emails per account.
pub fn quota_pk(key: &titolare_domain::quota::QuotaKey) -> String {
    use titolare_domain::quota::QuotaKey as Q;
    match key {
        Q::SmsTo(number) => format!("QUOTA#sms-to#{number}"),
        Q::SmsFor(account) => format!("QUOTA#sms-for#{}", account.as_str()),
        Q::EmailFor(account) => format!("QUOTA#email-for#{}", account.as_str()),
    }
}

pub const QUOTA_SK: &str = "QUOTA";

/// An account's list of requests, newest first by number.
pub fn transfers_pk(account: &AccountId) -> String {
    format!("ACC#{}#TRANSFERS", account.as_str())
}

pub fn transfer_list_sk(id: &titolare_domain::transfer::TransferId) -> String {
    format!("{:020}", id.as_str().parse::<u64>().unwrap_or(0))
}

/// Written once by whichever ending comes first (step, expirer or TTL backstop).
pub const OUTCOME_SK: &str = "OUTCOME";

pub fn username_pk(username: &str) -> String {
    format!("USER#{}", username.to_lowercase())
}

pub const USER_SK: &str = "USER";

pub fn idempotency_key(
    scope: &titolare_domain::ports::IdempotencyScope,
    key: &str,
) -> (String, String) {
    use titolare_domain::ports::IdempotencyScope as S;
    match scope {
        S::Account(account) => (account_pk(account), idempotency_sk(key)),
        S::Party(transfer, party) => (
            transfer_pk(transfer),
            format!("{IDEMPOTENCY_PREFIX}{}#{key}", party.as_str()),
        ),
        S::Mailbox(address) => (
            format!("RESET#{}", address.as_str().to_lowercase()),
            idempotency_sk(key),
        ),
    }
}
