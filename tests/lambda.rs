//! The real Lambda binaries polling the Runtime API of `cargo lambda watch` (the Lambda
//! runtime emulator), their table on DynamoDB Local and SES and SNS on moto, fed API Gateway
//! v2 events with authorizer claims: they answer as the local gateway does over the embedded
//! store, both seeded with the same demo data.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use titolare_e2e::flow::{self, As, Surface};
use titolare_e2e::{HttpClient, Reply, local_gateway};
use titolare_store::TableStore;
use titolare_store::clock::{FixedClock, SystemClock};
use titolare_store_dynamodb::{DynamoBackend, testing};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo_lambda() -> PathBuf {
    std::env::var_os("TITOLARE_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/venv/bin/cargo-lambda"))
}

/// CloudFront's secret header value, as the template gives it to CloudFront and the functions.
const ORIGIN_SECRET: &str = "origin-secret-of-the-tests-0123456789abcdef";
/// The person's address as CloudFront tells it; API Gateway's `sourceIp` is an edge's.
const VIEWER_IP: &str = "198.51.100.7";

/// The event API Gateway (HTTP API, payload 2.0) sends after its JWT authorizer let `account`
/// in, for a call CloudFront passed on (its secret and its viewer address header).
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
        "headers": {
            "content-type": "application/json", "host": "api.example.com", "user-agent": "e2e",
            "x-origin-verify": ORIGIN_SECRET, "cloudfront-viewer-address": format!("{VIEWER_IP}:46532"),
        },
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

/// Invokes a function through the emulator's Lambda API and returns what it answered.
async fn invoke(emulator: &HttpClient, function: &str, event: &Value) -> Value {
    let invoked = emulator
        .send(
            "POST",
            &format!("/2015-03-31/functions/{function}/invocations"),
            None,
            Some(&event.to_string()),
        )
        .await;
    assert_eq!(invoked.status, 200, "{function}: {}", invoked.body);
    invoked.body
}

/// The emulator (`cargo lambda watch --only-lambda-apis`) and the functions polling it, all
/// stopped when dropped, and the file the functions log to.
struct Watch {
    _emulator: tokio::process::Child,
    _functions: Vec<tokio::process::Child>,
    log: std::path::PathBuf,
}

impl Watch {
    /// The functions' logs of the whole run hold no code, token, phone number, email
    /// address or codice fiscale (`known`: the codes and tokens the test used).
    fn assert_logs_hold_no_personal_data(&self, known: &[String]) {
        let logs = std::fs::read_to_string(&self.log).unwrap();
        let json_lines: Vec<&str> = logs.lines().filter(|l| l.starts_with('{')).collect();
        assert!(!json_lines.is_empty(), "the functions logged:\n{logs}");
        for line in logs.lines() {
            if let Some(found) = titolare_e2e::personal_data_in(line, known) {
                panic!("a Lambda log line holds a {found}: {line}");
            }
        }
    }
}

/// The metric words a dimension may hold: fixed words only, never a person's data.
const DIMENSION_VALUES: &[&str] = &[
    "sms",
    "email",
    "initiator",
    "current_holder",
    "new_holder",
    "service",
    "completed",
    "rejected",
    "cancelled",
    "expired",
    "code",
    "invitation",
    "confirmation",
    "rejection",
    "cancellation",
    "expiry",
    "password-reset",
    "applied",
    "stale",
    "invalid",
    "not_applicable",
    "refused",
    "delivered",
    "delayed",
    "failed",
    "unknown",
    "undelivered",
    "number-changed",
    "withdrawn",
];

impl Watch {
    /// The functions' embedded-metric-format lines, each checked against the format
    /// (CloudWatch drops a malformed one silently): namespace, dimension sets naming string
    /// properties of fixed words, metric definitions with a unit and a numeric value.
    fn metrics(&self) -> Vec<Value> {
        let logs = std::fs::read_to_string(&self.log).unwrap();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let mut found = Vec::new();
        for line in logs.lines().filter(|l| l.contains("\"_aws\"")) {
            let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let aws = &doc["_aws"];
            let at = aws["Timestamp"].as_u64().expect("an integer Timestamp");
            assert!(
                at.abs_diff(now_ms) < 3_600_000,
                "Timestamp in ms of now: {line}"
            );
            let directives = aws["CloudWatchMetrics"]
                .as_array()
                .expect("CloudWatchMetrics");
            assert!(!directives.is_empty(), "{line}");
            for d in directives {
                assert_eq!(d["Namespace"], titolare_lambda::emf::NAMESPACE, "{line}");
                for set in d["Dimensions"].as_array().expect("Dimensions") {
                    let set = set.as_array().expect("a dimension set");
                    assert!(set.len() <= 30, "{line}");
                    for key in set {
                        let value = doc[key.as_str().expect("a dimension key")].as_str();
                        let value = value.unwrap_or_else(|| panic!("{key} is no string: {line}"));
                        let is_route = key == "Route" && value.starts_with("/v1/");
                        assert!(
                            is_route || DIMENSION_VALUES.contains(&value),
                            "{key}={value}: {line}"
                        );
                    }
                }
                for m in d["Metrics"].as_array().expect("Metrics") {
                    let name = m["Name"].as_str().expect("a metric name");
                    assert!(
                        ["Count", "Milliseconds", "Seconds"].contains(&m["Unit"].as_str().unwrap()),
                        "{line}"
                    );
                    assert!(doc[name].is_number(), "{name} has no value: {line}");
                }
            }
            found.push(doc);
        }
        found
    }

