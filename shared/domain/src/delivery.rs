//! What the email and SMS providers report after a send (docs/rules.md, "Delivery"): SES's
//! event publishing (Delivery, Bounce, Complaint, Reject, Rendering Failure, DeliveryDelay)
//! and SNS's SMS delivery status logs, read into one [`Report`] per message. "Sent" only
//! means the provider took the message; a report says whether it reached the person.
//!
//! The provider's events carry addresses and numbers: they are read into types that keep
//! none (the message id and the outcome only).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One provider's word on one message, by the id the provider gave it when it took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub provider_id: String,
    pub at: Timestamp,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The receiving server or the phone carrier took it.
    Delivered,
    /// Not delivered yet: the provider keeps trying.
    Delayed,
    /// It will not arrive.
    Failed { failure: Failure },
}

impl Outcome {
    /// Its name, one word (metrics, views).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Delayed => "delayed",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Why a message did not arrive, in the provider's categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// A permanent bounce: the address does not exist or does not take mail.
    AddressUnknown,
    /// The address is on the provider's suppression list after earlier bounces or complaints.
    Suppressed,
    /// A temporary bounce the provider gave up on (mailbox full, server refusing for now).
    Temporary,
    /// The person marked it as spam.
    Complaint,
    /// The provider refused to send it (e.g. it found a virus), or could not render it.
    NotSent,
    /// The phone carrier did not deliver the SMS, in its own words.
    Carrier { response: String },
}

impl Failure {
    /// Whether sending again to the same address or number is pointless: the person's
    /// contact must be corrected first (reminders stop, the initiator is told).
    pub fn permanent(&self) -> bool {
        matches!(
            self,
            Self::AddressUnknown | Self::Suppressed | Self::Complaint
        )
    }

    /// The reason as a person reads it after "non consegnato: ".
    pub fn words(&self) -> String {
        match self {
            Self::AddressUnknown => "l'indirizzo non esiste o non riceve email".into(),
            Self::Suppressed => {
                "l'indirizzo ha respinto i messaggi precedenti e non ne riceve altri".into()
            }
            Self::Temporary => {
                "la casella del destinatario non l'ha accettato (per esempio perché è piena)".into()
            }
            Self::Complaint => "il destinatario l'ha segnalato come indesiderato".into(),
            Self::NotSent => "il servizio di invio l'ha rifiutato".into(),
            Self::Carrier { response } => carrier_words(response).into(),
        }
    }
}

impl Failure {
    /// The reason in English, for an email in English.
    pub fn words_en(&self) -> &'static str {
        match self {
            Self::AddressUnknown => "the address does not exist or takes no email",
            Self::Suppressed => "the address bounced earlier messages and takes no more",
            Self::Temporary => "the recipient's mailbox did not accept it (it may be full)",
            Self::Complaint => "the recipient marked it as unwanted",
            Self::NotSent => "the sending service refused it",
            Self::Carrier { .. } => "the phone carrier did not deliver it",
        }
    }
}

/// SNS's provider responses, in words; an unknown one is said generically.
fn carrier_words(response: &str) -> &'static str {
    let r = response.to_ascii_lowercase();
    if r.contains("opted out") {
        "il numero ha chiesto di non ricevere SMS"
    } else if r.contains("invalid") || r.contains("not a valid") {
        "il numero non è valido"
    } else if r.contains("unreachable") || r.contains("unavailable") || r.contains("reach phone") {
        "il telefono non era raggiungibile"
    } else if r.contains("blocked") || r.contains("blocklist") || r.contains("blacklist") {
        "l'operatore telefonico ha bloccato il messaggio"
    } else {
        "l'operatore telefonico non l'ha consegnato"
    }
}

/// Why a provider's event was not read: it names no datum of the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("not JSON of the expected shape: {0}")]
    Shape(String),
    #[error("an event type this service does not record: {0}")]
    Unrecorded(String),
    #[error("a time that cannot be read")]
    Time,
}

// ---- SES event publishing -----------------------------------------------------------------

/// An SES event as event publishing writes it (the EventBridge event's `detail`, or the SNS
/// notification's message). Only what a report needs is read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: SesMail,
    #[serde(default)]
    bounce: Option<SesBounce>,
    #[serde(default)]
    complaint: Option<SesTimed>,
    #[serde(default)]
    delivery: Option<SesTimed>,
    #[serde(default)]
    delivery_delay: Option<SesTimed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: String,
    timestamp: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesBounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    timestamp: Timestamp,
}

#[derive(Deserialize)]
struct SesTimed {
    timestamp: Timestamp,
}

