//! Lambda function `transfers-write`: the routes it names, from `titolare_api::routes`.
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function(&[
        routes::TRANSFERS_CREATE,
        routes::MANAGEMENT_CHECK,
        routes::TRANSFERS_CANCEL,
        routes::TRANSFER_INVITATIONS,
        routes::TRANSFER_CONTACTS,
    ])
    .await
}