    /// The value of metric `name` summed over the lines whose properties match `with`.
    fn metric_sum(&self, name: &str, with: &[(&str, &str)]) -> u64 {
        self.metrics()
            .iter()
            .filter(|d| with.iter().all(|(k, v)| d[*k] == *v))
            .filter_map(|d| d[name].as_u64())
            .sum()
    }
}

/// The address the dispatch function sends from (an SES identity on moto).
const SENDER: &str = "noreply@pec.example.it";

/// The key the functions under test derive codes with (`TITOLARE_SECRET_KEY`).
const KEY_HEX: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";

/// Where the functions find their AWS services: the table on DynamoDB Local (real
/// concurrency, so these tests run side by side), SES and SNS on moto.
struct Services {
    table: String,
    dynamodb: String,
    moto: String,
    /// The inventory's dead-letter queue, on moto.
    dead_letters: String,
    /// The mail platform's command queue (FIFO) and the acknowledgements' dead-letter queue.
    platform: String,
    ack_dead_letters: String,
    /// The domain events' bus, with a rule that copies them to `events` (a queue).
    bus: String,
    events: String,
}

impl Services {
    /// A fresh table on DynamoDB Local, its client, and moto for the messages.
    async fn fresh(prefix: &str) -> (Self, aws_sdk_dynamodb::Client) {
        let (client, table) = testing::fresh_local_table(prefix).await;
        let moto = testing::moto_endpoint().await;
        let dead_letters = sqs(&moto)
            .await
            .create_queue()
            .queue_name(format!("{table}-inventory-dlq"))
            .send()
            .await
            .expect("a queue on moto")
            .queue_url
            .expect("its URL");
        let queue = |name: String, fifo: bool| {
            let moto = moto.clone();
            async move {
                let mut create = sqs(&moto).await.create_queue().queue_name(name);
                if fifo {
                    create = create
                        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
                }
                create
                    .send()
                    .await
                    .expect("a queue on moto")
                    .queue_url
                    .expect("its URL")
            }
        };
        let platform = queue(format!("{table}-platform.fifo"), true).await;
        let ack_dead_letters = queue(format!("{table}-acks-dlq"), false).await;
        let events = queue(format!("{table}-events"), false).await;
        let bus = format!("{table}-bus");
        let eventbridge = aws_sdk_eventbridge::Client::new(&testing::sdk_config(&moto).await);
        eventbridge
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("a bus on moto");
        eventbridge
            .put_rule()
            .name(format!("{table}-all"))
            .event_bus_name(&bus)
            .event_pattern(r#"{"source": ["titolare"]}"#)
            .send()
            .await
            .expect("a rule on moto");
        let queue_arn = format!("arn:aws:sqs:eu-south-1:123456789012:{table}-events");
        eventbridge
            .put_targets()
            .rule(format!("{table}-all"))
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("a target on moto");
        let services = Self {
            table,
            dynamodb: testing::dynamodb_local_endpoint().await,
            moto,
            dead_letters,
            platform,
            ack_dead_letters,
            bus,
            events,
        };
        (services, client)
    }
}

async fn sqs(moto: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&testing::sdk_config(moto).await)
}

/// Every function of `functions/` as its own process, built by the workspace build (not
/// rebuilt by the emulator with other features: see docs/testing.md), polling the Runtime API
/// of `cargo lambda watch --only-lambda-apis` as each polls Lambda's; the emulator's invoke
/// port is returned.
async fn start_functions(services: &Services) -> (Watch, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = std::env::temp_dir().join(format!("titolare-cargo-lambda-{port}.log"));
    // One file shared by every process (one file offset: lines are not written over).
    let log = std::fs::File::create(&log_path).unwrap();
    let emulator = tokio::process::Command::new(cargo_lambda())
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--quiet",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .current_dir(root())
        .stdout(log.try_clone().unwrap())
        .stderr(log.try_clone().unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("cargo lambda: run infra/scripts/test, which installs it into .tools/venv");
    let mut listening = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(listening, "cargo lambda watch did not listen on {port}");
    // A deployment names its conditions and pages (the functions refuse to start without
    // them): the local gateway's defaults, so both surfaces answer alike.
    let rules = titolare_domain::steps::Rules::default();
    let conditions = serde_json::to_string(&rules.conditions).unwrap();
    let environment = [
        ("TABLE_NAME", services.table.as_str()),
        ("AWS_ENDPOINT_URL", services.moto.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", services.dynamodb.as_str()),
        ("AWS_REGION", "eu-south-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("RUST_LOG", "info"),
        ("TITOLARE_SECRET_KEY", KEY_HEX),
        ("EMAIL_FROM", SENDER),
        ("PROVIDER_NAME", "PEC Esempio S.p.A."),
        ("SUPPORT_CONTACT", "assistenza@pec.example.it, 800 000 000"),
        ("SMS_SENDER_ID", "PECInfo"),
        ("PUBLIC_BASE_URL", "https://pec.example.it"),
        ("CHANGE_OF_NAME_URL", rules.change_of_name_url.as_str()),
        ("SUPPORT_URL", rules.support_url.as_str()),
        ("CONTRACT_CONDITIONS", conditions.as_str()),
        ("ORIGIN_VERIFY_SECRET", ORIGIN_SECRET),
        ("INVENTORY_DLQ_URL", services.dead_letters.as_str()),
        ("PLATFORM_QUEUE_URL", services.platform.as_str()),
        ("PLATFORM_ACK_DLQ_URL", services.ack_dead_letters.as_str()),
        ("EVENT_BUS_NAME", services.bus.as_str()),
        // What the emulator tells the functions it starts itself.
        ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096"),
    ];
    let mut functions = Vec::new();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let child = tokio::process::Command::new(titolare_e2e::workspace_binary(&name))
            .envs(environment)
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .stdout(log.try_clone().unwrap())
            .stderr(log.try_clone().unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("the {name} function: {e}"));
        functions.push(child);
    }
    let watch = Watch {
        _emulator: emulator,
        _functions: functions,
        log: log_path,
    };
    (watch, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_binaries_answer_like_the_local_gateway() {
    let (services, client) = Services::fresh("lambda").await;
    let table = services.table.clone();
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, table.clone())),
        Arc::new(SystemClock),
    );
    titolare_local::seed::demo(&store).await.unwrap();
    let (watch, port) = start_functions(&services).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));

    let gateway = local_gateway().await;
    let token = gateway.client.login("demo").await;
    let cases: [(&str, &str, &str, &str, Option<&str>); 10] = [
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
        ("account-get", "GET", "/v1/account", "", None),
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
        let event = api_gateway_event(method, path, query, body, "demo");
        let invoked = invoke(&emulator, function, &event).await;
        let lambda_status = invoked["statusCode"].as_u64().expect("statusCode");
        let lambda_body: Value =
            serde_json::from_str(invoked["body"].as_str().expect("body")).expect("JSON body");
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
            invoked["headers"]["content-type"],
            local.content_type.as_str(),
            "{function} {uri}"
        );
    }
    // A call that went around CloudFront (no secret, or another one) is refused, whatever
    // its route; the same call through CloudFront is served.
    for secret in [None, Some("origin-secret-of-the-tests-0123456789abcdeX")] {
        let mut direct = api_gateway_event("GET", "/v1/account", "", None, "demo");
        let headers = direct["headers"].as_object_mut().unwrap();
        match secret {
            None => headers.remove("x-origin-verify"),
            Some(other) => headers.insert("x-origin-verify".into(), json!(other)),
        };
        let refused = invoke(&emulator, "account-get", &direct).await;
        assert_eq!(refused["statusCode"], 403, "{refused}");
        let body: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["type"], "urn:titolare:problem:forbidden");
    }
    let through = api_gateway_event("GET", "/v1/account", "", None, "demo");
    assert_eq!(
        invoke(&emulator, "account-get", &through).await["statusCode"],
        200
    );
    watch.assert_logs_hold_no_personal_data(&[]);
}

