//! Lambda function `password-reset`: the routes it names, from `titolare_api::routes`.
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function_with_secret(&[
        routes::PASSWORD_RESET,
        routes::PASSWORD_RESET_LINK,
        routes::PASSWORD_RESET_CHECK,
        routes::MAILBOX_RESET_LINK,
    ])
    .await
}
