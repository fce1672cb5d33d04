//! The store conformance suite against DynamoDB's API, served by moto.

use async_trait::async_trait;
use std::sync::Arc;
use titolare_store::{BackendError, Count, Item, ItemBackend, Query, QueryPage, Write};
use titolare_store_dynamodb::{DynamoBackend, testing};
use tokio::sync::{Mutex, OnceCell};

/// moto copies a table's state for every transaction without a lock, so two transactions
/// at once can fail inside moto or leave part of a cancelled one behind. DynamoDB has no such
/// flaw; here moto gets one request at a time, so it answers as DynamoDB would. The checks of
/// concurrency still race at the level that matters: every task reads the same version
/// before any writes, and the conditions decide.
struct OneAtATime(DynamoBackend);

static TURN: Mutex<()> = Mutex::const_new(());

#[async_trait]
impl ItemBackend for OneAtATime {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        let _turn = TURN.lock().await;
        self.0.get(pk, sk, now).await
    }
    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        let _turn = TURN.lock().await;
        self.0.query(query, now).await
    }
    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        let _turn = TURN.lock().await;
        self.0.count(pk, sk_prefix, now).await
    }
    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        let _turn = TURN.lock().await;
        self.0.transact(writes, now).await
    }
    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        let _turn = TURN.lock().await;
        self.0.next_sequence(name).await
    }
}

/// One table for the whole suite (each check works in keys of its own); a client per
/// test, since each test has its own runtime.
async fn backend() -> Arc<dyn ItemBackend> {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    let name = TABLE
        .get_or_init(|| async { testing::fresh_table("conformance").await.1 })
        .await;
    let client = testing::client(&testing::moto_endpoint().await).await;
    Arc::new(OneAtATime(DynamoBackend::new(client, name.clone())))
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
