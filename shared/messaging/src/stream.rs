//! The DynamoDB stream as the dispatcher sees it: new outbox records to send. Records
//! whose send fails are reported back as batch item failures, so Lambda retries them,
//! bisects the batch, and finally hands them to the dead-letter queue.

use crate::dispatch::{DispatchError, Dispatched, Dispatcher};
use serde::{Deserialize, Serialize};
use titolare_domain::transfer::TransferId;

#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "Keys")]
    pub keys: Keys,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

#[derive(Debug, Deserialize)]
pub struct Keys {
    pub pk: StringAttribute,
    pub sk: StringAttribute,
}

#[derive(Debug, Deserialize)]
pub struct StringAttribute {
    #[serde(rename = "S")]
    pub s: String,
}

/// Lambda's partial batch response.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The transfer and message an outbox item's keys name (`TRANSFER#<id>`, `OUTBOX#<message>`).
pub fn outbox_key(pk: &str, sk: &str) -> Option<(TransferId, String)> {
    let transfer = TransferId::parse(pk.strip_prefix("TRANSFER#")?).ok()?;
    let message = sk.strip_prefix("OUTBOX#")?;
    Some((transfer, message.to_owned()))
}

/// Sends the outbox records an event inserted. Records are independent: one failing
/// does not stop the others, and only the failing ones are reported.
pub async fn handle(dispatcher: &Dispatcher, event: &StreamEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in &event.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let Some((transfer, message)) =
            outbox_key(&record.dynamodb.keys.pk.s, &record.dynamodb.keys.sk.s)
        else {
            continue;
        };
        match dispatcher.dispatch(&transfer, &message).await {
            // Another invocation holds the claim; it may die before sending, so Lambda
            // must retry this record (the sweep takes it once the claim lapses).
            Ok(Dispatched::InProgress) => {
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                if !matches!(e, DispatchError::Send(_)) {
                    tracing::error!(message = %message, error = %e, "dispatch failed");
                }
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_keys_parse() {
        assert_eq!(
            outbox_key("TRANSFER#42", "OUTBOX#42-initiator-sms-1"),
            Some((TransferId::from_number(42), "42-initiator-sms-1".into()))
        );
        assert_eq!(outbox_key("ACC#demo", "OUTBOX#x"), None);
        assert_eq!(outbox_key("TRANSFER#42", "CHALLENGE#initiator#sms"), None);
    }
}
