//! Lambda function `inventory-ingest`: applies the provider's inventory messages the queue
//! delivers (docs/rules.md, "The inventory").
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    titolare_lambda::run_inventory_function().await
}
