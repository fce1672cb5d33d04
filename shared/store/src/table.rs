//! The domain's store ports, implemented once over any [`ItemBackend`].

use crate::backend::{BackendError, Condition, Item, ItemBackend, Query, Write};
use crate::keys::*;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use titolare_domain::ports::*;
use titolare_domain::search::SearchIndex;
use titolare_domain::values::EmailAddress;
use titolare_domain::*;

/// Rows read per backend call when a search must filter a whole index range.
const FILTER_BATCH: usize = 500;

#[derive(Clone)]
pub struct TableStore {
    backend: Arc<dyn ItemBackend>,
    clock: Arc<dyn Clock>,
}

impl TableStore {
    pub fn new(backend: Arc<dyn ItemBackend>, clock: Arc<dyn Clock>) -> Self {
        Self { backend, clock }
    }

    pub fn backend(&self) -> &Arc<dyn ItemBackend> {
        &self.backend
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock_now().as_second()
    }

    pub(crate) fn clock_now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub(crate) async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.backend
            .get(pk, sk, self.now())
            .await
            .map_err(store_error)
    }

    /// Every live item of a partition under a prefix (small partitions only).
    pub(crate) async fn query_all(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        loop {
            let query = Query {
                pk: pk.to_owned(),
                sk_prefix: prefix.to_owned(),
                start_after: items.last().map(|i: &Item| i.sk.clone()),
                limit: 100,
                forward: true,
            };
            let page = self
                .backend
                .query(&query, self.now())
                .await
                .map_err(store_error)?;
            let done = page.items.len() < 100;
            items.extend(page.items);
            if done {
                return Ok(items);
            }
        }
    }

    pub(crate) async fn get_as<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        match self
            .backend
            .get(pk, sk, self.now())
            .await
            .map_err(store_error)?
        {
            Some(item) => Ok(Some((decode(&item)?, item.version))),
            None => Ok(None),
        }
    }

    /// One page of a partition's items under a prefix, decoded, with an opaque cursor.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
        page: &PageRequest,
        forward: bool,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let mut start_after = decode_cursor(page.cursor.as_deref(), prefix)?;
        let mut items = Vec::new();
        let mut last_sk = None;
        loop {
            let batch = page.size + 1 - items.len();
            let query = Query {
                pk: pk.clone(),
                sk_prefix: prefix.to_owned(),
                start_after: start_after.clone(),
                limit: batch,
                forward,
            };
            let result = self
                .backend
                .query(&query, self.now())
                .await
                .map_err(store_error)?;
            let exhausted = result.items.len() < batch;
            for item in &result.items {
                let value: T = decode(item)?;
                if keep(&value) {
                    if items.len() == page.size {
                        return Ok(Page {
                            items,
                            total: None,
                            next_cursor: last_sk.map(|sk: String| encode_cursor(&sk)),
                        });
                    }
                    items.push(value);
                    last_sk = Some(item.sk.clone());
                }
            }
            match result.items.last() {
                Some(last) if !exhausted => start_after = Some(last.sk.clone()),
                _ => {
                    return Ok(Page {
                        items,
                        total: None,
                        next_cursor: None,
                    });
                }
            }
        }
    }

    pub(crate) fn holder_writes(
        account: &AccountId,
        holder: &Holder,
        version: u64,
        condition: Condition,
    ) -> Result<Vec<Write>, StoreError> {
        let mut item = Item::new(
            account_pk(account),
            holder_sk(&holder.id),
            "holder",
            encode(holder)?,
        );
        item.version = version;
        let mut writes = vec![Write::put(item, condition)];
        let summary = HolderSummary::from(holder);
        let data = encode(&summary)?;
        for (index, key) in SearchIndex::keys(&summary) {
            writes.push(Write::put(
                Item::new(index_pk(account, index), key, "holder_index", data.clone()),
                Condition::Always,
            ));
        }
        Ok(writes)
    }

    async fn search_range(
        &self,
        account: &AccountId,
        query: &HolderQuery,
        page: &PageRequest,
    ) -> Result<Page<HolderSummary>, StoreError> {
        let Some((index, prefix)) = query.driving_index() else {
            return Ok(Page {
                items: vec![],
                total: Some(0),
                next_cursor: None,
            });
        };
        let pk = index_pk(account, index);
        let now = self.now();
        // A ragione sociale is indexed under several of its words: one holder may own
        // several keys of a range, so the range is read whole and each holder kept once.
        let one_key_each = index != SearchIndex::RagioneSociale;
        if query.criteria_count() == 1 && one_key_each {
            // Every row of the range matches: count it, and read just one page.
            let total = self
                .backend
                .count(&pk, &prefix, now)
                .await
                .map_err(store_error)?
                .live;
            let mut result = self
                .list::<HolderSummary>(pk, &prefix, page, true, |_| true)
                .await?;
            result.total = Some(total);
            return Ok(result);
        }
        // Other criteria filter the range, so the total needs all of it read.
        let start_after = decode_cursor(page.cursor.as_deref(), &prefix)?;
        let mut matches: Vec<(String, HolderSummary)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut from = None;
        loop {
            let q = Query {
                pk: pk.clone(),
                sk_prefix: prefix.clone(),
                start_after: from.clone(),
                limit: FILTER_BATCH,
                forward: true,
            };
            let result = self.backend.query(&q, now).await.map_err(store_error)?;
            for item in &result.items {
                let summary: HolderSummary = decode(item)?;
                if query.matches(&summary) && seen.insert(summary.id.clone()) {
                    matches.push((item.sk.clone(), summary));
                }
            }
            match result.items.last() {
                Some(last) if result.items.len() == FILTER_BATCH => from = Some(last.sk.clone()),
                _ => break,
            }
        }
        let total = matches.len() as u64;
        let mut rest = matches
            .into_iter()
            .filter(|(sk, _)| start_after.as_ref().is_none_or(|s| sk > s))
            .peekable();
        let mut items = Vec::new();
        let mut last = None;
        while items.len() < page.size {
            let Some((sk, summary)) = rest.next() else {
                break;
            };
            items.push(summary);
            last = Some(sk);
        }
        let next_cursor = rest.peek().and(last).map(|sk| encode_cursor(&sk));
        Ok(Page {
            items,
            total: Some(total),
            next_cursor,
        })
    }

    pub(crate) async fn transact(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.backend
            .transact(writes, self.now())
            .await
            .map_err(store_error)
    }
}

