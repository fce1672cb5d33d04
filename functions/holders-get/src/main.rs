//! Lambda function `holders-get`: the routes it names, from `titolare_api::routes`.
use titolare_lambda::routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_http_function(&[routes::HOLDERS_GET]).await
}
