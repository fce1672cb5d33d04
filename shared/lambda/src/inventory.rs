//! The inventory queue's consumer: each SQS message applied through the ingest path. A
//! message that can never apply goes straight to the dead-letter queue with its reason (no
//! retries wasted on it); one the store could not apply now is reported as a batch item
//! failure, so SQS delivers it again and, after the queue's `maxReceiveCount`, dead-letters
//! it too.

use crate::sqs::{DeadLetters, SqsEvent};
use titolare_api::inventory::{IngestError, ingest};
use titolare_domain::inventory::Verdict;
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::ports::InventoryWriter;
use titolare_messaging::stream::{BatchResponse, ItemFailure};

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
