//! Lambda function `party-steps`: the routes it names, from `titolare_api::routes`.
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function_with_secret(&[
        routes::PARTY_DECISIONS,
        routes::PARTY_HOLDER_DATA,
        routes::PARTY_CONTRACT,
        routes::PARTY_STOP,
    ])
    .await
}
