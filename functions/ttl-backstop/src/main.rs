//! Lambda function `ttl-backstop`: ends transfers the table's TTL removed while still running.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_backstop_function().await
}
