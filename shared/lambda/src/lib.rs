//! The part of every Lambda function that is not business: read config once, build the AWS
//! clients once per cold start, log JSON, and hand each event to the shared handlers.

pub mod delivery;
pub mod emf;
pub mod inventory;
pub mod platform;
pub mod sqs;
pub mod tls;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::{Error, service_fn};
use std::sync::Arc;
use titolare_api::routes::Route;
use titolare_api::{App, Services};
use titolare_domain::metrics::Metrics;
use titolare_domain::otp::CodePolicy;
use titolare_domain::secret::SecretKey;
use titolare_messaging::{AwsMessenger, Dispatcher};
use titolare_store::TableStore;
use titolare_store::clock::SystemClock;
use titolare_store_dynamodb::DynamoBackend;

/// JSON logs for CloudWatch; the runtime's span puts the Lambda request id on every line.
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .finish()
        .with(log_filter())
        .init();
}

/// `RUST_LOG` as levels per target ("info", "warn,titolare_api=debug"), `info` when unset or
/// unreadable. Not `EnvFilter`: its span and field directives are not needed here, and it
/// brings `matchers`, which turns on regex-automata's full DFAs for every regex in the
/// process (the phone rules' then took longer to compile on a cold start).
pub fn log_filter() -> tracing_subscriber::filter::Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing_subscriber::filter::LevelFilter::INFO)
        })
}

fn required_env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The secret key: from `TITOLARE_SECRET_KEY` where given (local emulation, tests), else
/// the SecureString SSM parameter named by `SECRET_KEY_PARAMETER`.
async fn secret_key(sdk: &aws_config::SdkConfig) -> Result<SecretKey, Error> {
    if let Ok(key) = std::env::var("TITOLARE_SECRET_KEY") {
        return Ok(SecretKey::parse(&key)?);
    }
    let name = required_env("SECRET_KEY_PARAMETER")?;
    let out = aws_sdk_ssm::Client::new(sdk)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await?;
    let value = out
        .parameter
        .and_then(|p| p.value)
        .ok_or("the secret key parameter is empty")?;
    Ok(SecretKey::parse(&value)?)
}

/// The code rules, with the SMS country codes from `SMS_COUNTRY_CODES` ("39,41").
fn code_policy() -> Result<CodePolicy, Error> {
    let mut policy = CodePolicy::default();
    if let Ok(codes) = std::env::var("SMS_COUNTRY_CODES") {
        policy.sms_country_codes = codes
            .split(',')
            .map(|c| c.trim().trim_start_matches('+').parse())
            .collect::<Result<_, _>>()
            .map_err(|_| "SMS_COUNTRY_CODES: comma-separated calling codes, e.g. 39,41")?;
    }
    // The limits across requests (SMS against pumping, emails per account).
    for (name, limit) in [
        (
            "SMS_LIMIT_PER_NUMBER_PER_HOUR",
            &mut policy.sms_per_destination,
        ),
        ("SMS_LIMIT_PER_ACCOUNT_PER_DAY", &mut policy.sms_per_account),
        (
            "EMAIL_LIMIT_PER_ACCOUNT_PER_DAY",
            &mut policy.emails_per_account,
        ),
    ] {
        if let Ok(value) = std::env::var(name) {
            limit.max = value
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}: a positive whole number"))?;
        }
    }
    Ok(policy)
}

struct Wiring {
    sdk: aws_config::SdkConfig,
    store: Arc<TableStore>,
    clock: Arc<SystemClock>,
    metrics: Arc<dyn Metrics>,
}

async fn wiring() -> Result<Wiring, Error> {
    let table = required_env("TABLE_NAME")?;
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    // The SDK's defaults from the environment, with the compiled-in trust store.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(tls::https_client())
        .load()
        .await;
    let clock = Arc::new(SystemClock);
    let backend = Arc::new(DynamoBackend::new(
        titolare_store_dynamodb::client_from(&sdk),
        table,
    ));
    Ok(Wiring {
        store: Arc::new(TableStore::new(backend, clock.clone())),
        clock,
        sdk,
        metrics: Arc::new(emf::EmfMetrics::new(&function)),
    })
}

/// Serves `routes` (the constants of `titolare_api::routes` its `main.rs` names) until the
/// runtime stops. For functions whose routes do not need the secret key: their binaries do
/// not link the SSM client.
pub async fn run_http_function(routes: &'static [Route]) -> Result<(), Error> {
    init_tracing();
    if routes.iter().any(Route::needs_secret) {
        return Err("these routes need the secret key: use run_http_function_with_secret".into());
    }
    serve(routes, wiring().await?, None).await
}

/// Serves `routes`, which derive codes or check links, with the secret key.
pub async fn run_http_function_with_secret(routes: &'static [Route]) -> Result<(), Error> {
    init_tracing();
    let w = wiring().await?;
    let key = secret_key(&w.sdk).await?;
    serve(routes, w, Some(key)).await
}

