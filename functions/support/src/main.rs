//! Lambda function `support`: the routes the provider's operators use, from
//! `titolare_api::routes` (docs/rules.md, "Support").
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function(&[
        routes::SUPPORT_SEARCH,
        routes::SUPPORT_GET,
        routes::SUPPORT_INVITATIONS,
        routes::SUPPORT_CODES,
        routes::SUPPORT_CANCEL,
        routes::SUPPORT_UNBLOCK,
    ])
    .await
}
