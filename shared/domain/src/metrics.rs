//! What an operator watches, reported through the [`Metrics`] port: counts and timings of
//! codes, messages, steps, endings, the expirer and refused calls. Every dimension is one of
//! a closed set of words (channel, party, outcome, message kind, route template), so no
//! personal data can reach a metric.

use crate::otp::{Channel, Party};
use crate::transfer::TransferStatus;

/// Every metric name the service publishes (what template.yaml's alarms and dashboard may read).
pub const PUBLISHED: &[&str] = &[
    "CodesSent",
    "MessagesDelivered",
    "DispatchLatency",
    "MessagesFailed",
    "StepsTaken",
    "RequestsEnded",
    "RequestsExpired",
    "ExpirerLag",
    "LimitRefusals",
    "InventoryMessages",
    "PlatformAcks",
    "DeliveryReports",
];

/// One thing that happened, with the figures it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    /// A one-time code was queued for its party (a send step committed).
    CodeSent { channel: Channel },
    /// The provider accepted a message; `latency_ms` runs from the outbox insert to its answer.
    MessageDelivered {
        channel: Channel,
        message: &'static str,
        latency_ms: u64,
    },
    /// A message was given up after every try.
    MessageFailed {
        channel: Channel,
        message: &'static str,
    },
    /// A party took a step of a request (code events are [`Metric::CodeSent`], endings
    /// [`Metric::RequestEnded`]).
    StepTaken { party: Party },
    /// A request reached its ending.
    RequestEnded { outcome: TransferStatus },
    /// One run of the expirer: how many it ended, and the age of the oldest overdue request
    /// it found (0 when none was overdue).
    ExpirerRun { expired: u64, lag_seconds: u64 },
    /// A call refused with 429 by a code, SMS or link limit, by route template.
    LimitRefused { route: &'static str },
    /// One message of the inventory queue: `applied`, `stale` (redelivered or out of order)
    /// or `invalid` (sent to the dead-letter queue).
    InventoryMessage { outcome: &'static str },
    /// An acknowledgement of the mail platform: `applied`, `not_applicable` or `refused`.
    PlatformAck { outcome: &'static str },
    /// A provider's report on a sent message: `delivered`, `delayed`, `failed`, or
    /// `unknown` (no message of the service has that id, e.g. past its record's life).
    DeliveryReport {
        channel: Channel,
        outcome: &'static str,
    },
}

impl Metric {
    /// The name it is published under.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CodeSent { .. } => "CodesSent",
            Self::MessageDelivered { .. } => "MessagesDelivered",
            Self::MessageFailed { .. } => "MessagesFailed",
            Self::StepTaken { .. } => "StepsTaken",
            Self::RequestEnded { .. } => "RequestsEnded",
            Self::ExpirerRun { .. } => "RequestsExpired",
            Self::LimitRefused { .. } => "LimitRefusals",
            Self::InventoryMessage { .. } => "InventoryMessages",
            Self::PlatformAck { .. } => "PlatformAcks",
            Self::DeliveryReport { .. } => "DeliveryReports",
        }
    }

    /// Its dimensions, as (name, value); every value a fixed word.
    pub fn dimensions(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            Self::CodeSent { channel } => vec![("Channel", channel.as_str())],
            Self::MessageDelivered {
                channel, message, ..
            }
            | Self::MessageFailed { channel, message } => {
                vec![("Channel", channel.as_str()), ("Message", message)]
            }
            Self::StepTaken { party } => {
                vec![("Party", party.as_str())]
            }
            Self::RequestEnded { outcome } => vec![("Outcome", outcome.as_str())],
            Self::ExpirerRun { .. } => vec![],
            Self::LimitRefused { route } => vec![("Route", route)],
            Self::InventoryMessage { outcome } | Self::PlatformAck { outcome } => {
                vec![("Outcome", outcome)]
            }
            Self::DeliveryReport { channel, outcome } => {
                vec![("Channel", channel.as_str()), ("Outcome", outcome)]
            }
        }
    }

    /// Its values, as (name, value, unit): the count first, then any timing.
    pub fn values(&self) -> Vec<(&'static str, u64, &'static str)> {
        match self {
            Self::MessageDelivered { latency_ms, .. } => vec![
                (self.name(), 1, "Count"),
                ("DispatchLatency", *latency_ms, "Milliseconds"),
            ],
            Self::ExpirerRun {
                expired,
                lag_seconds,
            } => vec![
                (self.name(), *expired, "Count"),
                ("ExpirerLag", *lag_seconds, "Seconds"),
            ],
            _ => vec![(self.name(), 1, "Count")],
        }
    }
}

/// Where metrics go: CloudWatch's embedded metric format in Lambda, nowhere locally.
pub trait Metrics: Send + Sync {
    fn record(&self, metric: Metric);
}

/// Drops every metric (the local gateway, tests that do not look).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _metric: Metric) {}
}

/// Keeps what it is given, for tests to read.
#[derive(Debug, Default)]
pub struct RecordedMetrics(std::sync::Mutex<Vec<Metric>>);

impl RecordedMetrics {
    pub fn taken(&self) -> Vec<Metric> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Metrics for RecordedMetrics {
    fn record(&self, metric: Metric) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(metric);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Channel, Party};

    #[test]
    fn every_name_and_word_is_published_and_fixed() {
        let all = [
            Metric::CodeSent {
                channel: Channel::Sms,
            },
            Metric::MessageDelivered {
                channel: Channel::Email,
                message: "code",
                latency_ms: 1,
            },
            Metric::MessageFailed {
                channel: Channel::Sms,
                message: "invitation",
            },
            Metric::StepTaken {
                party: Party::CurrentHolder,
            },
            Metric::RequestEnded {
                outcome: TransferStatus::Completed,
            },
            Metric::ExpirerRun {
                expired: 2,
                lag_seconds: 30,
            },
            Metric::LimitRefused {
                route: "/v1/party/codes",
            },
            Metric::InventoryMessage { outcome: "invalid" },
            Metric::PlatformAck { outcome: "refused" },
            Metric::DeliveryReport {
                channel: Channel::Email,
                outcome: "failed",
            },
        ];
        let mut names = std::collections::BTreeSet::new();
        for metric in &all {
            for (name, _, _) in metric.values() {
                assert!(PUBLISHED.contains(&name), "{name}");
                names.insert(name);
            }
        }
        assert_eq!(names.len(), PUBLISHED.len());
        // The outcome word is the API's.
        for status in [
            TransferStatus::Draft,
            TransferStatus::Open,
            TransferStatus::Completed,
            TransferStatus::Rejected,
            TransferStatus::Cancelled,
            TransferStatus::Expired,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                status.as_str(),
                "{status:?}"
            );
        }
    }
}
