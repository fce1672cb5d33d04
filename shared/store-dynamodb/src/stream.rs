//! DynamoDB stream records as the TTL backstop reads them: requests the service itself
//! (TTL, principal `dynamodb.amazonaws.com`) removed, from their old images.

use serde_json::{Map, Value};
use titolare_domain::transfer::Transfer;
use titolare_store::Item;

/// A DynamoDB-JSON attribute (`{"S": "x"}`, `{"M": {…}}`…) as plain JSON.
pub fn plain(attribute: &Value) -> Option<Value> {
    let (kind, value) = attribute.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "S" => value.clone(),
        "N" => serde_json::from_str(value.as_str()?).ok()?,
        "BOOL" => value.clone(),
        "NULL" => Value::Null,
        "M" => Value::Object(
            value
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), plain(v)?)))
                .collect::<Option<Map<_, _>>>()?,
        ),
        "L" => Value::Array(value.as_array()?.iter().map(plain).collect::<Option<_>>()?),
        "SS" => value.clone(),
        "NS" => Value::Array(
            value
                .as_array()?
                .iter()
                .map(|n| serde_json::from_str(n.as_str()?).ok())
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

/// A removed request: the stream record's id (for partial batch failures) and its last state.
#[derive(Debug)]
pub struct Removal {
    pub sequence_number: String,
    pub transfer: Result<Transfer, String>,
}

/// The TTL removals of requests in a stream event; anything else is ignored (the event
/// source mapping's filter lets only these through, this checks again).
pub fn ttl_removals(event: &Value) -> Vec<Removal> {
    let Some(records) = event["Records"].as_array() else {
        return vec![];
    };
    records
        .iter()
        .filter(|r| r["eventName"] == "REMOVE")
        .filter(|r| {
            r["userIdentity"]["type"] == "Service"
                && r["userIdentity"]["principalId"] == "dynamodb.amazonaws.com"
        })
        .filter(|r| r["dynamodb"]["OldImage"]["kind"]["S"] == "transfer")
        .map(|r| {
            let old = Value::Object(
                r["dynamodb"]["OldImage"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, plain(&v)?)))
                    .collect(),
            );
            let transfer = serde_json::from_value::<Item>(old)
                .map_err(|e| format!("old image: {:?}", e.classify()))
                .and_then(|item| {
                    serde_json::from_value::<Transfer>(item.data)
                        .map_err(|e| format!("request: {:?}", e.classify()))
                });
            Removal {
                sequence_number: r["dynamodb"]["SequenceNumber"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                transfer,
            }
        })
        .collect()
}
