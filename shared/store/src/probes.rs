//! Wrappers around any backend: one counts what the store reads and writes (benchmarks,
//! cost tests); `Hooked` runs a hook around each write, transactions and sequence
//! increments alike (a chosen write fails in tests, before the store or after its commit;
//! the local gateway hears of commits).

use crate::backend::*;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub reads: u64,
    pub writes: u64,
    /// Items the store read, expired ones included.
    pub items_read: u64,
    /// DynamoDB's on-demand request units these calls would consume, from the items' sizes
    /// (their JSON length, a little above DynamoDB's own measure): a strongly consistent
    /// read is 1 unit per started 4 KB of what it returns (a count, 1 KB per item counted);
    /// every action of a transaction 2 write units per started KB (a delete or a condition
    /// check, which carry no item, 2); a sequence increment 1.
    pub read_units: u64,
    pub write_units: u64,
}

pub struct CountingBackend {
    inner: Arc<dyn ItemBackend>,
    reads: AtomicU64,
    writes: AtomicU64,
    items_read: AtomicU64,
    read_units: AtomicU64,
    write_units: AtomicU64,
}

fn size(item: &Item) -> u64 {
    serde_json::to_vec(item).map_or(0, |bytes| bytes.len() as u64)
}

impl CountingBackend {
    pub fn new(inner: Arc<dyn ItemBackend>) -> Self {
        Self {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            items_read: AtomicU64::new(0),
            read_units: AtomicU64::new(0),
            write_units: AtomicU64::new(0),
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            items_read: self.items_read.load(Ordering::Relaxed),
            read_units: self.read_units.load(Ordering::Relaxed),
            write_units: self.write_units.load(Ordering::Relaxed),
        }
    }

    pub fn reset(&self) {
        for c in [
            &self.reads,
            &self.writes,
            &self.items_read,
            &self.read_units,
            &self.write_units,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    fn read(&self, items: u64, bytes: u64) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.items_read.fetch_add(items, Ordering::Relaxed);
        self.read_units
            .fetch_add(bytes.div_ceil(4096).max(1), Ordering::Relaxed);
    }
}

#[async_trait]
impl ItemBackend for CountingBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        let item = self.inner.get(pk, sk, now).await?;
        self.read(1, item.as_ref().map_or(0, size));
        Ok(item)
    }

    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        let page = self.inner.query(query, now).await?;
        self.read(page.scanned as u64, page.items.iter().map(size).sum());
        Ok(page)
    }

    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        let count = self.inner.count(pk, sk_prefix, now).await?;
        self.read(count.scanned, count.scanned * 1024);
        Ok(count)
    }

    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let units: u64 = writes
            .iter()
            .map(|w| match w {
                Write::Put { item, .. } => 2 * size(item).div_ceil(1024).max(1),
                Write::Delete { .. } | Write::Check { .. } => 2,
            })
            .sum();
        self.write_units.fetch_add(units, Ordering::Relaxed);
        self.inner.transact(writes, now).await
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.write_units.fetch_add(1, Ordering::Relaxed);
        self.inner.next_sequence(name).await
    }

    async fn get_many(
        &self,
        keys: &[(String, String)],
        now: i64,
    ) -> Result<Vec<Item>, BackendError> {
        let items = self.inner.get_many(keys, now).await?;
        // One call per 100 keys; each item read at its size, an absent key at one unit.
        self.reads
            .fetch_add(keys.len().div_ceil(100) as u64, Ordering::Relaxed);
        self.items_read
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        let found: u64 = items.iter().map(|i| size(i).div_ceil(4096).max(1)).sum();
        let missing = keys.len().saturating_sub(items.len()) as u64;
        self.read_units
            .fetch_add(found + missing, Ordering::Relaxed);
        Ok(items)
    }

    async fn put_many(&self, items: &[Item], now: i64) -> Result<(), BackendError> {
        // One call per 25 items, each a plain (not transactional) write.
        self.writes
            .fetch_add(items.len().div_ceil(25) as u64, Ordering::Relaxed);
        let units: u64 = items.iter().map(|i| size(i).div_ceil(1024).max(1)).sum();
        self.write_units.fetch_add(units, Ordering::Relaxed);
        self.inner.put_many(items, now).await
    }
}

