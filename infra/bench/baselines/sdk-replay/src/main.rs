//! Cold-start baseline: load `aws_config`, build a DynamoDB client, and answer each request
//! by making the store calls in `BENCH_REPLAY` (a JSON list of `[operation, request body]`
//! pairs the cold-start bench recorded from a function's own first call), one after the
//! other, through the same SDK operations: the bare SDK function that does the same store
//! work as that function. Each call is built with a placeholder input whose serialized body
//! is replaced by the recorded one before signing; its answer, success or error, is read by
//! the SDK and dropped. A binary of its own, so `bench-sdk-get` stays the bare GetItem.
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::body::SdkBody;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let table = std::env::var("TABLE_NAME")?;
    let calls: Vec<(String, String)> = serde_json::from_str(&std::env::var("BENCH_REPLAY")?)?;
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    run(service_fn(move |_: Request| {
        let (client, table, calls) = (client.clone(), table.clone(), calls.clone());
        async move {
            for (operation, body) in calls {
                call(&client, &table, &operation, body).await?;
            }
            Ok::<_, Error>(Response::new(Body::Text("{}".into())))
        }
    }))
    .await
}

/// One recorded call through the SDK operation of its name, its body swapped in.
async fn call(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    operation: &str,
    body: String,
) -> Result<(), Error> {
    let length = body.len().to_string();
    let swap = move |request: &mut aws_smithy_runtime_api::http::Request| {
        *request.body_mut() = SdkBody::from(body.clone());
        request
            .headers_mut()
            .insert("content-length", length.clone());
    };
    let key = || AttributeValue::S(String::new());
    // Error answers (a condition the recorded call met and its replay does not) are still
    // whole round trips, read and parsed by the SDK: only a call that got no answer fails.
    macro_rules! replay {
        ($request:expr) => {{
            let sent = $request.customize().mutate_request(swap).send().await;
            match sent {
                Err(e) if e.raw_response().is_none() => Err(Error::from(e)),
                _ => Ok(()),
            }
        }};
    }
    match operation {
        "GetItem" => replay!(client.get_item().table_name(table).key("pk", key())),
        "Query" => replay!(client.query().table_name(table)),
        "UpdateItem" => replay!(client.update_item().table_name(table).key("pk", key())),
        "PutItem" => replay!(client.put_item().table_name(table).item("pk", key())),
        "DeleteItem" => replay!(client.delete_item().table_name(table).key("pk", key())),
        "TransactWriteItems" => replay!(client.transact_write_items()),
        other => Err(format!("no replay for {other}").into()),
    }
}