/// An SES event (as published to EventBridge or SNS) as a report. An EventBridge event is
/// read by its `detail`.
pub fn from_ses(event: &serde_json::Value) -> Result<Report, ReportError> {
    let detail = event.get("detail").unwrap_or(event);
    let e = SesEvent::deserialize(detail).map_err(|e| ReportError::Shape(e.to_string()))?;
    let at_send = e.mail.timestamp;
    let (at, outcome) = match e.event_type.as_str() {
        "Delivery" => (
            e.delivery.map_or(at_send, |d| d.timestamp),
            Outcome::Delivered,
        ),
        "DeliveryDelay" => (
            e.delivery_delay.map_or(at_send, |d| d.timestamp),
            Outcome::Delayed,
        ),
        "Bounce" => {
            let b = e
                .bounce
                .ok_or_else(|| ReportError::Shape("a bounce without its details".into()))?;
            let failure = match (b.bounce_type.as_str(), b.bounce_sub_type.as_str()) {
                ("Permanent", "Suppressed" | "OnAccountSuppressionList") => Failure::Suppressed,
                ("Permanent", _) => Failure::AddressUnknown,
                // "Transient" and "Undetermined": SES gave up on this message.
                _ => Failure::Temporary,
            };
            (b.timestamp, Outcome::Failed { failure })
        }
        "Complaint" => (
            e.complaint.map_or(at_send, |c| c.timestamp),
            Outcome::Failed {
                failure: Failure::Complaint,
            },
        ),
        "Reject" | "Rendering Failure" => (
            at_send,
            Outcome::Failed {
                failure: Failure::NotSent,
            },
        ),
        other => return Err(ReportError::Unrecorded(other.chars().take(40).collect())),
    };
    Ok(Report {
        provider_id: e.mail.message_id,
        at,
        outcome,
    })
}

// ---- SNS SMS delivery status logs ---------------------------------------------------------

/// One line of SNS's SMS delivery status log (CloudWatch Logs, success and failure groups).
/// The line carries the destination number too: it is not read.
#[derive(Deserialize)]
struct SmsLog {
    notification: SmsNotification,
    delivery: SmsDelivery,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsNotification {
    message_id: String,
    /// "2016-06-28 00:40:34.558", UTC.
    timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsDelivery {
    #[serde(default)]
    provider_response: String,
}

/// A line of the SMS delivery status log as a report.
pub fn from_sms_log(line: &str) -> Result<Report, ReportError> {
    let log: SmsLog = serde_json::from_str(line).map_err(|e| ReportError::Shape(e.to_string()))?;
    let at = log
        .notification
        .timestamp
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or(ReportError::Time)?;
    let outcome = match log.status.as_str() {
        "SUCCESS" => Outcome::Delivered,
        "FAILURE" => Outcome::Failed {
            failure: Failure::Carrier {
                // Bounded: the carrier's words are stored with the message.
                response: log.delivery.provider_response.chars().take(200).collect(),
            },
        },
        other => return Err(ReportError::Unrecorded(other.chars().take(40).collect())),
    };
    Ok(Report {
        provider_id: log.notification.message_id,
        at,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/../../tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn every_ses_event_type_reads_as_aws_documents_it() {
        for (file, expected) in [
            ("ses-delivery.json", Outcome::Delivered),
            ("ses-delivery-delay.json", Outcome::Delayed),
            (
                "ses-bounce-permanent.json",
                Outcome::Failed {
                    failure: Failure::AddressUnknown,
                },
            ),
            (
                "ses-bounce-transient.json",
                Outcome::Failed {
                    failure: Failure::Temporary,
                },
            ),
            (
                "ses-complaint.json",
                Outcome::Failed {
                    failure: Failure::Complaint,
                },
            ),
            (
                "ses-reject.json",
                Outcome::Failed {
                    failure: Failure::NotSent,
                },
            ),
            (
                "ses-rendering-failure.json",
                Outcome::Failed {
                    failure: Failure::NotSent,
                },
            ),
        ] {
            let report = from_ses(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(report.outcome, expected, "{file}");
            assert!(!report.provider_id.is_empty(), "{file}");
        }
        let bridged = from_ses(&fixture("eventbridge-ses-bounce.json")).unwrap();
        assert_eq!(
            bridged.outcome,
            Outcome::Failed {
                failure: Failure::AddressUnknown
            }
        );
    }

    #[test]
    fn sms_log_lines_read_with_the_carriers_reason() {
        let line = |name: &str| fixture(name).to_string();
        let ok = from_sms_log(&line("sns-sms-success.json")).unwrap();
        assert_eq!(ok.outcome, Outcome::Delivered);
        assert_eq!(ok.at.to_string(), "2016-06-28T00:40:34.558Z");
        let failed = from_sms_log(&line("sns-sms-failure.json")).unwrap();
        let Outcome::Failed { failure } = failed.outcome else {
            panic!("a failure")
        };
        assert!(!failure.permanent());
        assert_eq!(failure.words(), "il telefono non era raggiungibile");
    }

    #[test]
    fn a_refusal_names_no_datum_of_the_event() {
        let unknown = serde_json::json!({"eventType": "Open", "mail": {"messageId": "x", "timestamp": "2026-01-01T00:00:00Z"}, "open": {"ipAddress": "192.0.2.1"}});
        assert_eq!(
            from_ses(&unknown).unwrap_err(),
            ReportError::Unrecorded("Open".into())
        );
        let err = from_sms_log(r#"{"notification": {"messageId": "m", "timestamp": "ieri"}, "delivery": {"destination": "+393330000000"}, "status": "SUCCESS"}"#).unwrap_err();
        assert!(!err.to_string().contains("+39"), "{err}");
        assert!(from_sms_log("{").is_err());
    }

    #[test]
    fn only_a_lost_address_is_permanent() {
        assert!(Failure::AddressUnknown.permanent());
        assert!(Failure::Suppressed.permanent());
        assert!(Failure::Complaint.permanent());
        assert!(!Failure::Temporary.permanent());
        assert!(!Failure::NotSent.permanent());
        let opted = Failure::Carrier {
            response: "Phone number is opted out".into(),
        };
        assert_eq!(opted.words(), "il numero ha chiesto di non ricevere SMS");
    }
}
