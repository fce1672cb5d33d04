//! Cold-start baseline: what any `lambda_http` function costs before doing anything.
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::Text("hello".into())))
    }))
    .await
}
