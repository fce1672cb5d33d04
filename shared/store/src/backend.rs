//! The item-level port both stores implement: DynamoDB's data model reduced to what
//! Titolare uses. Ordered (pk, sk) keys, prefix queries, all-or-nothing conditional
//! transactions, and an expiry time that reads honour to the second.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The DynamoDB TTL attribute: epoch seconds after which the item no longer exists.
pub const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// What the item is ("holder", "holder_index", …), for readers of the raw table.
    pub kind: String,
    /// Bumped by every conditional update of the item.
    #[serde(default)]
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub data: serde_json::Value,
}

impl Item {
    pub fn new(
        pk: impl Into<String>,
        sk: impl Into<String>,
        kind: &str,
        data: serde_json::Value,
    ) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            kind: kind.to_owned(),
            version: 0,
            expires_at: None,
            data,
        }
    }

    /// An item whose expiry has come is gone, whether or not its store has deleted it yet.
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

/// What must hold of the live item at a key for a write to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// No live item (missing or expired).
    Absent,
    /// A live item.
    Present,
    /// A live item at this version.
    Version(u64),
    /// An item at this version, live or past its expiry but not yet deleted.
    StoredVersion(u64),
}

impl Condition {
    /// Whether the condition holds for `current`, the item at the key (live or not).
    pub fn holds(self, current: Option<&Item>, now: i64) -> bool {
        let live = current.filter(|i| i.is_live(now));
        match self {
            Self::Always => true,
            Self::Absent => live.is_none(),
            Self::Present => live.is_some(),
            Self::Version(v) => live.is_some_and(|i| i.version == v),
            Self::StoredVersion(v) => current.is_some_and(|i| i.version == v),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl Write {
    pub fn put(item: Item, condition: Condition) -> Self {
        Self::Put { item, condition }
    }

    pub fn key(&self) -> (&str, &str) {
        match self {
            Self::Put { item, .. } => (&item.pk, &item.sk),
            Self::Delete { pk, sk, .. } | Self::Check { pk, sk, .. } => (pk, sk),
        }
    }

    pub fn condition(&self) -> Condition {
        match self {
            Self::Put { condition, .. }
            | Self::Delete { condition, .. }
            | Self::Check { condition, .. } => *condition,
        }
    }
}

/// Live items of one partition whose sort key starts with `sk_prefix`, in sort-key order
/// (or reverse), strictly after `start_after`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub pk: String,
    pub sk_prefix: String,
    pub start_after: Option<String>,
    pub limit: usize,
    pub forward: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryPage {
    pub items: Vec<Item>,
    /// Items the store read to answer, expired ones included (DynamoDB's ScannedCount).
    pub scanned: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub live: u64,
    pub scanned: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The condition of write number `index` did not hold; nothing was written.
    #[error("condition of write {index} failed")]
    ConditionFailed { index: usize },
    /// Another transaction touched the same items at the same time; nothing was written.
    #[error("transaction conflict")]
    Conflict,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("unreadable item: {0}")]
    Corrupt(String),
    #[error("invalid request to the store: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait ItemBackend: Send + Sync {
    /// The live item at a key.
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError>;
    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError>;
    /// How many live items `query` would return without a limit.
    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError>;
    /// Applies every write or none (at most 100, each key once).
    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError>;
    /// The next value of a named counter, starting at 1.
    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError>;

    /// The live items at many keys, in no order (a missing key has none). DynamoDB's
    /// BatchGetItem; for bulk loads, which read what they are about to write.
    async fn get_many(
        &self,
        keys: &[(String, String)],
        now: i64,
    ) -> Result<Vec<Item>, BackendError> {
        let mut items = Vec::new();
        for (pk, sk) in keys {
            items.extend(self.get(pk, sk, now).await?);
        }
        Ok(items)
    }

    /// Puts items unconditionally and not as one transaction (DynamoDB's BatchWriteItem):
    /// only for bulk loads into keys they have just read absent; state changes go through
    /// [`ItemBackend::transact`].
    async fn put_many(&self, items: &[Item], now: i64) -> Result<(), BackendError> {
        for chunk in items.chunks(100) {
            let writes: Vec<Write> = chunk
                .iter()
                .map(|i| Write::put(i.clone(), Condition::Always))
                .collect();
            self.transact(&writes, now).await?;
        }
        Ok(())
    }
}

/// DynamoDB's largest item, names and values together.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An item's size as DynamoDB counts it (attribute names plus values: strings by their
/// UTF-8 length, numbers at most 21 bytes, 1 byte for a boolean or null, 3 bytes plus
/// 1 per element for a list or map). Numbers are counted at their largest, so the estimate
/// never falls short of DynamoDB's.
pub fn item_size(item: &Item) -> usize {
    fn value(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Null | serde_json::Value::Bool(_) => 1,
            serde_json::Value::Number(_) => 21,
            serde_json::Value::String(s) => s.len(),
            serde_json::Value::Array(a) => 3 + a.iter().map(|e| 1 + value(e)).sum::<usize>(),
            serde_json::Value::Object(m) => {
                3 + m.iter().map(|(k, e)| 1 + k.len() + value(e)).sum::<usize>()
            }
        }
    }
    let number = |name: &str| name.len() + 21;
    "pk".len()
        + item.pk.len()
        + "sk".len()
        + item.sk.len()
        + "kind".len()
        + item.kind.len()
        + number("version")
        + item.expires_at.map_or(0, |_| number(TTL_ATTRIBUTE))
        + "data".len()
        + value(&item.data)
}

/// DynamoDB's longest partition and sort key values, in UTF-8 bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// Refuses a key DynamoDB would refuse, so the embedded store does too (values that become
/// keys are bounded where they are parsed; this is the backstop both stores share).
pub fn validate_key(pk: &str, sk: &str) -> Result<(), BackendError> {
    if pk.is_empty() || pk.len() > MAX_PARTITION_KEY_BYTES || sk.len() > MAX_SORT_KEY_BYTES {
        return Err(BackendError::Invalid(format!(
            "key of {} + {} bytes outside DynamoDB's limits",
            pk.len(),
            sk.len()
        )));
    }
    Ok(())
}

/// Checks what both backends refuse the same way (DynamoDB refuses the same too).
pub fn validate_writes(writes: &[Write]) -> Result<(), BackendError> {
    if writes.is_empty() || writes.len() > 100 {
        return Err(BackendError::Invalid(format!(
            "{} writes in one transaction",
            writes.len()
        )));
    }
    for write in writes {
        let (pk, sk) = write.key();
        validate_key(pk, sk)?;
        if let Write::Put { item, .. } = write {
            let size = item_size(item);
            if size > MAX_ITEM_BYTES {
                return Err(BackendError::Invalid(format!(
                    "a {} item of {size} bytes is over the 400 KB item limit",
                    item.kind
                )));
            }
        }
    }
    let mut keys: Vec<_> = writes.iter().map(Write::key).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(BackendError::Invalid(
            "one key written twice in a transaction".into(),
        ));
    }
    Ok(())
}
