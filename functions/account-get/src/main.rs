//! Lambda function `account-get`: the route(s) of that name in `titolare_api::routes`.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function("account-get").await
}
