//! The store conformance suite against AWS's DynamoDB Local, with real concurrency: no
//! one-call-at-a-time lock (moto needs one; DynamoDB Local serves concurrent transactions
//! with DynamoDB's isolation, `TransactionConflict` included).

use std::sync::Arc;
use titolare_store::ItemBackend;
use titolare_store_dynamodb::DynamoBackend;
use titolare_store_dynamodb::testing;
use tokio::sync::OnceCell;

/// One table for the whole suite (each check works in keys of its own); a client per
/// test, since each test has its own runtime.
async fn backend() -> Arc<dyn ItemBackend> {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    let name = TABLE
        .get_or_init(|| async { testing::fresh_local_table("conformance").await.1 })
        .await;
    let client = testing::client(&testing::dynamodb_local_endpoint().await).await;
    Arc::new(DynamoBackend::new(client, name.clone()))
}

titolare_store::conformance_tests!(backend());
