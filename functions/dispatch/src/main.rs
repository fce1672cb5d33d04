//! Lambda function `dispatch`: sends the outbox records the table's stream delivers.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_dispatch_function().await
}
