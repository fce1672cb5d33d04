//! The dispatcher: takes an outbox record the store committed, claims it, renders it,
//! sends it with retries and records the outcome. At least once, but a record already
//! sent (or being sent) is never sent again, so a repeated stream delivery is harmless.

use crate::messenger::{Envelope, Messenger, SendError};
use crate::templates::{Render, Secrets, Sender};
use std::sync::Arc;
use std::time::Duration;
use titolare_domain::metrics::{Metric, Metrics, NoMetrics};
use titolare_domain::otp::{ChallengeStatus, Delivery};
use titolare_domain::outbox::{DeliveryStatus, Message, OutboxMessage};
use titolare_domain::ports::{ChallengeStore, Clock, OutboxStore, StoreError, Versioned};
use titolare_domain::secret::{CodeBinding, SecretKey};
use titolare_domain::transfer::{LinkToken, PasswordResetToken, StopToken, TransferId};
use titolare_domain::values::EmailAddress;

/// What a dispatcher needs of the store.
pub trait DispatchStore: OutboxStore + ChallengeStore {}
impl<T: OutboxStore + ChallengeStore + ?Sized> DispatchStore for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    Sent,
    AlreadySent,
    /// Another dispatcher holds the claim.
    InProgress,
    /// The record is gone (its transfer ended and expired).
    Gone,
    /// A newer code replaced the one it carries, or the code was used: sending it would mislead.
    Superseded,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The message was recorded as failed ("non consegnato") after every retry.
    #[error("send failed: {0}")]
    Send(#[from] SendError),
    #[error("outbox record {0} has no destination")]
    NoDestination(String),
}

/// How long a claim holds before another dispatcher may take the record over: longer than
/// the dispatch function's time limit (30 s), so a live dispatcher is never overtaken.
const CLAIM: jiff::SignedDuration = titolare_domain::outbox::DISPATCH_LEASE;

/// What one sweep of the unsent index did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub sent: usize,
    /// Sent, superseded or gone meanwhile: dropped from the index.
    pub settled: usize,
    /// Still claimed by a live dispatcher: left for the next sweep.
    pub in_progress: usize,
    pub failed: usize,
}