async fn serve(routes: &'static [Route], w: Wiring, key: Option<SecretKey>) -> Result<(), Error> {
    let function = routes.first().map(|r| r.function).ok_or("no routes")?;
    if routes.iter().any(|r| r.function != function) {
        return Err(format!("routes of more than one function given to {function}").into());
    }
    let services = Services {
        store: w.store,
        clock: w.clock,
        key,
        codes: code_policy()?,
        rules: titolare_api::config::deployed_rules_from_env()?,
        metrics: w.metrics,
    };
    // In AWS, CloudFront's secret is required: a function must not serve calls that went
    // around the web ACL (docs/security.md).
    let secret = std::env::var("ORIGIN_VERIFY_SECRET")
        .ok()
        .filter(|s| s.len() >= 32)
        .ok_or("ORIGIN_VERIFY_SECRET: CloudFront's secret header value, at least 32 characters")?;
    let app = Arc::new(App::with_routes(services, routes).behind_cloudfront(&secret));
    lambda_http::run(service_fn(move |request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(app.handle(request).await) }
    }))
    .await
}

/// Messages one sweep sends at most (each takes one provider call, well within 30 s).
const SWEEP_BATCH: usize = 50;

/// The stream consumer that sends outbox records through SNS (SMS) and SES v2 (email),
/// and on its schedule sweeps what the stream left unsent.
pub async fn run_dispatch_function() -> Result<(), Error> {
    init_tracing();
    let w = wiring().await?;
    let messenger = AwsMessenger {
        sns: aws_sdk_sns::Client::new(&w.sdk),
        ses: aws_sdk_sesv2::Client::new(&w.sdk),
        from: required_env("EMAIL_FROM")?,
        sender_id: std::env::var("SMS_SENDER_ID").unwrap_or_else(|_| "PECInfo".into()),
        configuration_set: std::env::var("SES_CONFIGURATION_SET")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let key = secret_key(&w.sdk).await?;
    let base = required_env("PUBLIC_BASE_URL")?;
    let relay = Arc::new(platform::Relay {
        store: w.store.clone(),
        queue: Arc::new(sqs::SqsPlatform {
            client: aws_sdk_sqs::Client::new(&w.sdk),
            queue_url: required_env("PLATFORM_QUEUE_URL")?,
        }),
        clock: w.clock.clone(),
        rules: titolare_api::config::deployed_rules_from_env()?,
        metrics: w.metrics.clone(),
        bus: Arc::new(sqs::EventBridgeBus {
            client: aws_sdk_eventbridge::Client::new(&w.sdk),
            bus_name: required_env("EVENT_BUS_NAME")?,
        }),
    });
    let dispatcher = Arc::new(
        Dispatcher::new(w.store, Arc::new(messenger), key, w.clock)
            .with_public_base_url(&base)
            .with_sender(
                &required_env("PROVIDER_NAME")?,
                &required_env("SUPPORT_CONTACT")?,
            )
            .with_metrics(w.metrics),
    );
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| {
            let (dispatcher, relay) = (dispatcher.clone(), relay.clone());
            async move {
                // The schedule's sweep: messages the stream left unsent.
                if event.payload.get("sweep").is_some() {
                    let report = dispatcher.sweep(SWEEP_BATCH).await?;
                    return Ok::<_, Error>(serde_json::to_value(report)?);
                }
                let stream: titolare_messaging::stream::StreamEvent =
                    serde_json::from_value(event.payload)?;
                let mut response = titolare_messaging::stream::handle(&dispatcher, &stream).await;
                response
                    .batch_item_failures
                    .extend(relay.handle(&stream).await);
                Ok::<_, Error>(serde_json::to_value(response)?)
            }
        },
    ))
    .await
}

/// The mail platform's acknowledgement queue's consumer (`platform-acks`): records each one;
/// one that can never be recorded goes to `PLATFORM_ACK_DLQ_URL` with its reason.
pub async fn run_platform_acks_function() -> Result<(), Error> {
    run_queue_consumer("PLATFORM_ACK_DLQ_URL", |q, event| async move {
        platform::acks(&q.store, &*q.dead_letters, &*q.metrics, &event).await
    })
    .await
}

/// The inventory queue's consumer (`inventory-ingest`): applies each message, sends the
/// invalid ones to the dead-letter queue `INVENTORY_DLQ_URL` names.
pub async fn run_inventory_function() -> Result<(), Error> {
    run_queue_consumer("INVENTORY_DLQ_URL", |q, event| async move {
        inventory::handle(&*q.store, &*q.dead_letters, &*q.metrics, &event).await
    })
    .await
}

/// What an SQS consumer works with, built once per cold start.
struct QueueConsumer {
    store: Arc<TableStore>,
    dead_letters: Arc<dyn sqs::DeadLetters>,
    metrics: Arc<dyn Metrics>,
}