/// The dispatch function, fed the recorded stream event in tests/events/outbox-insert.json,
/// sends the code SMS through SNS (read back from moto) and, fed it again, sends nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatch_function_sends_once_per_outbox_record() {
    use titolare_domain::otp::{Challenge, Channel, CodePolicy, Party};
    use titolare_domain::outbox::OutboxMessage;
    use titolare_domain::ports::{ChallengeStore, Fixtures, TransferReader};
    use titolare_domain::secret::SecretKey;

    let (services, client) = Services::fresh("dispatch").await;
    let table = services.table.clone();
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

    let (watch, port) = start_functions(&services).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let moto = HttpClient::new(services.moto.clone());
    let event = std::fs::read_to_string(root().join("tests/events/outbox-insert.json")).unwrap();
    let sent_to_phone = |data: &Value| {
        data["sns"]["SMS"].as_array().map_or(0, |all| {
            all.iter()
                .filter(|s| s["phone_number"] == phone.as_str())
                .count()
        })
    };
    let event: Value = serde_json::from_str(&event).unwrap();
    for delivery in 1..=2 {
        let invoked = invoke(&emulator, "dispatch", &event).await;
        assert_eq!(
            invoked["batchItemFailures"],
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
    watch.assert_logs_hold_no_personal_data(&[]);
    // The code's delivery, once, with how long it waited in the outbox.
    let delivered = [("Channel", "sms"), ("Message", "code")];
    assert_eq!(watch.metric_sum("MessagesDelivered", &delivered), 1);
    assert!(
        watch
            .metrics()
            .iter()
            .any(|d| d["DispatchLatency"].is_u64())
    );
}

/// The real function binaries as a [`Surface`]: each call goes to the function the route
/// table names, as API Gateway would send it; outbox records go through the dispatch
/// function to SES and SNS on moto, and emails are read back from there.
struct LambdaSurface {
    emulator: HttpClient,
    moto: HttpClient,
    store: TableStore,
    key: titolare_domain::secret::SecretKey,
    /// Codes and tokens handed to the flow, which the logs must not hold.
    seen: std::sync::Mutex<Vec<String>>,
}

impl LambdaSurface {
    async fn invoke(&self, function: &str, event: &Value) -> Value {
        invoke(&self.emulator, function, event).await
    }

    /// Feeds every pending outbox record of the account's requests to the dispatch function,
    /// as the table's stream would.
    async fn dispatch_pending(&self) {
        use titolare_domain::ports::{OutboxStore, TransferReader};
        let account = titolare_domain::AccountId::parse("demo").unwrap();
        let page = titolare_domain::PageRequest::default();
        let listed = self.store.transfers(&account, &[], &page).await.unwrap();
        let mut records = Vec::new();
        for t in &listed.items {
            for m in self.store.outbox_messages(&t.id).await.unwrap() {
                if m.status == titolare_domain::outbox::DeliveryStatus::Pending {
                    records.push(json!({
                        "eventName": "INSERT",
                        "dynamodb": {
                            "Keys": {
                                "pk": {"S": format!("TRANSFER#{}", t.id.as_str())},
                                "sk": {"S": format!("OUTBOX#{}", m.id)},
                            },
                            "SequenceNumber": m.id,
                        },
                    }));
                }
            }
        }
        if !records.is_empty() {
            let answer = self
                .invoke("dispatch", &json!({ "Records": records }))
                .await;
            assert_eq!(answer["batchItemFailures"], json!([]), "every record sent");
        }
    }
}

#[async_trait::async_trait]
impl Surface for LambdaSurface {
    async fn call(&self, method: &str, path: &str, who: As<'_>, body: Option<Value>) -> Reply {
        use titolare_api::routes::{Match, ROUTES, find};
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let all: Vec<_> = ROUTES.iter().collect();
        let Match::Found(route, _) = find(&all, method, path) else {
            panic!("{method} {path} is not routed")
        };
        let body = body.map(|b| b.to_string());
        let mut event = api_gateway_event(method, path, query, body.as_deref(), "demo");
        match who {
            As::Account(user) => {
                event["requestContext"]["authorizer"]["jwt"]["claims"] =
                    json!({"sub": user, "username": user});
            }
            As::AccountWithLink(user, link) => {
                event["requestContext"]["authorizer"]["jwt"]["claims"] =
                    json!({"sub": user, "username": user});
                event["headers"]["x-link-token"] = json!(link);
            }
            As::Link(link) => {
                event["headers"]["authorization"] = json!(format!("Bearer {link}"));
                event["requestContext"]["authorizer"] = Value::Null;
            }
            As::Nobody => event["requestContext"]["authorizer"] = Value::Null,
        }
        let answer = self.invoke(route.function, &event).await;
        let reply = Reply {
            status: answer["statusCode"].as_u64().expect("statusCode") as u16,
            content_type: answer["headers"]["content-type"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            headers: answer["headers"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(name, value)| Some((name.to_lowercase(), value.as_str()?.to_owned())))
                .collect(),
            body: serde_json::from_str(answer["body"].as_str().unwrap_or("null"))
                .unwrap_or(Value::Null),
        };
        titolare_e2e::openapi::check(method, path, reply.status, &reply.content_type, &reply.body);
        reply
    }

    async fn code(&self, transfer: &str, party: &str, channel: &str, _to: &str) -> String {
        use titolare_domain::ports::ChallengeStore;
        let id = titolare_domain::transfer::TransferId::parse(transfer).unwrap();
        let party: titolare_domain::otp::Party = serde_json::from_value(json!(party)).unwrap();
        let channel: titolare_domain::otp::Channel =
            serde_json::from_value(json!(channel)).unwrap();
        let challenge = self
            .store
            .challenge(&id, party, channel)
            .await
            .unwrap()
            .unwrap();
        let code = challenge.value.code(&self.key).reveal().to_owned();
        self.seen.lock().unwrap().push(code.clone());
        code
    }

    async fn link(&self, transfer: &str, party: &str, _to: &str) -> String {
        let id = titolare_domain::transfer::TransferId::parse(transfer).unwrap();
        let party: titolare_domain::otp::Party = serde_json::from_value(json!(party)).unwrap();
        let token = titolare_domain::transfer::LinkToken::issue(&self.key, &id, party);
        self.seen.lock().unwrap().push(token.clone());
        token
    }

    async fn reset_token(&self, account: &str, mailbox: &str, _to: &str) -> String {
        use titolare_domain::ports::{ItemState, TransferReader};
        use titolare_domain::transfer::{ItemKind, ItemRef, PasswordResetToken};
        let account = titolare_domain::AccountId::parse(account).unwrap();
        let item = ItemRef::parse(ItemKind::Mailbox, mailbox).unwrap();
        let Some(Some(ItemState::Mailbox(m))) =
            self.store.items(&account, &[item]).await.unwrap().pop()
        else {
            panic!("{mailbox} is not in the account")
        };
        let issued_at = m.value.password_reset_issued_at.expect("a reset pending");
        let change = m.value.moved_by.expect("moved by a change of holder");
        let token =
            PasswordResetToken::issue(&self.key, &account, &m.value.address, issued_at, &change);
        self.seen.lock().unwrap().push(token.clone());
        token
    }

    async fn emails_to(&self, to: &str) -> Vec<Value> {
        self.dispatch_pending().await;
        let data = self
            .moto
            .send("GET", "/moto-api/data.json", None, None)
            .await
            .body;
        data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["destinations"].to_string().contains(to))
            .map(|m| json!({"subject": m["subject"], "text": m["body"]}))
            .collect()
    }

    async fn advance(&self, _seconds: i64) {
        unreachable!("the Lambda functions run on the system clock")
    }
}

/// A fresh table seeded with the demo data, the sender an SES identity on moto, every
/// function binary running: the surface over them (with the services and the functions' watch,
/// to keep alive while it is used).
async fn seeded(name: &str) -> (Services, Watch, LambdaSurface) {
    let (services, client) = Services::fresh(name).await;
    let table = services.table.clone();
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, table.clone())),
        Arc::new(SystemClock),
    );
    titolare_local::seed::demo(&store).await.unwrap();
    aws_sdk_sesv2::Client::new(&testing::sdk_config(&services.moto).await)
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .expect("the sender is an SES identity");
    let (watch, port) = start_functions(&services).await;
    let surface = LambdaSurface {
        emulator: HttpClient::new(format!("http://127.0.0.1:{port}")),
        moto: HttpClient::new(services.moto.clone()),
        store,
        key: titolare_domain::secret::SecretKey::parse(KEY_HEX).unwrap(),
        seen: Default::default(),
    };
    (services, watch, surface)
}

