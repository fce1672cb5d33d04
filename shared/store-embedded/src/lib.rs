//! The embedded store: Titolare's items in one redb database file. redb gives what the
//! single-table model needs (ordered composite keys, range scans, serialisable multi-key
//! write transactions, readers that never block the writer) in pure Rust.

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;
use titolare_store::backend::{validate_key, validate_writes};
use titolare_store::{BackendError, Count, Item, ItemBackend, Query, QueryPage, Write};

/// (pk, sk) → (expires_at or i64::MAX, item as JSON). The expiry sits outside the JSON so
/// counting a range does not parse items.
const ITEMS: TableDefinition<(&str, &str), (i64, &[u8])> = TableDefinition::new("items");
const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences");
const NO_EXPIRY: i64 = i64::MAX;

type ItemsTable = redb::ReadOnlyTable<(&'static str, &'static str), (i64, &'static [u8])>;
type Entry<'a> = Result<
    (
        redb::AccessGuard<'a, (&'static str, &'static str)>,
        redb::AccessGuard<'a, (i64, &'static [u8])>,
    ),
    redb::StorageError,
>;

#[derive(Clone)]
pub struct EmbeddedBackend {
    db: Arc<Database>,
    /// Off only for bulk loads (benchmarks): commits then reach the disk with the next durable one.
    durable: bool,
}

impl EmbeddedBackend {
    /// Opens the database file, creating it and its tables if needed.
    pub fn open(path: &Path) -> Result<Self, BackendError> {
        Self::open_with_cache(path, None)
    }

    /// Opens it with a page cache of at most `cache_bytes` (redb's default otherwise, up to
    /// 1 GiB): a bulk load that must stay small in memory names one.
    pub fn open_with_cache(path: &Path, cache_bytes: Option<usize>) -> Result<Self, BackendError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let mut builder = Database::builder();
        if let Some(bytes) = cache_bytes {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(path).map_err(unavailable)?;
        let tx = db.begin_write().map_err(unavailable)?;
        tx.open_table(ITEMS).map_err(unavailable)?;
        tx.open_table(SEQUENCES).map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(Self {
            db: Arc::new(db),
            durable: true,
        })
    }

    /// The same store, committing without waiting for the disk: for bulk loads only.
    /// `flush` makes everything written so far durable.
    pub fn bulk_loader(&self) -> Self {
        Self {
            db: self.db.clone(),
            durable: false,
        }
    }

    /// One durable commit, which also persists every non-durable one before it.
    pub fn flush(&self) -> Result<(), BackendError> {
        let tx = self.db.begin_write().map_err(unavailable)?;
        tx.commit().map_err(unavailable)
    }

    /// Every item as stored, expired ones included, and every sequence (as
    /// `{"pk": "SEQ", "sk": name, "seq": n}`), in key order: what fault tests compare.
    pub fn dump(&self) -> Result<Vec<serde_json::Value>, BackendError> {
        let tx = self.db.begin_read().map_err(unavailable)?;
        let mut all = Vec::new();
        let items = tx.open_table(ITEMS).map_err(unavailable)?;
        for entry in items.iter().map_err(unavailable)? {
            let (_, value) = entry.map_err(unavailable)?;
            all.push(
                serde_json::from_slice(value.value().1)
                    .map_err(|e| BackendError::Corrupt(e.to_string()))?,
            );
        }
        let sequences = tx.open_table(SEQUENCES).map_err(unavailable)?;
        for entry in sequences.iter().map_err(unavailable)? {
            let (name, value) = entry.map_err(unavailable)?;
            all.push(serde_json::json!({
                "pk": titolare_store::keys::SEQUENCE_PK, "sk": name.value(), "seq": value.value()
            }));
        }
        Ok(all)
    }

    fn read_items<T>(
        &self,
        f: impl FnOnce(&ItemsTable) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let tx = self.db.begin_read().map_err(unavailable)?;
        let table = tx.open_table(ITEMS).map_err(unavailable)?;
        f(&table)
    }

    fn put_blocking(&self, items: &[Item]) -> Result<(), BackendError> {
        let mut tx = self.db.begin_write().map_err(unavailable)?;
        if !self.durable {
            tx.set_durability(redb::Durability::None)
                .map_err(unavailable)?;
        }
        {
            let mut table = tx.open_table(ITEMS).map_err(unavailable)?;
            for item in items {
                validate_key(&item.pk, &item.sk)?;
                let json =
                    serde_json::to_vec(item).map_err(|e| BackendError::Corrupt(e.to_string()))?;
                table
                    .insert(
                        (item.pk.as_str(), item.sk.as_str()),
                        (item.expires_at.unwrap_or(NO_EXPIRY), json.as_slice()),
                    )
                    .map_err(unavailable)?;
            }
        }
        tx.commit().map_err(unavailable)
    }

    fn write_blocking(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        validate_writes(writes)?;
        let mut tx = self.db.begin_write().map_err(unavailable)?;
        if !self.durable {
            tx.set_durability(redb::Durability::None)
                .map_err(unavailable)?;
        }
        {
            let mut table = tx.open_table(ITEMS).map_err(unavailable)?;
            for (index, write) in writes.iter().enumerate() {
                let (pk, sk) = write.key();
                let current = match table.get((pk, sk)).map_err(unavailable)? {
                    Some(guard) => Some(decode(guard.value().1)?),
                    None => None,
                };
                if !write.condition().holds(current.as_ref(), now) {
                    // Dropping the transaction uncommitted discards the earlier writes.
                    return Err(BackendError::ConditionFailed { index });
                }
                match write {
                    Write::Put { item, .. } => {
                        let json = serde_json::to_vec(item)
                            .map_err(|e| BackendError::Corrupt(e.to_string()))?;
                        table
                            .insert(
                                (pk, sk),
                                (item.expires_at.unwrap_or(NO_EXPIRY), json.as_slice()),
                            )
                            .map_err(unavailable)?;
                    }
                    Write::Delete { .. } => {
                        table.remove((pk, sk)).map_err(unavailable)?;
                    }
                    Write::Check { .. } => {}
                }
            }
        }
        tx.commit().map_err(unavailable)?;
        Ok(())
    }
}