/// Runs an SQS consumer whose messages that can never apply go to the queue `dlq_env` names.
async fn run_queue_consumer<F, Fut>(dlq_env: &str, handle: F) -> Result<(), Error>
where
    F: Fn(Arc<QueueConsumer>, sqs::SqsEvent) -> Fut,
    Fut: std::future::Future<Output = titolare_messaging::stream::BatchResponse>,
{
    init_tracing();
    let w = wiring().await?;
    let consumer = Arc::new(QueueConsumer {
        dead_letters: Arc::new(sqs::SqsDeadLetters {
            client: aws_sdk_sqs::Client::new(&w.sdk),
            queue_url: required_env(dlq_env)?,
        }),
        store: w.store,
        metrics: w.metrics,
    });
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<sqs::SqsEvent>| {
            let consumer = consumer.clone();
            async move { Ok::<_, Error>(serde_json::to_value(handle(consumer, event.payload).await)?) }
        },
    ))
    .await
}

/// What the expirer and the backstop work with, built once per cold start.
struct Lifecycle {
    store: Arc<TableStore>,
    clock: Arc<SystemClock>,
    rules: titolare_domain::steps::Rules,
    metrics: Arc<dyn Metrics>,
}

/// Runs an event function over the request lifecycle until the runtime stops.
async fn run_lifecycle<F, Fut>(handle: F) -> Result<(), Error>
where
    F: Fn(Arc<Lifecycle>, LambdaEvent<serde_json::Value>) -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, Error>>,
{
    init_tracing();
    let w = wiring().await?;
    let lifecycle = Arc::new(Lifecycle {
        store: w.store,
        clock: w.clock,
        rules: titolare_api::config::deployed_rules_from_env()?,
        metrics: w.metrics,
    });
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handle(lifecycle.clone(), event)
    }))
    .await
}

/// The scheduled expirer (EventBridge, every 5 minutes): ends overdue requests as `expired`
/// until none is left or the invocation nears its time limit.
pub async fn run_expirer_function() -> Result<(), Error> {
    run_lifecycle(expire).await
}

async fn expire(
    l: Arc<Lifecycle>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    const BATCH: usize = 50;
    let started = std::time::Instant::now();
    let budget = event
        .context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(std::time::Duration::from_secs(10));
    let total = titolare_api::lifecycle::expire_all_overdue(
        &*l.store,
        &*l.metrics,
        &*l.clock,
        &l.rules,
        BATCH,
        || started.elapsed() < budget,
    )
    .await
    .map_err(|e| format!("expirer: {e}"))?;
    if total.failed > 0 {
        tracing::error!(failed = total.failed, "expirer: requests left overdue");
    }
    Ok(serde_json::json!({
        "expired": total.expired,
        "completed": total.completed,
        "reminded": total.reminded,
        "skipped": total.skipped,
        "failed": total.failed,
    }))
}

/// `email-events`: SES's delivery events (EventBridge), recorded on their messages.
pub async fn run_email_events_function() -> Result<(), Error> {
    run_lifecycle(|l, event| async move {
        let tally = recorder(&l).email_event(&event.payload).await?;
        Ok(serde_json::to_value(tally)?)
    })
    .await
}

/// `sms-events`: SNS's SMS delivery status log lines (a CloudWatch Logs subscription),
/// recorded on their messages.
pub async fn run_sms_events_function() -> Result<(), Error> {
    run_lifecycle(|l, event| async move {
        let tally = recorder(&l).sms_logs(&event.payload).await?;
        Ok(serde_json::to_value(tally)?)
    })
    .await
}

fn recorder(l: &Lifecycle) -> delivery::Recorder<'_> {
    delivery::Recorder {
        store: &*l.store,
        metrics: &*l.metrics,
        rules: &l.rules,
        now: titolare_domain::ports::Clock::now(&*l.clock),
    }
}

/// The TTL backstop: a stream consumer of requests the table's TTL removed. A request still
/// running is written again as `expired`, with its outcome and notices, once.
pub async fn run_backstop_function() -> Result<(), Error> {
    run_lifecycle(backstop).await
}

async fn backstop(
    l: Arc<Lifecycle>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let mut failures = Vec::new();
    for removal in titolare_store_dynamodb::stream::ttl_removals(&event.payload) {
        let result = match &removal.transfer {
            Ok(t) => {
                match titolare_api::lifecycle::backstop(
                    &*l.store,
                    &*l.metrics,
                    &*l.clock,
                    &l.rules,
                    t,
                )
                .await
                {
                    Ok(_) => Ok(()),
                    // A request that cannot be written back will not be on a retry: report it
                    // and pass on, so it never holds up the records behind it in the shard.
                    Err(titolare_api::problem::ApiError::Store(
                        titolare_domain::ports::StoreError::Corrupt(e),
                    )) => {
                        tracing::error!(transfer = t.id.as_str(), error = %e, "backstop: request not ended; passed over");
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            // A record we cannot read will not read better on a retry.
            Err(e) => {
                tracing::error!(error = %e, "unreadable removed request");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "backstop failed; the record will be retried");
            failures.push(serde_json::json!({ "itemIdentifier": removal.sequence_number }));
        }
    }
    Ok(serde_json::json!({ "batchItemFailures": failures }))
}
pub use titolare_api::routes;