pub struct Dispatcher {
    store: Arc<dyn DispatchStore>,
    messenger: Arc<dyn Messenger>,
    key: SecretKey,
    clock: Arc<dyn Clock>,
    /// Tries per dispatch, and the first pause between them (doubling).
    tries: u32,
    pause: Duration,
    /// Where the links in emails point: `<base>/gestisci#token=…`, `<base>/password#token=…`.
    public_base_url: String,
    /// Who signs the emails; its panel address follows `public_base_url`.
    sender: Sender,
    metrics: Arc<dyn Metrics>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn DispatchStore>,
        messenger: Arc<dyn Messenger>,
        key: SecretKey,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            messenger,
            key,
            clock,
            tries: 3,
            pause: Duration::from_millis(200),
            public_base_url: "http://127.0.0.1:3000".into(),
            sender: Sender {
                panel_url: "http://127.0.0.1:3000/".into(),
                ..Sender::example()
            },
            metrics: Arc::new(NoMetrics),
        }
    }

    /// Where deliveries, failures and their latency are reported.
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn with_public_base_url(mut self, url: &str) -> Self {
        self.public_base_url = url.trim_end_matches('/').to_owned();
        self.sender.panel_url = format!("{}/", self.public_base_url);
        self
    }

    /// The provider's legal name and support contact, as the deployment gives them.
    pub fn with_sender(mut self, legal_name: &str, support: &str) -> Self {
        self.sender.legal_name = legal_name.trim().to_owned();
        self.sender.support = support.trim().to_owned();
        self
    }

    pub fn with_retries(mut self, tries: u32, pause: Duration) -> Self {
        self.tries = tries.max(1);
        self.pause = pause;
        self
    }

    /// Sends every message the unsent index holds past its lease (at most `limit`): the
    /// ones a lost stream delivery or a dispatcher that died after its claim left behind.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        for (transfer, id) in self.store.unsent(self.clock.now(), limit).await? {
            match self.dispatch(&transfer, &id).await {
                Ok(Dispatched::Sent) => report.sent += 1,
                Ok(Dispatched::InProgress) => report.in_progress += 1,
                Ok(_) => report.settled += 1,
                Err(e) => {
                    tracing::warn!(message = %id, error = %e, "sweep: message not sent");
                    report.failed += 1;
                }
            }
        }
        if report != SweepReport::default() {
            tracing::info!(
                sent = report.sent,
                settled = report.settled,
                in_progress = report.in_progress,
                failed = report.failed,
                "outbox sweep"
            );
        }
        Ok(report)
    }

    pub async fn dispatch(
        &self,
        transfer: &TransferId,
        message_id: &str,
    ) -> Result<Dispatched, DispatchError> {
        let outcome = self.dispatch_once(transfer, message_id).await?;
        if matches!(
            outcome,
            Dispatched::AlreadySent | Dispatched::Superseded | Dispatched::Gone
        ) {
            // Nothing left to send: the sweep need not look at it again.
            self.store.settle_outbox(transfer, message_id).await?;
        }
        Ok(outcome)
    }

    async fn dispatch_once(
        &self,
        transfer: &TransferId,
        message_id: &str,
    ) -> Result<Dispatched, DispatchError> {
        let now = self.clock.now();
        let Some(current) = self.store.outbox_message(transfer, message_id).await? else {
            return Ok(Dispatched::Gone);
        };
        match current.value.status {
            DeliveryStatus::Sent => return Ok(Dispatched::AlreadySent),
            DeliveryStatus::Sending
                if current.value.claimed_until.is_some_and(|until| until > now) =>
            {
                return Ok(Dispatched::InProgress);
            }
            _ => {}
        }
        if matches!(current.value.message, Message::Code { .. })
            && self
                .challenge_with(&current.value, Delivery::Queued)
                .await?
                .is_none()
        {
            return Ok(Dispatched::Superseded);
        }
        let mut claimed = current.value.clone();
        claimed.status = DeliveryStatus::Sending;
        claimed.claimed_until = Some(now + CLAIM);
        claimed.attempts += 1;
        match self
            .store
            .update_outbox(current.version, &claimed, None)
            .await
        {
            Err(StoreError::Conflict) => return Ok(Dispatched::InProgress),
            other => other?,
        }
        let envelope = self.envelope(&claimed)?;
        let result = self.send_with_retries(&envelope).await;
        let (channel, message) = (claimed.channel, claimed.message.kind());
        self.metrics.record(match &result {
            Ok(_) => Metric::MessageDelivered {
                channel,
                message,
                latency_ms: self
                    .clock
                    .now()
                    .duration_since(claimed.created_at)
                    .as_millis()
                    .clamp(0, u64::MAX.into()) as u64,
            },
            Err(_) => Metric::MessageFailed { channel, message },
        });
        let mut done = claimed.clone();
        done.claimed_until = None;
        let delivery = match &result {
            Ok(provider_id) => {
                done.status = DeliveryStatus::Sent;
                done.provider_id = Some(provider_id.clone());
                done.error = None;
                // The destination was needed to derive and send; it need not stay.
                done.to = None;
                Delivery::Sent
            }
            Err(e) => {
                done.status = DeliveryStatus::Failed;
                done.error = Some(e.to_string());
                Delivery::Failed
            }
        };
        let challenge = self.challenge_with(&claimed, delivery).await?;
        match self
            .store
            .update_outbox(current.version + 1, &done, challenge.as_ref())
            .await
        {
            // The challenge moved on meanwhile (a resend): record the message alone.
            Err(StoreError::Conflict) if challenge.is_some() => {
                self.store
                    .update_outbox(current.version + 1, &done, None)
                    .await?
            }
            other => other?,
        }
        tracing::info!(message = %claimed.id, status = ?done.status, attempts = done.attempts, "outbox message dispatched");
        result
            .map(|_| Dispatched::Sent)
            .map_err(DispatchError::Send)
    }

    /// The challenge whose code this message carries, with its delivery updated, if the
    /// message still carries its current code.
    async fn challenge_with(
        &self,
        message: &OutboxMessage,
        delivery: Delivery,
    ) -> Result<Option<Versioned<titolare_domain::otp::Challenge>>, StoreError> {
        let Message::Code { party, send_no } = message.message else {
            return Ok(None);
        };
        let Some(mut challenge) = self
            .store
            .challenge(&message.transfer, party, message.channel)
            .await?
        else {
            return Ok(None);
        };
        if challenge.value.sends != send_no || challenge.value.status != ChallengeStatus::Pending {
            return Ok(None);
        }
        challenge.value.delivery = delivery;
        Ok(Some(challenge))
    }

    fn envelope(&self, message: &OutboxMessage) -> Result<Envelope, DispatchError> {
        let to = message
            .to
            .clone()
            .ok_or_else(|| DispatchError::NoDestination(message.id.clone()))?;
        let rendered = message.render(
            &KeySecrets {
                key: &self.key,
                base: &self.public_base_url,
            },
            &self.sender,
        );
        Ok(Envelope {
            channel: message.channel,
            to,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        })
    }

    async fn send_with_retries(&self, envelope: &Envelope) -> Result<String, SendError> {
        let mut pause = self.pause;
        let mut last = None;
        for attempt in 1..=self.tries {
            match self.messenger.send(envelope).await {
                Ok(id) => return Ok(id),
                Err(e) => {
                    tracing::warn!(attempt, provider = e.provider, reason = %e.reason, "send failed");
                    last = Some(e);
                    if attempt < self.tries {
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                }
            }
        }
        Err(last.unwrap_or(SendError {
            provider: "none",
            reason: "no try made".into(),
        }))
    }
}