pub(crate) fn store_error(e: BackendError) -> StoreError {
    match e {
        BackendError::ConditionFailed { .. } | BackendError::Conflict => StoreError::Conflict,
        BackendError::Unavailable(m) | BackendError::Invalid(m) => StoreError::Unavailable(m),
        BackendError::Corrupt(m) => StoreError::Corrupt(m),
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    // The key and the serde message may hold personal data (an address, a code): name the kind only.
    serde_json::from_value(item.data.clone()).map_err(|e| {
        StoreError::Corrupt(format!(
            "a {} item does not parse ({:?} error)",
            item.kind,
            e.classify()
        ))
    })
}

fn encode_cursor(sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(sk)
}

/// A cursor is the sort key a page ended at; one from another listing is refused.
fn decode_cursor(cursor: Option<&str>, prefix: &str) -> Result<Option<String>, StoreError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let sk = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|sk| sk.starts_with(prefix))
        .ok_or(StoreError::InvalidCursor)?;
    Ok(Some(sk))
}

pub(crate) fn operation_write(
    account: &AccountId,
    operation: &Operation,
) -> Result<Write, StoreError> {
    let item = Item::new(
        operations_pk(account),
        operation_sk(operation.at, &operation.id),
        "operation",
        encode(operation)?,
    );
    Ok(Write::put(item, Condition::Absent))
}

/// Keeps a write's answer under its Idempotency-Key, in the write's own transaction.
pub(crate) fn idempotency_write(
    scope: &IdempotencyScope,
    response: &IdempotentResponse,
) -> Result<Write, StoreError> {
    let (pk, sk) = idempotency_key(scope, &response.key);
    let mut item = Item::new(pk, sk, "idempotency", encode(response)?);
    item.expires_at = Some(response.expires_at.as_second());
    Ok(Write::put(item, Condition::Absent))
}

#[async_trait]
impl HolderReader for TableStore {
    async fn holder(
        &self,
        account: &AccountId,
        id: &HolderId,
    ) -> Result<Option<Versioned<Holder>>, StoreError> {
        Ok(self
            .get_as(&account_pk(account), &holder_sk(id))
            .await?
            .map(|(value, version)| Versioned { value, version }))
    }
}

