//! Lambda function `platform-acks`: records the mail platform's acknowledgements the queue
//! delivers (docs/platform.md).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_platform_acks_function().await
}
