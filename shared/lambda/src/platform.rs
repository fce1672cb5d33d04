//! The mail platform's two Lambda sides (docs/platform.md): the dispatch function relays the
//! commands of completed transfers its stream delivers to the FIFO queue, and `platform-acks`
//! records the acknowledgements the platform sends back.

use crate::sqs::{DeadLetters, Fate, SqsEvent, consume};
use std::sync::Arc;
use titolare_api::platform::{PlatformError, record_ack, relay};
use titolare_domain::metrics::Metrics;
use titolare_domain::ports::{Clock, Platform};
use titolare_domain::transfer::TransferId;
use titolare_messaging::stream::{BatchResponse, ItemFailure, StreamEvent};
use titolare_store::TableStore;

pub struct Relay {
    pub store: Arc<TableStore>,
    pub queue: Arc<dyn Platform>,
    pub clock: Arc<dyn Clock>,
    pub rules: titolare_domain::steps::Rules,
    pub metrics: Arc<dyn Metrics>,
    pub bus: Arc<dyn titolare_domain::ports::EventBus>,
}

impl Relay {
    /// Relays the commands of each transfer record of the event (the event source mapping's
    /// filter lets completed transfers through), and takes out of its running transfer each
    /// mailbox or domain the inventory changed (docs/rules.md, "The inventory"); the
    /// failures, for Lambda to retry.
    pub async fn handle(&self, event: &StreamEvent) -> Vec<ItemFailure> {
        let mut failures = Vec::new();
        for record in &event.records {
            let keys = &record.dynamodb.keys;
            if record.event_name == "REMOVE" {
                continue;
            }
            if let Some((account, item)) =
                titolare_store::keys::inventory_item(&keys.pk.s, &keys.sk.s)
            {
                let changed = titolare_api::lifecycle::inventory_changed(
                    &*self.store,
                    &*self.metrics,
                    &*self.clock,
                    &self.rules,
                    &account,
                    &item,
                )
                .await;
                if let Err(e) = changed {
                    tracing::error!(error = %e, "inventory change not applied to its transfer");
                    failures.push(ItemFailure {
                        item_identifier: record.dynamodb.sequence_number.clone(),
                    });
                }
                continue;
            }
            let Some(id) = keys
                .pk
                .s
                .strip_prefix("TRANSFER#")
                .and_then(|id| TransferId::parse(id).ok())
            else {
                continue;
            };
            // An ending's outcome marker, written once: its domain event.
            if keys.sk.s == "OUTCOME" && record.event_name == "INSERT" {
                if let Err(e) =
                    titolare_api::events::publish_ended(&*self.store, &*self.bus, &id).await
                {
                    tracing::error!(transfer = id.as_str(), error = %e, "domain event not published");
                    failures.push(ItemFailure {
                        item_identifier: record.dynamodb.sequence_number.clone(),
                    });
                }
                continue;
            }
            if keys.sk.s != "TRANSFER" {
                continue;
            }
            if let Err(e) = relay(&*self.store, &*self.queue, &*self.clock, &id).await {
                tracing::error!(transfer = id.as_str(), error = %e, "platform commands not relayed");
                failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
            }
        }
        failures
    }
}

/// Records every acknowledgement of a batch; only those to deliver again are reported.
pub async fn acks(
    store: &TableStore,
    dead_letters: &dyn DeadLetters,
    metrics: &dyn Metrics,
    event: &SqsEvent,
) -> BatchResponse {
    consume(event, dead_letters, "acknowledgement", |body| async move {
        match record_ack(store, metrics, body).await {
            Ok(_) => Fate::Done,
            Err(PlatformError::Invalid(reason)) => Fate::Invalid(reason),
            Err(PlatformError::Unavailable(e)) => Fate::Again(e),
        }
    })
    .await
}
