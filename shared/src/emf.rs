//! The binaries' own metrics for CloudWatch, in its embedded metric format (EMF): once a
//! interval each binary prints one JSON line on stdout, which the task's `awslogs` log
//! driver sends to its log group, where CloudWatch extracts the metrics. No agent, no
//! sidecar, no port: it works in the bridge-mode tasks as deployed. Prometheus on the
//! admin listener stays for local runs and anyone who runs a collector.
//!
//! One namespace (`Upbrella`) and one dimension (`Service`: `was` or `web-proxy`), so the
//! number of metrics stays fixed however many tasks or routes there are; the task's id is
//! in the line as a property (`Instance`) to find it in the logs, not as a dimension.
//! Counters are sent as the change since the previous line.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Upbrella";

/// How often the line is printed unless `WAS_EMF_INTERVAL` says otherwise (`0` = never).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// CloudWatch units we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric of a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
}

impl Metric {
    pub fn count(name: &'static str, value: f64) -> Self {
        Self {
            name,
            unit: Unit::Count,
            value,
        }
    }

    pub fn millis(name: &'static str, value: f64) -> Self {
        Self {
            name,
            unit: Unit::Milliseconds,
            value,
        }
    }
}

/// Turns ever-growing counters into the change since the last line.
#[derive(Default)]
pub struct Deltas(HashMap<&'static str, u64>);

impl Deltas {
    /// The increase of `name` since the last call (the whole value the first time; a
    /// counter that went backwards, which ours never do, counts from zero).
    pub fn since_last(&mut self, name: &'static str, now: u64) -> f64 {
        let before = self.0.insert(name, now).unwrap_or(0);
        now.checked_sub(before).unwrap_or(now) as f64
    }
}

/// One EMF line (without the newline) for `service`, stamped `at`.
pub fn line(service: &str, instance: &str, at: SystemTime, metrics: &[Metric]) -> String {
    let timestamp = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"Name": m.name, "Unit": m.unit.name()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert("Service".into(), service.into());
    root.insert("Instance".into(), instance.into());
    root.insert("event".into(), "metrics".into());
    for m in metrics {
        // Non-finite values are not JSON numbers; CloudWatch would drop the line.
        let value = if m.value.is_finite() { m.value } else { 0.0 };
        root.insert(m.name.into(), json!(value));
    }
    Value::Object(root).to_string()
}

/// Prints a line every `every` until the process ends; `sample` gives the metrics.
/// Written with one `write_all` on the locked stdout, so it never interleaves with a log
/// line.
pub fn spawn<F>(
    every: Duration,
    service: &'static str,
    instance: String,
    mut sample: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Vec<Metric> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: skip it, so the first line covers a whole interval.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let mut text = line(service, &instance, SystemTime::now(), &sample());
            text.push('\n');
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                tracing::warn!(error = %e, "metrics line not written");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_every_metric_and_carries_its_value_at_the_root() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_000_000_123);
        let text = line(
            "was",
            "i-\"1\"",
            at,
            &[
                Metric::count("Requests", 3.0),
                Metric::millis("Latency", f64::NAN),
            ],
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_796_000_000_123_u64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "Upbrella");
        assert_eq!(d["Dimensions"], json!([["Service"]]));
        assert_eq!(
            d["Metrics"][1],
            json!({"Name": "Latency", "Unit": "Milliseconds"})
        );
        assert_eq!(v["Service"], "was");
        assert_eq!(v["Instance"], "i-\"1\"");
        assert_eq!(v["Requests"], 3.0);
        assert_eq!(v["Latency"], 0.0);
        assert!(!text.contains('\n'));
    }

    #[test]
    fn deltas_are_the_change_since_the_last_line() {
        let mut d = Deltas::default();
        assert_eq!(d.since_last("a", 5), 5.0);
        assert_eq!(d.since_last("a", 7), 2.0);
        assert_eq!(d.since_last("a", 7), 0.0);
        assert_eq!(d.since_last("a", 1), 1.0);
    }
}
