//! Lambda function `email-events`: SES's delivery events (EventBridge) recorded on the
//! messages they report on (docs/rules.md, "Delivery").
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_email_events_function().await
}
