//! The inventory queue's consumer: each SQS message applied through the ingest path. A
//! message that can never apply goes straight to the dead-letter queue with its reason (no
//! retries wasted on it); one the store could not apply now is reported as a batch item
//! failure, so SQS delivers it again and, after the queue's `maxReceiveCount`, dead-letters
//! it too.

use crate::sqs::{DeadLetters, Fate, SqsEvent, consume};
use titolare_api::inventory::{IngestError, ingest};
use titolare_domain::inventory::Verdict;
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::ports::InventoryWriter;
use titolare_messaging::stream::BatchResponse;

/// Applies every message of a batch; only those to deliver again are reported.
pub async fn handle(
    store: &dyn InventoryWriter,
    dead_letters: &dyn DeadLetters,
    metrics: &dyn Metrics,
    event: &SqsEvent,
) -> BatchResponse {
    consume(
        event,
        dead_letters,
        "inventory message",
        |body| async move {
            match ingest(store, body).await {
                Ok(verdict) => {
                    let outcome = match verdict {
                        Verdict::Apply => "applied",
                        Verdict::Stale => "stale",
                    };
                    metrics.record(Metric::InventoryMessage { outcome });
                    Fate::Done
                }
                // The reason names no personal datum (InventoryError says what, not which).
                Err(IngestError::Invalid(reason)) => {
                    metrics.record(Metric::InventoryMessage { outcome: "invalid" });
                    Fate::Invalid(reason.to_string())
                }
                Err(IngestError::Store(e)) => Fate::Again(e.to_string()),
            }
        },
    )
    .await
}
