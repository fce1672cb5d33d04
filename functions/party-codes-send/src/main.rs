//! Lambda function `party-codes-send`: the routes it names, from `titolare_api::routes`.
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function_with_secret(&[routes::PARTY_CODES_SEND]).await
}