/// Seed 000 through the real function binaries, one function per route as deployed,
/// against DynamoDB Local, with the messages sent by the dispatch function to SES on moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_through_the_lambda_functions() {
    let (_services, watch, surface) = seeded("transfers-lambda").await;
    flow::full_success(&surface).await;
    watch.assert_logs_hold_no_personal_data(&surface.seen.lock().unwrap());
    // Behind CloudFront the trail keeps the person's address, never the edge's.
    {
        use titolare_domain::ports::TransferReader;
        let id = titolare_domain::transfer::TransferId::parse("1").unwrap();
        let done = surface
            .store
            .transfer(&id)
            .await
            .unwrap()
            .expect("request 1");
        let addresses: std::collections::BTreeSet<&str> = done
            .value
            .audit
            .iter()
            .filter(|e| e.party.is_some())
            .map(|e| e.source_ip.as_str())
            .collect();
        assert_eq!(addresses, [VIEWER_IP].into(), "{:?}", done.value.audit);
    }
    // What an operator sees of it: the codes of each channel queued, each party's steps, the
    // request completed, the emails delivered with their latency (the codes were read from
    // the store and used before the dispatcher ran, so it rightly sent none of them: the
    // dispatch test above sends one).
    for channel in ["sms", "email"] {
        assert!(
            watch.metric_sum("CodesSent", &[("Channel", channel)]) >= 1,
            "{channel}"
        );
    }
    for message in ["invitation", "confirmation", "password-reset"] {
        let delivered = [("Channel", "email"), ("Message", message)];
        assert!(
            watch.metric_sum("MessagesDelivered", &delivered) >= 1,
            "{message}"
        );
    }
    // The steps of the trail (created, decisions, contract, verified), never its code events.
    for (party, steps) in [("initiator", 2), ("current_holder", 2), ("new_holder", 4)] {
        assert_eq!(
            watch.metric_sum("StepsTaken", &[("Party", party)]),
            steps,
            "{party}"
        );
    }
    assert_eq!(
        watch.metric_sum("RequestsEnded", &[("Outcome", "completed")]),
        1
    );
    assert_eq!(watch.metric_sum("MessagesFailed", &[]), 0);
    assert!(
        watch
            .metrics()
            .iter()
            .any(|d| d["DispatchLatency"].is_u64() && d["function"] == "dispatch")
    );
}

