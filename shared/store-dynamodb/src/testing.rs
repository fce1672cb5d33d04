//! For tests and benchmarks: a moto server on 127.0.0.1 (started once per process unless
//! `TITOLARE_TEST_AWS_ENDPOINT` names a running one), and the table created from the very
//! definition `template.yaml` deploys.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::*;
use serde_json::Value;
use std::path::PathBuf;
use titolare_store::{BackendError, Count, Item, ItemBackend, Query, QueryPage, Write};
use tokio::sync::OnceCell;

const TEMPLATE: &str = include_str!("../../../template.yaml");
/// The logical id of the table in template.yaml.
pub const TABLE_RESOURCE: &str = "Table";

/// The endpoint of a moto server, starting one if none was given.
pub async fn moto_endpoint() -> String {
    static ENDPOINT: OnceCell<String> = OnceCell::const_new();
    ENDPOINT
        .get_or_init(|| async {
            if let Ok(endpoint) = std::env::var("TITOLARE_TEST_AWS_ENDPOINT") {
                return endpoint;
            }
            start_moto().await
        })
        .await
        .clone()
}

fn moto_binary() -> PathBuf {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/moto_server");
    if local.exists() {
        local
    } else {
        PathBuf::from("moto_server")
    }
}

async fn start_moto() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // The shell stops moto when this test process ends; nobody waits for it before that.
    let script = format!(
        "\"$0\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $m",
        std::process::id()
    );
    #[allow(clippy::zombie_processes)]
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(moto_binary())
        .spawn()
        .expect("moto_server: run infra/scripts/test, which installs it into .tools/venv");
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return endpoint;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {endpoint}");
}

/// The endpoint of AWS's DynamoDB Local (`-inMemory` on 127.0.0.1): the one
/// `TITOLARE_TEST_DYNAMODB_LOCAL` names (infra/scripts/test starts it), or one started for
/// this process from the jars in `.tools/dynamodb-local/lib`. Unlike moto it serves
/// concurrent transactions as DynamoDB does, so races run against it without a lock.
pub async fn dynamodb_local_endpoint() -> String {
    static ENDPOINT: OnceCell<String> = OnceCell::const_new();
    ENDPOINT
        .get_or_init(|| async {
            if let Ok(endpoint) = std::env::var("TITOLARE_TEST_DYNAMODB_LOCAL") {
                return endpoint;
            }
            start_dynamodb_local().await
        })
        .await
        .clone()
}

/// The JVM's options for DynamoDB Local (infra/scripts/test starts it with the same): the
/// quick compiler only, as C2's compiling took a core for the first minutes of a run, and
/// the serial collector (one small heap).
const JVM_OPTIONS: &str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

async fn start_dynamodb_local() -> String {
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/dynamodb-local/lib");
    assert!(
        lib.join("DynamoDBLocal-3.3.1.jar").exists(),
        "DynamoDB Local is not in {}: run infra/scripts/test, which fetches it through Maven",
        lib.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // As for moto: the shell stops the server when this test process ends.
    let script = format!(
        "java {JVM_OPTIONS} -Djava.library.path=\"$0\" -cp \"$0/*\" software.amazon.dynamodb.services.local.main.ServerRunner -inMemory -disableTelemetry -port {port} >/dev/null 2>&1 & d=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $d",
        std::process::id()
    );
    #[allow(clippy::zombie_processes)]
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&lib)
        // It writes a metadata file where it runs: beside its jars, not in the source tree.
        .current_dir(lib.parent().unwrap_or(&lib))
        .spawn()
        .expect("java: DynamoDB Local needs Java 17");
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return endpoint;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("DynamoDB Local did not start on {endpoint}");
}

/// A fresh table on DynamoDB Local, named uniquely, as template.yaml defines it but for
/// TTL and the stream. TTL: DynamoDB deletes an expired item within days, DynamoDB Local at
/// once (and on some reads only), while the tests run on a fixed clock hours behind the wall
/// clock; without TTL the items stay, as on DynamoDB in those days, and the store hides
/// expired ones itself. The stream: no test reads DynamoDB Local's (the dispatch function is
/// fed recorded events), and DynamoDB Local looks up the stream of every table on each write,
/// so with the hundreds of tables of the fault test each write took longer than the last.
pub async fn fresh_local_table(prefix: &str) -> (Client, String) {
    let client = client(&dynamodb_local_endpoint().await).await;
    let name = unique(prefix);
    create(&client, &name, false, false).await;
    (client, name)
}