/// A write the store is asked to make.
#[derive(Debug, Clone, Copy)]
pub enum StoreWrite<'a> {
    Transaction(&'a [Write]),
    /// One increment of the named sequence.
    Sequence(&'a str),
}

/// What becomes of a write, as a hook decides before it reaches the store.
#[derive(Debug)]
pub enum Fate {
    Proceed,
    /// Refused whole: the store never sees it.
    Refuse(BackendError),
    /// Committed, then reported failed: the timeout after a commit that every DynamoDB
    /// client can meet.
    CommitThenFail(BackendError),
}

/// What a wrapper does around each write of the backend it wraps.
pub trait WriteHook: Send + Sync {
    fn before(&self, _write: StoreWrite<'_>) -> Fate {
        Fate::Proceed
    }
    /// After the store committed it (and before a `CommitThenFail` error is returned).
    fn after(&self, _write: StoreWrite<'_>) {}
}

/// Any backend with a hook around its writes; reads pass straight through.
pub struct Hooked<H> {
    inner: Arc<dyn ItemBackend>,
    pub hook: H,
}

impl<H> Hooked<H> {
    pub fn around(inner: Arc<dyn ItemBackend>, hook: H) -> Self {
        Self { inner, hook }
    }
}

#[async_trait]
impl<H: WriteHook> ItemBackend for Hooked<H> {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        self.inner.get(pk, sk, now).await
    }

    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        self.inner.query(query, now).await
    }

    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        self.inner.count(pk, sk_prefix, now).await
    }

    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        let write = StoreWrite::Transaction(writes);
        let fate = self.hook.before(write);
        if let Fate::Refuse(e) = fate {
            return Err(e);
        }
        self.inner.transact(writes, now).await?;
        self.hook.after(write);
        match fate {
            Fate::CommitThenFail(e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        let write = StoreWrite::Sequence(name);
        let fate = self.hook.before(write);
        if let Fate::Refuse(e) = fate {
            return Err(e);
        }
        let next = self.inner.next_sequence(name).await?;
        self.hook.after(write);
        match fate {
            Fate::CommitThenFail(e) => Err(e),
            _ => Ok(next),
        }
    }
}

/// Fails the n-th transaction (sequences pass) from the time it is armed, as a store
/// outage would.
pub struct Countdown(
    /// Transactions still to let through before failing one; u64::MAX when disarmed.
    AtomicU64,
);

impl WriteHook for Countdown {
    fn before(&self, write: StoreWrite<'_>) -> Fate {
        if matches!(write, StoreWrite::Sequence(_)) {
            return Fate::Proceed;
        }
        let left = self.0.load(Ordering::SeqCst);
        if left != u64::MAX {
            if left == 0 {
                self.0.store(u64::MAX, Ordering::SeqCst);
                return Fate::Refuse(BackendError::Unavailable("injected failure".into()));
            }
            self.0.store(left - 1, Ordering::SeqCst);
        }
        Fate::Proceed
    }
}

pub type FailingBackend = Hooked<Countdown>;

impl Hooked<Countdown> {
    pub fn new(inner: Arc<dyn ItemBackend>) -> Self {
        Self::around(inner, Countdown(AtomicU64::new(u64::MAX)))
    }

    /// The transaction after `pass` more successful ones fails.
    pub fn fail_after(&self, pass: u64) {
        self.hook.0.store(pass, Ordering::SeqCst);
    }

    pub fn disarm(&self) {
        self.hook.0.store(u64::MAX, Ordering::SeqCst);
    }
}
