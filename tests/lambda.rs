//! The real Lambda binaries under `cargo lambda watch` (the Lambda runtime emulator),
//! against DynamoDB on moto, fed API Gateway v2 events with authorizer claims: they answer
//! as the local gateway does over the embedded store, both seeded with the same demo data.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use titolare_e2e::{HttpClient, local_gateway};
use titolare_store::TableStore;
use titolare_store::clock::SystemClock;
use titolare_store_dynamodb::{DynamoBackend, testing};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo_lambda() -> PathBuf {
    std::env::var_os("TITOLARE_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin/cargo-lambda"))
}

/// The event API Gateway (HTTP API, payload 2.0) sends after its JWT authorizer let `account` in.
fn api_gateway_event(
    method: &str,
    path: &str,
    query: &str,
    body: Option<&str>,
    account: &str,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": { "content-type": "application/json", "host": "api.example.com", "user-agent": "e2e" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": { "jwt": { "claims": { "sub": account, "username": account }, "scopes": null } },
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "e2e" },
            "requestId": "e2e-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795420800000i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Everything but the request id, which differs by construction.
fn comparable(mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.remove("request_id");
    }
    body
}

/// Keeps `cargo lambda watch` running; dropping it stops the process.
struct Watch(#[allow(dead_code)] tokio::process::Child);

/// The tests here take turns: each runs its own emulator, and moto serves concurrent
/// transactions badly.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The key the functions under test derive codes with (`TITOLARE_SECRET_KEY`).
const KEY_HEX: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";

async fn start_watch(table: &str, endpoint: &str) -> (Watch, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(
        std::env::temp_dir().join(format!("titolare-cargo-lambda-{port}.log")),
    )
    .unwrap();
    let env = format!(
        "TABLE_NAME={table},AWS_ENDPOINT_URL={endpoint},AWS_REGION=eu-south-1,AWS_ACCESS_KEY_ID=test,AWS_SECRET_ACCESS_KEY=test,RUST_LOG=info,TITOLARE_SECRET_KEY={KEY_HEX},EMAIL_FROM=noreply@pec.example.it,SMS_SENDER_ID=PECInfo"
    );
    let child = tokio::process::Command::new(cargo_lambda())
        .args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--quiet",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
            "--env-var",
            &env,
        ])
        .current_dir(root())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("cargo lambda: run infra/scripts/test, which installs it into .tools/venv");
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (Watch(child), port);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("cargo lambda watch did not listen on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_binaries_answer_like_the_local_gateway() {
    let _turn = TURN.lock().await;
    let (client, table) = testing::fresh_table("lambda").await;
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, table.clone())),
        Arc::new(SystemClock),
    );
    titolare_local::seed::demo(&store).await.unwrap();
    let endpoint = testing::moto_endpoint().await;
    let (_watch, port) = start_watch(&table, &endpoint).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));

    let gateway = local_gateway().await;
    let token = gateway.client.login("demo").await;
    let cases: [(&str, &str, &str, &str, Option<&str>); 9] = [
        ("holders-search", "GET", "/v1/holders", "cognome=test", None),
        (
            "holders-search",
            "GET",
            "/v1/holders",
            "nome=test&page_size=1",
            None,
        ),
        ("holders-search", "GET", "/v1/holders", "", None),
        ("holders-get", "GET", "/v1/holders/963300", "", None),
        ("holders-get", "GET", "/v1/holders/700001", "", None),
        (
            "mailboxes-get",
            "GET",
            "/v1/mailboxes/teste1234@pec.it",
            "",
            None,
        ),
        (
            "mailboxes-list",
            "GET",
            "/v1/mailboxes",
            "held_by_others=true",
            None,
        ),
        (
            "holders-create",
            "POST",
            "/v1/holders",
            "",
            Some(r#"{"tipo":"privato","nome":"x"}"#),
        ),
        (
            "holders-update",
            "PATCH",
            "/v1/holders/19",
            "",
            Some(r#"{"nome":"Altro"}"#),
        ),
    ];
    for (function, method, path, query, body) in cases {
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let local = gateway.client.send(method, &uri, Some(&token), body).await;
        let event = api_gateway_event(method, path, query, body, "demo").to_string();
        let invoked = emulator
            .send(
                "POST",
                &format!("/2015-03-31/functions/{function}/invocations"),
                None,
                Some(&event),
            )
            .await;
        assert_eq!(invoked.status, 200, "{function}: {}", invoked.body);
        let lambda_status = invoked.body["statusCode"].as_u64().expect("statusCode");
        let lambda_body: Value =
            serde_json::from_str(invoked.body["body"].as_str().expect("body")).expect("JSON body");
        assert_eq!(
            lambda_status,
            u64::from(local.status),
            "{function} {uri}: {lambda_body}"
        );
        assert_eq!(
            comparable(lambda_body),
            comparable(local.body),
            "{function} {uri}"
        );
        assert_eq!(
            invoked.body["headers"]["content-type"],
            local.content_type.as_str(),
            "{function} {uri}"
        );
    }
}

/// The dispatch function, fed the recorded stream event in tests/events/outbox-insert.json,
/// sends the code SMS through SNS (read back from moto) and, fed it again, sends nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatch_function_sends_once_per_outbox_record() {
    let _turn = TURN.lock().await;
    use titolare_domain::otp::{Challenge, Channel, CodePolicy, Party};
    use titolare_domain::outbox::OutboxMessage;
    use titolare_domain::ports::{ChallengeStore, Fixtures, TransferReader};
    use titolare_domain::secret::SecretKey;

    let (client, table) = testing::fresh_table("dispatch").await;
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, table.clone())),
        Arc::new(SystemClock),
    );
    let now = jiff::Timestamp::now();
    let account = titolare_domain::AccountId::parse("demo").unwrap();
    let mut transfer =
        titolare_store::conformance::sample_transfer(900001, &account, now.as_second() + 86_400);
    transfer.created_at = now;
    let phone = format!("+39333{:07}", now.as_millisecond() % 10_000_000);
    transfer.current_holder.mobile = titolare_domain::values::MobileNumber::parse(&phone).unwrap();
    store.put_transfer(&transfer).await.unwrap();
    let versioned = store.transfer(&transfer.id).await.unwrap().unwrap();
    let challenge = Challenge::send(
        None,
        &transfer.id,
        Party::CurrentHolder,
        Channel::Sms,
        &phone,
        now,
        &CodePolicy::default(),
    )
    .unwrap();
    let message = OutboxMessage::code(&challenge, &transfer, now);
    assert_eq!(
        message.id, "900001-current_holder-sms-1",
        "the id the recorded event names"
    );
    titolare_store::conformance::record_send(&store, &versioned, None, &challenge, &message)
        .await
        .unwrap();
    let code = challenge.code(&SecretKey::parse(KEY_HEX).unwrap());

    let endpoint = testing::moto_endpoint().await;
    let (_watch, port) = start_watch(&table, &endpoint).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let moto = HttpClient::new(endpoint.clone());
    let event = std::fs::read_to_string(root().join("tests/events/outbox-insert.json")).unwrap();
    let sent_to_phone = |data: &Value| {
        data["sns"]["SMS"].as_array().map_or(0, |all| {
            all.iter()
                .filter(|s| s["phone_number"] == phone.as_str())
                .count()
        })
    };
    for delivery in 1..=2 {
        let invoked = emulator
            .send(
                "POST",
                "/2015-03-31/functions/dispatch/invocations",
                None,
                Some(&event),
            )
            .await;
        assert_eq!(invoked.status, 200, "{}", invoked.body);
        assert_eq!(
            invoked.body["batchItemFailures"],
            json!([]),
            "delivery {delivery}"
        );
        let data = moto
            .send("GET", "/moto-api/data.json", None, None)
            .await
            .body;
        assert_eq!(sent_to_phone(&data), 1, "one SMS after delivery {delivery}");
        let sms = data["sns"]["SMS"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["phone_number"] == phone.as_str())
            .unwrap()
            .clone();
        assert!(
            sms["message"].as_str().unwrap().contains(code.reveal()),
            "the SMS carries the derived code"
        );
    }
    let delivered = store
        .challenge(&transfer.id, Party::CurrentHolder, Channel::Sms)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        delivered.value.delivery,
        titolare_domain::otp::Delivery::Sent
    );
}