/// The codes and links of a message, derived under the secret key as it is sent; the pages
/// they open are under `base` (the panel's public address).
struct KeySecrets<'a> {
    key: &'a SecretKey,
    base: &'a str,
}

impl Secrets for KeySecrets<'_> {
    fn code(
        &self,
        message: &OutboxMessage,
        party: titolare_domain::otp::Party,
        send_no: u32,
    ) -> titolare_domain::secret::OneTimeCode {
        self.key.one_time_code(&CodeBinding {
            transfer: message.transfer.as_str(),
            party: party.as_str(),
            channel: message.channel.as_str(),
            destination: message.to.as_deref().unwrap_or_default(),
            send_no,
        })
    }

    fn invitation_link(
        &self,
        message: &OutboxMessage,
        party: titolare_domain::otp::Party,
        generation: u32,
    ) -> String {
        let token = LinkToken::issue_generation(self.key, &message.transfer, party, generation);
        format!("{}/gestisci#token={token}", self.base)
    }

    fn stop_link(&self, message: &OutboxMessage, party: titolare_domain::otp::Party) -> String {
        let token = StopToken::issue(self.key, &message.transfer, party);
        format!("{}/blocca#token={token}", self.base)
    }

    fn reset_links(
        &self,
        message: &OutboxMessage,
        account: &titolare_domain::AccountId,
        mailboxes: &[String],
        issued_at: jiff::Timestamp,
    ) -> Vec<(String, String)> {
        mailboxes
            .iter()
            .filter_map(|m| EmailAddress::parse(m).ok())
            .map(|m| {
                let token =
                    PasswordResetToken::issue(self.key, account, &m, issued_at, &message.transfer);
                let url = format!("{}/password#token={token}", self.base);
                (m.as_str().to_owned(), url)
            })
            .collect()
    }
}
