//! The inventory queue's consumer: each SQS message applied through the ingest path. A
//! message that can never apply goes straight to the dead-letter queue with its reason (no
//! retries wasted on it); one the store could not apply now is reported as a batch item
//! failure, so SQS delivers it again and, after the queue's `maxReceiveCount`, dead-letters
//! it too.

use serde::Deserialize;
use titolare_api::inventory::{IngestError, ingest};
use titolare_domain::inventory::Verdict;
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::ports::InventoryWriter;
use titolare_messaging::stream::{BatchResponse, ItemFailure};

#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

#[derive(Debug, Deserialize)]
pub struct SqsMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

/// Where a message that can never apply is kept, with its reason.
#[async_trait::async_trait]
pub trait DeadLetters: Send + Sync {
    async fn dead_letter(&self, body: &str, reason: &str) -> Result<(), String>;
}

/// The dead-letter queue on SQS.
pub struct SqsDeadLetters {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

#[async_trait::async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn dead_letter(&self, body: &str, reason: &str) -> Result<(), String> {
        let reason = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason)
            .build()
            .map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("reason", reason)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// Applies every message of a batch; only those to deliver again are reported.
pub async fn handle(
    store: &dyn InventoryWriter,
    dead_letters: &dyn DeadLetters,
    metrics: &dyn Metrics,
    event: &SqsEvent,
) -> BatchResponse {
    let mut response = BatchResponse::default();
    for message in &event.records {
        let again = match ingest(store, &message.body).await {
            Ok(verdict) => {
                let outcome = match verdict {
                    Verdict::Apply => "applied",
                    Verdict::Stale => "stale",
                };
                metrics.record(Metric::InventoryMessage { outcome });
                false
            }
            Err(IngestError::Invalid(reason)) => {
                // The reason names no personal datum (InventoryError says what, not which).
                tracing::warn!(message_id = %message.message_id, reason = %reason, "inventory message dead-lettered");
                metrics.record(Metric::InventoryMessage { outcome: "invalid" });
                match dead_letters
                    .dead_letter(&message.body, &reason.to_string())
                    .await
                {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::error!(message_id = %message.message_id, error = %e, "dead-letter queue unreachable");
                        true
                    }
                }
            }
            Err(IngestError::Store(e)) => {
                tracing::error!(message_id = %message.message_id, error = %e, "inventory message not applied; delivered again");
                true
            }
        };
        if again {
            response.batch_item_failures.push(ItemFailure {
                item_identifier: message.message_id.clone(),
            });
        }
    }
    response
}
