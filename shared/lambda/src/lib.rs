//! The part of every Lambda function that is not business: read config once, build the
//! DynamoDB client once per cold start, log JSON, and hand each request to `titolare_api`.

use lambda_http::{Error, service_fn};
use std::sync::Arc;
use titolare_api::{App, Services};
use titolare_store::TableStore;
use titolare_store::clock::SystemClock;
use titolare_store_dynamodb::DynamoBackend;

/// JSON logs for CloudWatch; the runtime's span puts the Lambda request id on every line.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}

fn required_env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// Serves the routes of `function` (see `titolare_api::routes::ROUTES`) until the runtime stops.
pub async fn run_http_function(function: &str) -> Result<(), Error> {
    init_tracing();
    let table = required_env("TABLE_NAME")?;
    let clock = Arc::new(SystemClock);
    let backend = Arc::new(DynamoBackend::from_env(table).await);
    let services = Services {
        store: Arc::new(TableStore::new(backend, clock.clone())),
        clock,
    };
    let app = Arc::new(App::for_function(services, function));
    if app.routes().is_empty() {
        return Err(format!("no route is served by function {function}").into());
    }
    lambda_http::run(service_fn(move |request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(app.handle(request).await) }
    }))
    .await
}
