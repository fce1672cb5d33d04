//! The providers' delivery reports (docs/rules.md, "Delivery"): `email-events` reads SES's
//! events as EventBridge delivers them, `sms-events` the lines of SNS's SMS delivery status
//! logs as a CloudWatch Logs subscription delivers them (gzipped, base64). Each report is
//! recorded by `titolare_api::delivery`; recording twice changes nothing, so a retried
//! invocation is safe. An event of a shape or type the service does not record is dropped
//! with a log line (retrying it could never help); a store failure fails the invocation, for
//! Lambda to retry.

use base64::Engine;
use std::io::Read;
use titolare_api::delivery::{Recorded, record};
use titolare_domain::delivery::{Report, ReportError, from_ses, from_sms_log};
use titolare_domain::metrics::{Metric, Metrics};
use titolare_domain::otp::Channel;
use titolare_domain::ports::Store;
use titolare_domain::steps::Rules;

/// What one invocation did, as the function answers it (and the tests read it).
#[derive(Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct Tally {
    pub recorded: u32,
    pub unchanged: u32,
    pub unknown: u32,
    pub dropped: u32,
}

/// What a report needs around it.
pub struct Recorder<'a> {
    pub store: &'a dyn Store,
    pub metrics: &'a dyn Metrics,
    pub rules: &'a Rules,
    pub now: jiff::Timestamp,
}

impl Recorder<'_> {
    async fn one(
        &self,
        channel: Channel,
        report: Result<Report, ReportError>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let report = match report {
            Ok(report) => report,
            // SES also publishes sends, opens and clicks: not recorded, not an error.
            Err(ReportError::Unrecorded(kind)) => {
                tracing::info!(kind, "provider event not recorded");
                tally.dropped += 1;
                return Ok(());
            }
            Err(e) => {
                tracing::error!(error = %e, "provider event unreadable, dropped");
                tally.dropped += 1;
                return Ok(());
            }
        };
        match record(self.store, self.metrics, self.rules, self.now, &report).await {
            Ok(Recorded::Recorded) => tally.recorded += 1,
            Ok(Recorded::Unchanged) => tally.unchanged += 1,
            Ok(Recorded::Unknown) => {
                self.metrics.record(Metric::DeliveryReport {
                    channel,
                    outcome: "unknown",
                });
                tally.unknown += 1;
            }
            Err(e) => return Err(format!("delivery report not recorded: {}", e.detail())),
        }
        Ok(())
    }

    /// An SES event from EventBridge (the SES event in `detail`).
    pub async fn email_event(&self, event: &serde_json::Value) -> Result<Tally, String> {
        let mut tally = Tally::default();
        self.one(Channel::Email, from_ses(event), &mut tally)
            .await?;
        Ok(tally)
    }

    /// A CloudWatch Logs subscription's batch of SMS delivery status lines.
    pub async fn sms_logs(&self, event: &serde_json::Value) -> Result<Tally, String> {
        let mut tally = Tally::default();
        let lines = match log_lines(event) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::error!(error = %e, "log subscription event unreadable, dropped");
                tally.dropped += 1;
                return Ok(tally);
            }
        };
        for line in lines {
            self.one(Channel::Sms, from_sms_log(&line), &mut tally)
                .await?;
        }
        Ok(tally)
    }
}

/// The lines of a CloudWatch Logs subscription event (`{"awslogs": {"data": …}}`, gzipped
/// JSON in base64); none for a control message.
pub fn log_lines(event: &serde_json::Value) -> Result<Vec<String>, String> {
    let data = event["awslogs"]["data"]
        .as_str()
        .ok_or("no awslogs.data in the event")?;
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("awslogs.data is not base64: {e}"))?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .take(8 * 1024 * 1024)
        .read_to_string(&mut json)
        .map_err(|e| format!("awslogs.data is not gzipped text: {e}"))?;
    let batch: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("awslogs.data is not JSON: {e}"))?;
    if batch["messageType"] == "CONTROL_MESSAGE" {
        return Ok(Vec::new());
    }
    Ok(batch["logEvents"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// A subscription event carrying `lines` (the tests build one as CloudWatch Logs does).
pub fn log_event(lines: &[String]) -> serde_json::Value {
    use std::io::Write;
    let batch = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "sns/eu-south-1/123456789012/DirectPublishToPhoneNumber",
        "logStream": "stream",
        "subscriptionFilters": ["sms-delivery"],
        "logEvents": lines.iter().enumerate().map(|(n, line)| serde_json::json!({
            "id": n.to_string(), "timestamp": 1_467_074_434_558_i64, "message": line
        })).collect::<Vec<_>>(),
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(batch.to_string().as_bytes());
    let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap_or_default());
    serde_json::json!({ "awslogs": { "data": data } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_event_gives_its_lines_back() {
        let lines = vec!["{\"a\":1}".to_owned(), "{\"b\":2}".to_owned()];
        assert_eq!(log_lines(&log_event(&lines)).unwrap(), lines);
        assert!(log_lines(&serde_json::json!({"awslogs": {"data": "???"}})).is_err());
        assert!(log_lines(&serde_json::json!({})).is_err());
    }
}
