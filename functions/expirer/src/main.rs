//! Lambda function `expirer`: on its EventBridge schedule, ends overdue transfers as expired.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_expirer_function().await
}