#[async_trait]
impl HolderSearch for TableStore {
    async fn search_holders(
        &self,
        account: &AccountId,
        query: &HolderQuery,
        page: &PageRequest,
    ) -> Result<Page<HolderSummary>, StoreError> {
        let mut query = query.clone();
        if let Some(address) = query.mailbox.take() {
            match self.mailbox(account, &address).await? {
                Some(m) if query.id.as_ref().is_none_or(|id| *id == m.holder_id) => {
                    query.id = Some(m.holder_id)
                }
                _ => {
                    return Ok(Page {
                        items: vec![],
                        total: Some(0),
                        next_cursor: None,
                    });
                }
            }
        }
        if let Some(id) = &query.id {
            if page.cursor.is_some() {
                return Err(StoreError::InvalidCursor);
            }
            let found = self
                .holder(account, id)
                .await?
                .map(|h| HolderSummary::from(&h.value))
                .filter(|s| query.matches(s));
            let total = u64::from(found.is_some());
            return Ok(Page {
                items: found.into_iter().collect(),
                total: Some(total),
                next_cursor: None,
            });
        }
        self.search_range(account, &query, page).await
    }
}

#[async_trait]
impl HolderWriter for TableStore {
    async fn next_holder_id(&self) -> Result<HolderId, StoreError> {
        // Seeded ids stay below a million; new ones start above them.
        let n = self
            .backend
            .next_sequence("holder")
            .await
            .map_err(store_error)?;
        Ok(HolderId::from_number(1_000_000 + n))
    }

    async fn insert_holder(
        &self,
        account: &AccountId,
        holder: &Holder,
        operation: &Operation,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError> {
        let mut writes = Self::holder_writes(account, holder, 1, Condition::Absent)?;
        writes.push(operation_write(account, operation)?);
        if let Some(response) = idempotent {
            writes.push(idempotency_write(
                &IdempotencyScope::Account(account.clone()),
                response,
            )?);
        }
        self.transact(&writes).await
    }

    async fn update_holder(
        &self,
        account: &AccountId,
        before: &Versioned<Holder>,
        after: &Holder,
        operation: &Operation,
    ) -> Result<(), StoreError> {
        let mut writes = Self::holder_writes(
            account,
            after,
            before.version + 1,
            Condition::Version(before.version),
        )?;
        let kept: Vec<_> = SearchIndex::keys(&HolderSummary::from(after));
        for (index, key) in SearchIndex::keys(&HolderSummary::from(&before.value)) {
            if !kept.contains(&(index, key.clone())) {
                writes.push(Write::Delete {
                    pk: index_pk(account, index),
                    sk: key,
                    condition: Condition::Always,
                });
            }
        }
        writes.push(operation_write(account, operation)?);
        self.transact(&writes).await
    }
}

#[async_trait]
impl IdempotencyReader for TableStore {
    async fn idempotent_response(
        &self,
        scope: &IdempotencyScope,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        let (pk, sk) = idempotency_key(scope, key);
        Ok(self.get_as(&pk, &sk).await?.map(|(v, _)| v))
    }
}

#[async_trait]
impl MailboxReader for TableStore {
    async fn mailbox(
        &self,
        account: &AccountId,
        address: &EmailAddress,
    ) -> Result<Option<Mailbox>, StoreError> {
        Ok(self
            .get_as(&account_pk(account), &mailbox_sk(address.as_str()))
            .await?
            .map(|(v, _)| v))
    }

    async fn mailboxes(
        &self,
        account: &AccountId,
        filter: &ItemFilter,
        page: &PageRequest,
    ) -> Result<Page<Mailbox>, StoreError> {
        let prefix = format!("{MAILBOX_PREFIX}{}", filter.prefix.as_deref().unwrap_or(""));
        self.list(account_pk(account), &prefix, page, true, |m: &Mailbox| {
            filter.keeps(&m.holder_id)
        })
        .await
    }
}

#[async_trait]
impl DomainReader for TableStore {
    async fn domain(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<CertifiedDomain>, StoreError> {
        Ok(self
            .get_as(&account_pk(account), &domain_sk(name))
            .await?
            .map(|(v, _)| v))
    }

    async fn domains(
        &self,
        account: &AccountId,
        filter: &ItemFilter,
        page: &PageRequest,
    ) -> Result<Page<CertifiedDomain>, StoreError> {
        let prefix = format!("{DOMAIN_PREFIX}{}", filter.prefix.as_deref().unwrap_or(""));
        self.list(
            account_pk(account),
            &prefix,
            page,
            true,
            |d: &CertifiedDomain| filter.keeps(&d.holder_id),
        )
        .await
    }
}

#[async_trait]
impl OperationReader for TableStore {
    async fn operations(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Operation>, StoreError> {
        self.list(operations_pk(account), "", page, false, |_| true)
            .await
    }
}

#[async_trait]
impl AccountReader for TableStore {
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self
            .get_as(&account_pk(id), ACCOUNT_SK)
            .await?
            .map(|(v, _)| v))
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let Some((id, _)) = self
            .get_as::<AccountId>(&username_pk(username), USER_SK)
            .await?
        else {
            return Ok(None);
        };
        self.account(&id).await
    }
}
