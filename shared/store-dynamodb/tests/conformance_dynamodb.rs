//! The store conformance suite against DynamoDB's API, served by moto.

use std::sync::Arc;
use titolare_store::ItemBackend;
use titolare_store_dynamodb::DynamoBackend;
use titolare_store_dynamodb::testing::{self, OneAtATime};
use tokio::sync::OnceCell;

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
