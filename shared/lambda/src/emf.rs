//! Metrics in CloudWatch's embedded metric format: one JSON line per metric on stdout, which
//! Lambda ships to CloudWatch Logs, where CloudWatch turns it into metrics (no API call, no
//! added latency). Written here rather than through the `metrics` crate and an EMF exporter:
//! the service reports a closed set of typed metrics (`titolare_domain::metrics::Metric`,
//! whose dimensions are fixed words, so no personal data can reach one), and a line per
//! metric is a few lines of serde_json, with no global recorder to flush at each invocation.

use serde_json::{Map, Value, json};
use titolare_domain::metrics::{Metric, Metrics};

/// The CloudWatch namespace of every metric (template.yaml's alarms and dashboard read it).
pub const NAMESPACE: &str = "Titolare";

/// Writes each metric as an EMF line on stdout.
pub struct EmfMetrics {
    function: String,
}

impl EmfMetrics {
    pub fn new(function: &str) -> Self {
        Self {
            function: function.to_owned(),
        }
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        println!("{}", line(&metric, &self.function, now));
    }
}

/// One EMF document: the metric published under its dimensions and, so an alarm can read
/// the total, under none; `function` rides along as a property (not a dimension).
pub fn line(metric: &Metric, function: &str, timestamp_ms: u64) -> String {
    let dimensions = metric.dimensions();
    let keys: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut sets: Vec<Vec<&str>> = vec![vec![]];
    if !keys.is_empty() {
        sets.push(keys);
    }
    let values = metric.values();
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": definitions,
            }],
        }),
    );
    for (key, value) in dimensions {
        document.insert(key.into(), value.into());
    }
    for (name, value, _) in values {
        document.insert(name.into(), value.into());
    }
    document.insert("function".into(), function.into());
    Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use titolare_domain::otp::{Channel, Party};

    #[test]
    fn a_delivery_is_a_count_and_a_latency_by_channel_and_kind() {
        let metric = Metric::MessageDelivered {
            channel: Channel::Sms,
            message: "code",
            latency_ms: 840,
        };
        let v: Value = serde_json::from_str(&line(&metric, "dispatch", 1_796_112_000_000)).unwrap();
        assert_eq!(
            v,
            json!({
                "_aws": {
                    "Timestamp": 1_796_112_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Titolare",
                        "Dimensions": [[], ["Channel", "Message"]],
                        "Metrics": [
                            {"Name": "MessagesDelivered", "Unit": "Count"},
                            {"Name": "DispatchLatency", "Unit": "Milliseconds"}
                        ]
                    }]
                },
                "Channel": "sms",
                "Message": "code",
                "MessagesDelivered": 1,
                "DispatchLatency": 840,
                "function": "dispatch"
            })
        );
    }

    #[test]
    fn a_metric_without_dimensions_is_published_as_a_total() {
        let v: Value = serde_json::from_str(&line(
            &Metric::ExpirerRun {
                expired: 3,
                lag_seconds: 61,
            },
            "expirer",
            1,
        ))
        .unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(v["RequestsExpired"], 3);
        assert_eq!(v["ExpirerLag"], 61);
        let step: Value = serde_json::from_str(&line(
            &Metric::StepTaken {
                party: Party::NewHolder,
            },
            "f",
            1,
        ))
        .unwrap();
        assert_eq!(step["Party"], "new_holder");
    }
}
