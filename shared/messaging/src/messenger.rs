//! The port messages leave through, and its adapters: SNS for SMS and SES v2 for email in
//! AWS, an in-memory outbox on a laptop.

use async_trait::async_trait;
use std::sync::Mutex;
use titolare_domain::otp::Channel;

/// One message ready to go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Envelope {
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider} refused the message: {reason}")]
pub struct SendError {
    pub provider: &'static str,
    /// The provider's error code or a short reason; never the message or its recipient.
    pub reason: String,
}

#[async_trait]
pub trait Messenger: Send + Sync {
    /// Sends one message and returns the provider's message id.
    async fn send(&self, envelope: &Envelope) -> Result<String, SendError>;
}

/// SMS through SNS `Publish` (transactional, with a sender id), email through SES v2
/// `SendEmail` (plain text and HTML).
pub struct AwsMessenger {
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// Verified SES identity the emails come from.
    pub from: String,
    /// Alphanumeric SMS sender id (where the country allows it).
    pub sender_id: String,
    /// The SES configuration set every email goes with: its event destination reports
    /// deliveries, bounces and complaints back (docs/rules.md, "Delivery").
    pub configuration_set: Option<String>,
}

fn provider_error<E: aws_sdk_sns::error::ProvideErrorMetadata>(
    provider: &'static str,
    e: &E,
) -> SendError {
    SendError {
        provider,
        reason: e.code().unwrap_or("unreachable").to_owned(),
    }
}

/// A transfer the SDK could not even build (an empty field).
fn build_error(provider: &'static str) -> impl Fn(aws_sdk_sns::error::BuildError) -> SendError {
    move |_| SendError {
        provider,
        reason: "invalid request".into(),
    }
}

#[async_trait]
impl Messenger for AwsMessenger {
    async fn send(&self, envelope: &Envelope) -> Result<String, SendError> {
        match envelope.channel {
            Channel::Sms => {
                use aws_sdk_sns::types::MessageAttributeValue;
                let attribute = |value: &str| {
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(value)
                        .build()
                };
                let out = self
                    .sns
                    .publish()
                    .phone_number(&envelope.to)
                    .message(&envelope.text)
                    .message_attributes(
                        "AWS.SNS.SMS.SMSType",
                        attribute("Transactional").map_err(build_error("sns"))?,
                    )
                    .message_attributes(
                        "AWS.SNS.SMS.SenderID",
                        attribute(&self.sender_id).map_err(build_error("sns"))?,
                    )
                    .send()
                    .await
                    .map_err(|e| provider_error("sns", &e))?;
                Ok(out.message_id.unwrap_or_default())
            }
            Channel::Email => {
                use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
                let content = |text: &str| Content::builder().data(text).charset("UTF-8").build();
                let message = Message::builder()
                    .subject(content(&envelope.subject).map_err(build_error("ses"))?)
                    .body(
                        Body::builder()
                            .text(content(&envelope.text).map_err(build_error("ses"))?)
                            .html(content(&envelope.html).map_err(build_error("ses"))?)
                            .build(),
                    )
                    .build();
                let out = self
                    .ses
                    .send_email()
                    .from_email_address(&self.from)
                    .set_configuration_set_name(self.configuration_set.clone())
                    .destination(Destination::builder().to_addresses(&envelope.to).build())
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await
                    .map_err(|e| provider_error("ses", &e))?;
                Ok(out.message_id.unwrap_or_default())
            }
        }
    }
}

/// A sent message as the local outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    /// The id it was taken under, as a provider's (what `/dev/outbox/report` names).
    pub id: String,
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sent_at: String,
}

/// A destination the local outbox never delivers to, so a person (or a test) can see what a
/// failed delivery looks like ("non consegnato: invia di nuovo"), as providers' magic test
/// numbers do.
pub const UNDELIVERABLE_SMS: &str = "+393339999999";

/// The developer's outbox: keeps every message and prints it to the terminal, code
/// included, which is what a local outbox is for.
#[derive(Default)]
pub struct LocalOutbox {
    sent: Mutex<Vec<OutboxEntry>>,
    /// When this outbox began, so ids stay unique across restarts of the gateway (a
    /// provider's id names one message for good).
    boot: std::sync::OnceLock<i128>,
}

impl LocalOutbox {
    /// Newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        let mut entries = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        entries.reverse();
        entries
    }
}

#[async_trait]
impl Messenger for LocalOutbox {
    async fn send(&self, envelope: &Envelope) -> Result<String, SendError> {
        if envelope.to == UNDELIVERABLE_SMS {
            return Err(SendError {
                provider: "local",
                reason: "undeliverable test number".into(),
            });
        }
        let boot = *self
            .boot
            .get_or_init(|| jiff::Timestamp::now().as_nanosecond());
        let mut sent = self.sent.lock().map_err(|_| SendError {
            provider: "local",
            reason: "outbox lock poisoned".into(),
        })?;
        let id = format!("local-{boot:x}-{}", sent.len() + 1);
        let entry = OutboxEntry {
            id: id.clone(),
            channel: envelope.channel,
            to: envelope.to.clone(),
            subject: envelope.subject.clone(),
            text: envelope.text.clone(),
            html: envelope.html.clone(),
            sent_at: jiff::Timestamp::now().to_string(),
        };
        eprintln!(
            "\n--- outbox: {} to {} ---\n{}{}\n---",
            envelope.channel.as_str(),
            envelope.to,
            if envelope.subject.is_empty() {
                String::new()
            } else {
                format!("Oggetto: {}\n", envelope.subject)
            },
            envelope.text
        );
        sent.push(entry);
        Ok(id)
    }
}