/// A table name no other test of any process takes: the clock alone repeats when tests
/// create tables at once (the fault test creates hundreds).
fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// SDK configuration for the moto server, with dummy credentials (any AWS client).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-south-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// A DynamoDB client for the moto server.
pub async fn client(endpoint: &str) -> Client {
    Client::new(&sdk_config(endpoint).await)
}

/// The table's Properties in template.yaml, as JSON.
pub fn table_definition() -> Value {
    let template: Value = serde_norway::from_str(TEMPLATE).expect("template.yaml is YAML");
    template["Resources"][TABLE_RESOURCE]["Properties"].clone()
}

/// Creates a table as template.yaml defines it: keys, attribute types, billing, stream
/// (unless `with_stream` is false) and TTL.
pub async fn create_table(client: &Client, name: &str, with_stream: bool) {
    create(client, name, with_stream, true).await
}

async fn create(client: &Client, name: &str, with_stream: bool, with_ttl: bool) {
    let props = table_definition();
    let text = |v: &Value| {
        v.as_str()
            .expect("a string in the table definition")
            .to_owned()
    };
    let attributes = props["AttributeDefinitions"]
        .as_array()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(&a["AttributeName"]))
                .attribute_type(ScalarAttributeType::from(
                    text(&a["AttributeType"]).as_str(),
                ))
                .build()
                .expect("attribute")
        });
    let keys = props["KeySchema"]
        .as_array()
        .expect("KeySchema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(&k["AttributeName"]))
                .key_type(KeyType::from(text(&k["KeyType"]).as_str()))
                .build()
                .expect("key")
        });
    let stream = &props["StreamSpecification"];
    let mut request = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes.collect()))
        .set_key_schema(Some(keys.collect()))
        .billing_mode(BillingMode::from(text(&props["BillingMode"]).as_str()));
    if with_stream && stream.is_object() {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(
                    text(&stream["StreamViewType"]).as_str(),
                ))
                .build()
                .expect("stream"),
        );
    }
    request.send().await.expect("create table");
    if !with_ttl {
        return;
    }
    let ttl = &props["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(text(&ttl["AttributeName"]))
                .enabled(ttl["Enabled"].as_bool().unwrap_or(false))
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("enable TTL");
}

/// A fresh table on the moto server, named uniquely.
pub async fn fresh_table(prefix: &str) -> (Client, String) {
    fresh_table_with(prefix, true).await
}

/// A fresh table without its stream: moto copies a table's whole stream history for every
/// transaction, which for a test of hundreds of writes of large items costs gigabytes.
pub async fn fresh_table_without_stream(prefix: &str) -> (Client, String) {
    fresh_table_with(prefix, false).await
}

async fn fresh_table_with(prefix: &str, stream: bool) -> (Client, String) {
    let endpoint = moto_endpoint().await;
    let client = client(&endpoint).await;
    let name = unique(prefix);
    create_table(&client, &name, stream).await;
    (client, name)
}

/// moto copies a table's state for every transaction without a lock, so two transactions
/// at once can fail inside moto or leave part of a cancelled one behind. DynamoDB has no such
/// flaw; here moto gets one request at a time, so it answers as DynamoDB would. Checks of
/// concurrency still race at the level that matters: every task reads the same version
/// before any writes, and the conditions decide.
pub struct OneAtATime(pub crate::DynamoBackend);

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[async_trait::async_trait]
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

/// Every item of a table as stored (a Scan, page by page), sorted by key: what fault
/// tests compare before and after a failure. Tests only: the service never scans.
pub async fn dump_table(client: &Client, table: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        let items: Vec<Value> =
            serde_dynamo::from_items(page.items.unwrap_or_default()).expect("items as JSON");
        all.extend(items);
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let key = |v: &Value| (v["pk"].to_string(), v["sk"].to_string());
    all.sort_by_key(key);
    all
}