fn unavailable(e: impl std::fmt::Display) -> BackendError {
    BackendError::Unavailable(e.to_string())
}

fn decode(bytes: &[u8]) -> Result<Item, BackendError> {
    // serde's message may quote a value; keep personal data out of errors and logs.
    serde_json::from_slice(bytes).map_err(|e| {
        BackendError::Corrupt(format!("item does not parse ({:?} error)", e.classify()))
    })
}

/// Visits the entries of one partition under a prefix, in order, strictly after `after`,
/// until `visit` says stop.
fn scan(
    table: &ItemsTable,
    pk: &str,
    prefix: &str,
    after: Option<&str>,
    forward: bool,
    mut visit: impl FnMut(&str, i64, &[u8]) -> Result<bool, BackendError>,
) -> Result<(), BackendError> {
    // Reverse scans start at the cursor, or just past the last key of the prefix.
    let (upper_pk, upper_sk) = match (after, prefix.is_empty()) {
        (Some(a), _) => (pk.to_owned(), a.to_owned()),
        (None, true) => (format!("{pk}\0"), String::new()),
        (None, false) => (pk.to_owned(), format!("{prefix}\u{10FFFF}")),
    };
    let range = if forward {
        table.range((pk, after.unwrap_or(prefix))..)
    } else {
        table.range(..(upper_pk.as_str(), upper_sk.as_str()))
    }
    .map_err(unavailable)?;
    let mut step = |entry: Entry<'_>| -> Result<bool, BackendError> {
        let (key, value) = entry.map_err(unavailable)?;
        let (k_pk, k_sk) = key.value();
        if k_pk != pk || !k_sk.starts_with(prefix) {
            return Ok(false);
        }
        if after.is_some_and(|a| k_sk == a) {
            return Ok(true);
        }
        let (expires_at, bytes) = value.value();
        visit(k_sk, expires_at, bytes)
    };
    if forward {
        for entry in range {
            if !step(entry)? {
                break;
            }
        }
    } else {
        for entry in range.rev() {
            if !step(entry)? {
                break;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ItemBackend for EmbeddedBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        validate_key(pk, sk)?;
        self.read_items(|table| match table.get((pk, sk)).map_err(unavailable)? {
            Some(guard) if guard.value().0 > now => decode(guard.value().1).map(Some),
            _ => Ok(None),
        })
    }

    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        validate_key(&query.pk, &query.sk_prefix)?;
        self.read_items(|table| {
            let mut page = QueryPage::default();
            if query.limit == 0 {
                return Ok(page);
            }
            scan(
                table,
                &query.pk,
                &query.sk_prefix,
                query.start_after.as_deref(),
                query.forward,
                |_, expires_at, bytes| {
                    page.scanned += 1;
                    if expires_at > now {
                        page.items.push(decode(bytes)?);
                    }
                    Ok(page.items.len() < query.limit)
                },
            )?;
            Ok(page)
        })
    }

    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        self.read_items(|table| {
            let mut count = Count::default();
            scan(table, pk, sk_prefix, None, true, |_, expires_at, _| {
                count.scanned += 1;
                count.live += u64::from(expires_at > now);
                Ok(true)
            })?;
            Ok(count)
        })
    }

    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        // A commit waits for the disk; keep it off the async workers.
        let (this, writes) = (self.clone(), writes.to_vec());
        tokio_blocking(move || this.write_blocking(&writes, now)).await
    }

    async fn get_many(
        &self,
        keys: &[(String, String)],
        now: i64,
    ) -> Result<Vec<Item>, BackendError> {
        for (pk, sk) in keys {
            validate_key(pk, sk)?;
        }
        self.read_items(|table| {
            let mut items = Vec::new();
            for (pk, sk) in keys {
                if let Some(guard) = table.get((pk.as_str(), sk.as_str())).map_err(unavailable)?
                    && guard.value().0 > now
                {
                    items.push(decode(guard.value().1)?);
                }
            }
            Ok(items)
        })
    }

    async fn put_many(&self, items: &[Item], _now: i64) -> Result<(), BackendError> {
        // One commit for them all: a bulk load's cost is its commits.
        let (this, items) = (self.clone(), items.to_vec());
        tokio_blocking(move || this.put_blocking(&items)).await
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        let (db, name) = (self.db.clone(), name.to_owned());
        tokio_blocking(move || {
            let tx = db.begin_write().map_err(unavailable)?;
            let next = {
                let mut table = tx.open_table(SEQUENCES).map_err(unavailable)?;
                let next = table
                    .get(name.as_str())
                    .map_err(unavailable)?
                    .map_or(0, |g| g.value())
                    + 1;
                table.insert(name.as_str(), next).map_err(unavailable)?;
                next
            };
            tx.commit().map_err(unavailable)?;
            Ok(next)
        })
        .await
    }
}

async fn tokio_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f).await.map_err(unavailable)?
}
