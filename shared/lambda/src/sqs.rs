//! What the SQS consumers share: Lambda's SQS event, the dead-letter queue a message that can
//! never apply goes to at once, and the mail platform's FIFO command queue.

use serde::Deserialize;
use titolare_domain::platform::Command;
use titolare_domain::ports::Platform;

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

/// What became of one message of a batch.
pub enum Fate {
    Done,
    /// It can never apply: to the dead-letter queue at once, with this reason (which names
    /// no personal datum).
    Invalid(String),
    /// Not now (the store failed): SQS delivers it again, and after the queue's
    /// `maxReceiveCount` dead-letters it.
    Again(String),
}

/// Handles every message of a batch with `apply`; only those to deliver again are reported
/// (Lambda's partial batch response). `what` names the messages in logs.
pub async fn consume<'a, F, Fut>(
    event: &'a SqsEvent,
    dead_letters: &dyn DeadLetters,
    what: &str,
    apply: F,
) -> titolare_messaging::stream::BatchResponse
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Fate>,
{
    let mut response = titolare_messaging::stream::BatchResponse::default();
    for message in &event.records {
        let again = match apply(&message.body).await {
            Fate::Done => false,
            Fate::Invalid(reason) => {
                tracing::warn!(message_id = %message.message_id, reason = %reason, "{what} dead-lettered");
                match dead_letters.dead_letter(&message.body, &reason).await {
                    Ok(()) => false,
                    Err(e) => {
                        tracing::error!(message_id = %message.message_id, error = %e, "dead-letter queue unreachable");
                        true
                    }
                }
            }
            Fate::Again(e) => {
                tracing::error!(message_id = %message.message_id, error = %e, "{what} not applied; delivered again");
                true
            }
        };
        if again {
            response
                .batch_item_failures
                .push(titolare_messaging::stream::ItemFailure {
                    item_identifier: message.message_id.clone(),
                });
        }
    }
    response
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

/// The service's EventBridge bus.
pub struct EventBridgeBus {
    pub client: aws_sdk_eventbridge::Client,
    pub bus_name: String,
}

#[async_trait::async_trait]
impl titolare_domain::ports::EventBus for EventBridgeBus {
    async fn publish(&self, event: &titolare_domain::events::TransferEnded) -> Result<(), String> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(titolare_domain::events::SOURCE)
            .detail_type(event.detail_type())
            .detail(serde_json::to_string(event).map_err(|e| e.to_string())?)
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
        if out.failed_entry_count > 0 {
            let code = out
                .entries
                .unwrap_or_default()
                .into_iter()
                .find_map(|e| e.error_code)
                .unwrap_or_default();
            return Err(format!("the bus refused the event: {code}"));
        }
        Ok(())
    }
}

/// The mail platform's command queue (SQS FIFO): one message group per mailbox or domain,
/// deduplicated by the command's id (docs/platform.md).
pub struct SqsPlatform {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

#[async_trait::async_trait]
impl Platform for SqsPlatform {
    async fn deliver(&self, command: &Command) -> Result<(), String> {
        let body = serde_json::to_string(command).map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(command.group())
            .message_deduplication_id(command.id.as_str())
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