/// A DynamoDB attribute map in the stream's JSON form (`{"S": …}`, `{"M": …}`…).
fn stream_json(
    map: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    fn one(v: &A) -> Value {
        match v {
            A::S(s) => json!({ "S": s }),
            A::N(n) => json!({ "N": n }),
            A::Bool(b) => json!({ "BOOL": b }),
            A::Null(_) => json!({ "NULL": true }),
            A::M(m) => {
                json!({ "M": m.iter().map(|(k, v)| (k.clone(), one(v))).collect::<serde_json::Map<_, _>>() })
            }
            A::L(l) => json!({ "L": l.iter().map(one).collect::<Vec<_>>() }),
            other => panic!("unexpected attribute {other:?}"),
        }
    }
    Value::Object(map.iter().map(|(k, v)| (k.clone(), one(v))).collect())
}

/// The scheduled expirer and the TTL backstop, as deployed: each ends an overdue request
/// once however often it runs, with one outcome and one set of notices.
/// A fixture of tests/events, as AWS documents the event.
fn event_fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/events").join(name)).unwrap())
        .unwrap()
}

/// SES's and SNS's reports through the real `email-events` and `sms-events` binaries (the
/// event shapes AWS documents, kept in tests/events): each SES event type is read, a bounce
/// of a real invitation sent through SES on moto marks it lost on the request with the
/// initiator told, a repeat changes nothing, and an SMS delivery line makes a code
/// "consegnato".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_functions_record_what_ses_and_sns_report() {
    use titolare_domain::ports::{ChallengeStore, OutboxStore};
    let (_services, watch, surface) = seeded("delivery-lambda").await;
    let id = flow::open_transfer(
        &surface,
        flow::draft_body(&[("mailbox", "teste1234@pec.it")], flow::TESTDUE.holder),
    )
    .await;
    surface.dispatch_pending().await;
    let transfer = titolare_domain::transfer::TransferId::parse(&id).unwrap();
    let sent_id = |party: &'static str| {
        let (store, transfer) = (&surface.store, &transfer);
        async move {
            store
                .outbox_messages(transfer)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.id == format!("{}-invitation-{party}", transfer.as_str()))
                .and_then(|m| m.provider_id)
                .expect("the invitation went through SES")
        }
    };

    // Every SES event type the service records reads through the function; these ids are
    // none of the service's.
    for name in [
        "ses-delivery.json",
        "ses-delivery-delay.json",
        "ses-bounce-transient.json",
        "ses-complaint.json",
        "ses-reject.json",
        "ses-rendering-failure.json",
    ] {
        let answer = surface
            .invoke("email-events", &json!({"detail": event_fixture(name)}))
            .await;
        assert_eq!(answer["unknown"], 1, "{name}: {answer}");
    }
    // A bounce of the current holder's invitation, as EventBridge delivers it.
    let mut bounce = event_fixture("eventbridge-ses-bounce.json");
    bounce["detail"]["mail"]["messageId"] = json!(sent_id("current_holder").await);
    let answer = surface.invoke("email-events", &bounce).await;
    assert_eq!(answer["recorded"], 1, "{answer}");
    let again = surface.invoke("email-events", &bounce).await;
    assert_eq!(again["unchanged"], 1, "a redelivered event: {again}");
    let view = surface
        .call(
            "GET",
            &format!("/v1/transfers/{id}"),
            As::Account("demo"),
            None,
        )
        .await;
    let lost = &view.body["contacts"]["current_holder"]["invitation_delivery"];
    assert_eq!(
        (&lost["outcome"], &lost["lost"]),
        (&json!("failed"), &json!(true))
    );
    assert!(
        surface
            .store
            .outbox_messages(&transfer)
            .await
            .unwrap()
            .iter()
            .any(|m| matches!(
                m.message,
                titolare_domain::outbox::Message::Undelivered { .. }
            )),
        "the initiator is told"
    );

    // The current holder's SMS code through SNS on moto, then SNS's delivery log line.
    let link = surface
        .link(&id, "current_holder", flow::AZIENDA.email)
        .await;
    flow::ok(
        &flow::decide(&surface, &link, &[("teste1234@pec.it", true)]).await,
        200,
        "decisions",
    );
    flow::ok(
        &surface
            .call(
                "POST",
                "/v1/party/codes",
                As::Link(&link),
                Some(json!({"channel": "sms"})),
            )
            .await,
        202,
        "code sent",
    );
    surface.dispatch_pending().await;
    let sms = surface
        .store
        .outbox_messages(&transfer)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.channel == titolare_domain::otp::Channel::Sms && m.provider_id.is_some())
        .expect("the code went through SNS");
    let mut line = event_fixture("sns-sms-success.json");
    line["notification"]["messageId"] = json!(sms.provider_id.unwrap());
    let logs = titolare_lambda::delivery::log_event(&[
        line.to_string(),
        event_fixture("sns-sms-failure.json").to_string(),
    ]);
    let answer = surface.invoke("sms-events", &logs).await;
    assert_eq!(
        (&answer["recorded"], &answer["unknown"]),
        (&json!(1), &json!(1)),
        "{answer}"
    );
    let challenge = surface
        .store
        .challenge(
            &transfer,
            titolare_domain::otp::Party::CurrentHolder,
            titolare_domain::otp::Channel::Sms,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        challenge.value.delivery,
        titolare_domain::otp::Delivery::Delivered
    );
    watch.assert_logs_hold_no_personal_data(&surface.seen.lock().unwrap());
    assert_eq!(
        watch.metric_sum(
            "DeliveryReports",
            &[("Channel", "email"), ("Outcome", "failed")]
        ),
        1
    );
    assert_eq!(
        watch.metric_sum(
            "DeliveryReports",
            &[("Channel", "sms"), ("Outcome", "delivered")]
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expirer_and_the_ttl_backstop_end_a_transfer_once() {
    use titolare_domain::ports::{
        OperationReader, OutboxStore, TransferCondition, TransferReader, TransferWriter,
    };
    use titolare_domain::transfer::TransferStatus;
    use titolare_store::ItemBackend;
    let (services, client) = Services::fresh("expiry-lambda").await;
    let table = services.table.clone();
    let backend = Arc::new(DynamoBackend::new(client, table.clone()));
    // The requests are written by a store whose clock stands three seconds back, with a
    // deadline the functions (on the system clock) have passed: no wait for it to pass.
    let now = jiff::Timestamp::now().as_second();
    let store = TableStore::new(backend.clone(), Arc::new(FixedClock::at(now - 3)));
    let account = titolare_domain::AccountId::parse("scaduto").unwrap();
    let deadline = now - 1;
    let (expiring, removed) = (
        titolare_store::conformance::sample_transfer(71, &account, deadline),
        titolare_store::conformance::sample_transfer(72, &account, deadline),
    );
    for t in [&expiring, &removed] {
        store
            .commit(&titolare_domain::consequences::bookkept(
                TransferCondition::New,
                None,
                t,
                None,
            ))
            .await
            .unwrap();
    }
    let (watch, port) = start_functions(&services).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));

    // The table's TTL removes request 72 before any expirer ran.
    let pk = format!("TRANSFER#{}", removed.id.as_str());
    let old = backend
        .get(&pk, "TRANSFER", i64::MIN)
        .await
        .unwrap()
        .unwrap();
    let image: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        serde_dynamo::to_item(&old).unwrap();
    backend
        .transact(
            &[titolare_store::Write::Delete {
                pk: pk.clone(),
                sk: "TRANSFER".into(),
                condition: titolare_store::Condition::Always,
            }],
            0,
        )
        .await
        .unwrap();
    let removal = json!({"Records": [{
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": {"pk": {"S": pk}, "sk": {"S": "TRANSFER"}},
            "OldImage": stream_json(&image),
            "SequenceNumber": "7200",
        },
    }]});
    for run in 1..=2 {
        let answer = invoke(&emulator, "ttl-backstop", &removal).await;
        assert_eq!(answer["batchItemFailures"], json!([]), "backstop run {run}");
    }
    for run in 1..=2 {
        let scheduled = json!({"version": "0", "detail-type": "Scheduled Event"});
        let answer = invoke(&emulator, "expirer", &scheduled).await;
        assert_eq!(
            answer["expired"],
            if run == 1 { 1 } else { 0 },
            "expirer run {run}: {answer}"
        );
    }
    for t in [&expiring, &removed] {
        let stored = store.transfer(&t.id).await.unwrap().unwrap();
        assert_eq!(
            stored.value.status,
            TransferStatus::Expired,
            "{}",
            t.id.as_str()
        );
        let notices = store
            .outbox_messages(&t.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.id.contains("-expiry-"))
            .count();
        assert_eq!(
            notices,
            3,
            "the initiator and each holder told once about {}",
            t.id.as_str()
        );
    }
    let ops = store
        .operations(&account, &titolare_domain::PageRequest::default())
        .await
        .unwrap();
    assert_eq!(ops.items.len(), 2, "one outcome per request");
    watch.assert_logs_hold_no_personal_data(&[]);
    // The expirer's run: what it ended, and how late the oldest overdue request was.
    let runs: Vec<Value> = watch
        .metrics()
        .into_iter()
        .filter(|d| d["RequestsExpired"].is_u64())
        .collect();
    assert!(!runs.is_empty(), "the expirer reports each run");
    assert!(runs.iter().any(|d| d["ExpirerLag"].as_u64() > Some(0)));
    assert!(watch.metric_sum("RequestsEnded", &[("Outcome", "expired")]) >= 1);
}

