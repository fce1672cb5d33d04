//! Cold-start baseline: load `aws_config`, build a DynamoDB client, and answer each request
//! with one GetItem of the holder its path names (`/v1/holders/{id}` of account `demo`),
//! the least a function reading the table can do.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let table = std::env::var("TABLE_NAME")?;
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    run(service_fn(move |request: Request| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let id = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let item = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("ACC#demo".into()))
                .key("sk", AttributeValue::S(format!("HOLDER#{id}")))
                .send()
                .await?
                .item
                .unwrap_or_default();
            let body: serde_json::Map<String, serde_json::Value> = item
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone().into())))
                .collect();
            Ok::<_, Error>(Response::new(Body::Text(
                serde_json::Value::Object(body).to_string(),
            )))
        }
    }))
    .await
}
