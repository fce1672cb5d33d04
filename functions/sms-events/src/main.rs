//! Lambda function `sms-events`: SNS's SMS delivery status logs (a CloudWatch Logs
//! subscription) recorded on the messages they report on (docs/rules.md, "Delivery").
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_sms_events_function().await
}