/// The inventory queue's consumer, fed SQS events as Lambda delivers them: a message applies
/// once and only over an older version, an invalid one goes to the dead-letter queue with a
/// reason that names no datum, and each is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_function_applies_the_newest_and_dead_letters_the_invalid() {
    use titolare_domain::ports::MailboxReader;
    let (services, client) = Services::fresh("inventory").await;
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, services.table.clone())),
        Arc::new(SystemClock),
    );
    let (watch, port) = start_functions(&services).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/events/inventory-sqs.json")).unwrap(),
    )
    .unwrap();
    let batch = |bodies: &[Value]| {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| {
                let mut r = template["Records"][0].clone();
                r["messageId"] = json!(format!("m{n}"));
                r["body"] = json!(match body {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                r
            })
            .collect();
        json!({ "Records": records })
    };
    let upsert = |version: u64, inbox: u32| {
        json!({
            "schema": 1, "type": "mailbox.upserted", "version": version, "account": "demo",
            "mailbox": {
                "address": "Teste1234@pec.it", "holder_id": "534905", "status": "Attivo",
                "kind": "Standard", "inbox_gb": inbox, "end_of_service": "2027-06-30",
                "requested_on": "2011-06-30", "renewal": "A Scadenza", "duration": "1 Anno"
            }
        })
    };
    let invalid = json!("{\"schema\":1,\"type\":\"mailbox.upserted\",\"version\":0}");
    // In one batch: v3, its redelivery, an older v2 and an invalid one.
    let answer = invoke(
        &emulator,
        "inventory-ingest",
        &batch(&[upsert(3, 3), upsert(3, 30), upsert(2, 2), invalid.clone()]),
    )
    .await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let address = titolare_domain::values::EmailAddress::parse("teste1234@pec.it").unwrap();
    let demo = titolare_domain::AccountId::parse("demo").unwrap();
    let mailbox = store.mailbox(&demo, &address).await.unwrap().unwrap();
    assert_eq!((mailbox.source_version, mailbox.inbox_gb), (3, 3));
    let answer = invoke(&emulator, "inventory-ingest", &batch(&[upsert(4, 4)])).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let mailbox = store.mailbox(&demo, &address).await.unwrap().unwrap();
    assert_eq!((mailbox.source_version, mailbox.inbox_gb), (4, 4));

    let received = sqs(&services.moto)
        .await
        .receive_message()
        .queue_url(&services.dead_letters)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let dead = received.messages.unwrap_or_default();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body.as_deref(), invalid.as_str());
    let reason = dead[0].message_attributes.as_ref().unwrap()["reason"]
        .string_value
        .clone()
        .unwrap();
    assert!(reason.contains("not an inventory message"), "{reason}");

    for (outcome, count) in [("applied", 2), ("stale", 2), ("invalid", 1)] {
        assert_eq!(
            watch.metric_sum("InventoryMessages", &[("Outcome", outcome)]),
            count,
            "{outcome}"
        );
    }
    watch.assert_logs_hold_no_personal_data(&[]);
}

