//! The store conformance suite against DynamoDB's API, served by moto.

use async_trait::async_trait;
use std::sync::Arc;
use titolare_store::{BackendError, Count, Item, ItemBackend, Query, QueryPage, Write};
use titolare_store_dynamodb::{DynamoBackend, testing};
use tokio::sync::{Mutex, OnceCell, OwnedMutexGuard};

/// moto copies a table's state for every transaction without a lock, so two transactions
/// at once can fail inside moto ("dictionary changed size during iteration"). DynamoDB has
/// no such limit; the checks here run one at a time so moto answers as DynamoDB would.
/// Concurrency itself is checked within a test (`concurrent_*`), whose calls moto serves in turn.
struct OneAtATime {
    inner: DynamoBackend,
    _turn: OwnedMutexGuard<()>,
}

#[async_trait]
impl ItemBackend for OneAtATime {
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
        self.inner.transact(writes, now).await
    }
    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        self.inner.next_sequence(name).await
    }
}

/// One table for the whole suite (each check works in keys of its own); a client per
/// test, since each test has its own runtime.
async fn backend() -> Arc<dyn ItemBackend> {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    static TURN: std::sync::OnceLock<Arc<Mutex<()>>> = std::sync::OnceLock::new();
    let turn = TURN
        .get_or_init(|| Arc::new(Mutex::new(())))
        .clone()
        .lock_owned()
        .await;
    let name = TABLE
        .get_or_init(|| async { testing::fresh_table("conformance").await.1 })
        .await;
    let client = testing::client(&testing::moto_endpoint().await).await;
    Arc::new(OneAtATime {
        inner: DynamoBackend::new(client, name.clone()),
        _turn: turn,
    })
}

titolare_store::conformance_tests!(backend());

#[tokio::test]
async fn the_table_has_ttl_and_a_stream() {
    let (client, name) = testing::fresh_table("shape").await;
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description.unwrap();
    assert_eq!(ttl.attribute_name(), Some(titolare_store::TTL_ATTRIBUTE));
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert!(table.stream_specification.unwrap().stream_enabled);
}