/// The mail platform's side as deployed: the dispatch function relays a completed request's
/// commands to the FIFO queue (one group per mailbox, deduplicated by id, in order) once,
/// and `platform-acks` records what the platform answers: once each, the password erased,
/// an acknowledgement naming no command on the dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_gets_each_command_once_in_order_and_its_acks_are_recorded() {
    use titolare_domain::platform;
    use titolare_domain::ports::{Fixtures, MailboxReader, TransferReader};
    use titolare_domain::transfer::{ItemKind, ItemOutcome, ItemRef, TransferItem, TransferStatus};
    let (services, client) = Services::fresh("platform").await;
    let store = TableStore::new(
        Arc::new(DynamoBackend::new(client, services.table.clone())),
        Arc::new(SystemClock),
    );
    titolare_local::seed::demo(&store).await.unwrap();
    let demo = titolare_domain::AccountId::parse("demo").unwrap();
    let now = jiff::Timestamp::now();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let address = titolare_domain::values::EmailAddress::parse("teste1234@pec.it").unwrap();
    let mut mailbox = store.mailbox(&demo, &address).await.unwrap().unwrap();
    mailbox.password_hash = Some(hash.into());
    store.put_mailbox(&demo, &mailbox).await.unwrap();
    let mut transfer =
        titolare_store::conformance::sample_transfer(77, &demo, now.as_second() + 86_400);
    transfer.status = TransferStatus::Completed;
    transfer.ended_at = Some(now);
    transfer.retain_until = Some(now + jiff::SignedDuration::from_hours(24));
    transfer.items = [
        (ItemKind::Mailbox, "teste1234@pec.it"),
        (ItemKind::Domain, "testazienda-pec.it"),
    ]
    .into_iter()
    .map(|(kind, id)| TransferItem {
        item: ItemRef::parse(kind, id).unwrap(),
        current_holder: Some(true),
        new_holder: Some(true),
        outcome: Some(ItemOutcome::Moved),
    })
    .collect();
    transfer.platform = titolare_domain::commands::of_completion(&transfer, now);
    let transfer =
        titolare_domain::commands::with_password(&transfer, "teste1234@pec.it", hash, now).unwrap();
    store.put_transfer(&transfer).await.unwrap();

    let (watch, port) = start_functions(&services).await;
    let emulator = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let record = json!({ "Records": [{
        "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-south-1",
        "dynamodb": {
            "Keys": { "pk": { "S": "TRANSFER#77" }, "sk": { "S": "TRANSFER" } },
            "SequenceNumber": "222200000000000000001", "SizeBytes": 900,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-south-1:123456789012:table/titolare/stream/2026-12-04T08:00:00.000"
    }]});
    for delivery in 1..=2 {
        let answer = invoke(&emulator, "dispatch", &record).await;
        assert_eq!(
            answer["batchItemFailures"],
            json!([]),
            "delivery {delivery}: {answer}"
        );
    }
    let queue = sqs(&services.moto).await;
    let mut received = Vec::new();
    for _ in 0..5 {
        let page = queue
            .receive_message()
            .queue_url(&services.platform)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        received.extend(page.messages.unwrap_or_default());
    }
    let commands: Vec<(platform::Command, String, String)> = received
        .iter()
        .map(|m| {
            let attributes = m.attributes.as_ref().unwrap();
            let attribute = |name| {
                attributes[&aws_sdk_sqs::types::MessageSystemAttributeName::from(name)].clone()
            };
            (
                serde_json::from_str(m.body.as_deref().unwrap()).unwrap(),
                attribute("MessageGroupId"),
                attribute("MessageDeduplicationId"),
            )
        })
        .collect();
    assert_eq!(
        commands.len(),
        6,
        "each command once, however often the record came: {commands:?}"
    );
    for (command, group, dedup) in &commands {
        assert_eq!(group, &command.group());
        assert!(!group.contains('@'), "a group names no address");
        assert_eq!(dedup, command.id.as_str());
    }
    let mailbox_kinds: Vec<&str> = commands
        .iter()
        .filter(|(c, _, _)| c.target == "teste1234@pec.it")
        .map(|(c, _, _)| c.action.name())
        .collect();
    assert_eq!(
        mailbox_kinds,
        [
            "holder.changed",
            "access-history.reset",
            "delegated-access.suspended",
            "second-factor.unlinked",
            "password.set"
        ],
        "one mailbox's commands in order"
    );

    // The platform answers each, one twice, and names a command that does not exist.
    let mut bodies: Vec<String> = commands
        .iter()
        .map(|(c, _, _)| {
            json!({ "schema": 1, "command": c.id.as_str(), "result": if c.action.name() == "second-factor.unlinked" { "not_applicable" } else { "applied" }, "at": now.to_string() })
                .to_string()
        })
        .collect();
    bodies.push(bodies[0].clone());
    bodies.push(json!({ "schema": 1, "command": "77.9.holder.changed", "result": "applied", "at": now.to_string() }).to_string());
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/events/inventory-sqs.json")).unwrap(),
    )
    .unwrap();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let mut r = template["Records"][0].clone();
            r["messageId"] = json!(format!("a{n}"));
            r["body"] = json!(body);
            r["eventSourceARN"] =
                json!("arn:aws:sqs:eu-south-1:123456789012:titolare-platform-acks");
            r
        })
        .collect();
    let answer = invoke(&emulator, "platform-acks", &json!({ "Records": records })).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let stored = store.transfer(&transfer.id).await.unwrap().unwrap().value;
    assert!(
        stored
            .platform
            .iter()
            .all(|r| matches!(r.state, platform::CommandState::Done { .. })),
        "{:?}",
        stored.platform
    );
    assert!(
        !serde_json::to_string(&stored)
            .unwrap()
            .contains("$argon2id$")
    );
    let mailbox = store.mailbox(&demo, &address).await.unwrap().unwrap();
    assert_eq!(
        mailbox.password_hash, None,
        "the platform has it: the service keeps none"
    );
    let dead = queue
        .receive_message()
        .queue_url(&services.ack_dead_letters)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        watch.metric_sum("PlatformAcks", &[("Outcome", "applied")]),
        5
    );
    assert_eq!(
        watch.metric_sum("PlatformAcks", &[("Outcome", "not_applicable")]),
        1
    );
    // The ending's outcome marker: its domain event, on the bus, as its schema says.
    let outcome = json!({ "Records": [{
        "eventID": "2", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "eu-south-1",
        "dynamodb": {
            "Keys": { "pk": { "S": "TRANSFER#77" }, "sk": { "S": "OUTCOME" } },
            "NewImage": { "pk": { "S": "TRANSFER#77" }, "sk": { "S": "OUTCOME" }, "kind": { "S": "outcome" } },
            "SequenceNumber": "222200000000000000002", "SizeBytes": 90,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-south-1:123456789012:table/titolare/stream/2026-12-04T08:00:00.000"
    }]});
    let answer = invoke(&emulator, "dispatch", &outcome).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let delivered = queue
        .receive_message()
        .queue_url(&services.events)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let envelope: Value = serde_json::from_str(delivered[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(envelope["source"], "titolare");
    assert_eq!(envelope["detail-type"], "Transfer Completed");
    let validator = titolare_e2e::schema_validator("infra/events/transfer-ended-v1.schema.json");
    assert!(validator.is_valid(&envelope["detail"]), "{envelope}");
    assert_eq!(envelope["detail"]["id"], "77.completed");
    watch.assert_logs_hold_no_personal_data(&[]);
}
