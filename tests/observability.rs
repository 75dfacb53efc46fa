//! What CloudWatch will read from us, read from the real binaries: both tiers print
//! their metrics line in CloudWatch's embedded metric format (EMF) and one JSON access
//! line per request carrying the ALB's trace id, which web-proxy passes on to the WAS.
//!
//! `ecs/observability/samples.jsonl` holds such lines; the stack's metric filters,
//! alarms and dashboard are checked against it (`ecs/observability.py`). This test fails
//! when the binaries' lines stop matching it (other metric names, units, dimensions or
//! access-log fields); `UPBRELLA_WRITE_SAMPLES=1` writes it again from this run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use stack::{Binaries, Options, Stack};

const TRACE: &str = "Root=1-67891233-abcdef012345678912345678;Sampled=1";

/// CloudWatch's units (PutMetricData's `StandardUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn samples_path() -> PathBuf {
    stack::topology::workspace_root().join("ecs/observability/samples.jsonl")
}

/// The JSON lines of a process's log.
fn json_lines(service: &stack::Service) -> Vec<Value> {
    service
        .process()
        .expect("running")
        .log_tail(5000)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every rule of the EMF specification our lines rely on; the error says which broke.
fn check_emf(line: &Value) -> Result<(), String> {
    let aws = line.get("_aws").ok_or("no _aws member")?;
    let ts = aws["Timestamp"]
        .as_u64()
        .ok_or("_aws.Timestamp is not an integer")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    if now.as_millis().abs_diff(u128::from(ts)) > 120_000 {
        return Err(format!(
            "_aws.Timestamp {ts} is not milliseconds since the epoch, now"
        ));
    }
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    if directives.is_empty() {
        return Err("no metric directive".into());
    }
    for d in directives {
        let ns = d["Namespace"].as_str().ok_or("Namespace missing")?;
        if ns.is_empty() || ns.len() > 255 || ns.starts_with("AWS/") {
            return Err(format!("Namespace {ns:?} is not one of ours"));
        }
        for set in d["Dimensions"]
            .as_array()
            .ok_or("Dimensions not an array")?
        {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("more than 30 dimensions in a set".into());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                if !line[name].is_string() {
                    return Err(format!(
                        "dimension {name} is not a string member of the root"
                    ));
                }
            }
        }
        let metrics = d["Metrics"].as_array().ok_or("Metrics not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics in a directive".into());
        }
        for m in metrics {
            let name = m["Name"].as_str().ok_or("a metric without a Name")?;
            let unit = m["Unit"].as_str().unwrap_or("None");
            if !UNITS.contains(&unit) {
                return Err(format!("{name}: {unit:?} is not a CloudWatch unit"));
            }
            if !line[name].is_number() {
                return Err(format!("metric {name} has no numeric value at the root"));
            }
        }
    }
    Ok(())
}

/// What a line promises a consumer: for an EMF line its namespace, dimensions and
/// metrics with units; for an access line its fields and their JSON types.
fn shape(line: &Value) -> BTreeSet<String> {
    if let Some(aws) = line.get("_aws") {
        let mut out = BTreeSet::new();
        for d in aws["CloudWatchMetrics"].as_array().into_iter().flatten() {
            out.insert(format!("namespace {}", d["Namespace"]));
            out.insert(format!("dimensions {}", d["Dimensions"]));
            for m in d["Metrics"].as_array().into_iter().flatten() {
                out.insert(format!("metric {} {}", m["Name"], m["Unit"]));
            }
        }
        out.insert(format!("Service={}", line["Service"]));
        return out;
    }
    let kind = |v: &Value| match v {
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "other",
    };
    [
        "target",
        "message",
        "event",
        "status",
        "duration_ms",
        "trace_id",
        "request_id",
        "upstream_ms",
        "route",
    ]
    .into_iter()
    .filter(|k| !line[*k].is_null())
    .map(|k| format!("{k}: {}", kind(&line[k])))
    .collect()
}

/// Waits for a JSON line of the process's log that `wanted` accepts.
async fn wait_for_line(
    service: &stack::Service,
    wanted: impl Fn(&Value) -> bool,
    within: Duration,
) -> Value {
    let until = std::time::Instant::now() + within;
    loop {
        if let Some(line) = json_lines(service).into_iter().find(|l| wanted(l)) {
            return line;
        }
        assert!(
            std::time::Instant::now() < until,
            "no such line within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One WAS and one web-proxy printing their metrics line every second; the WAS's mail
/// goes to `no_smtp`, a port nobody listens on.
fn start(dir: &stack::TempDir, bins: &Binaries, no_smtp: u16) -> Stack {
    let mut options = Options::new(dir.path().to_path_buf());
    options.persistent_redis = false;
    options.was_replicas = 1;
    options.proxy_secret = Some("observability-secret".into());
    options.was_env = vec![
        ("WAS_EMF_INTERVAL".into(), "1s".into()),
        ("MAIL_TRANSPORT".into(), "smtp".into()),
        ("SMTP_URL".into(), format!("smtp://127.0.0.1:{no_smtp}")),
        ("MAIL_FROM".into(), "no-reply@example.com".into()),
        ("PUBLIC_URL".into(), "http://127.0.0.1".into()),
    ];
    options.proxy_env = vec![
        ("WEB_PROXY_EMF_INTERVAL".into(), "1s".into()),
        ("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into()),
    ];
    Stack::start(bins, options).unwrap()
}

/// A reminder pass whose database is unreachable: it fails and logs `remind_failed`.
fn remind_without_database(s: &Stack, bins: &Binaries, closed_port: u16) -> Value {
    let remind = std::process::Command::new(&bins.was)
        .args(["remind", "--now", "2026-12-07T10:00:00+09:00"])
        .env(
            "DATABASE_URL",
            format!("postgres://upbrella@127.0.0.1:{closed_port}/upbrella"),
        )
        .env("REDIS_URL", s.redis.url())
        .env("BANK_ENCRYPTION_KEY", &s.options.bank_key)
        .env("SERVER_HMAC_KEY", &s.options.server_key)
        .env("LOG_FORMAT", "json")
        .env("DATABASE_TIMEOUT", "2s")
        .output()
        .unwrap();
    assert!(
        !remind.status.success(),
        "a pass without its database failed"
    );
    String::from_utf8_lossy(&remind.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["event"] == "remind_failed")
        .expect("the failed pass logs event=remind_failed")
}

/// Five traced reads, one with a forged trace id, and one during a database outage
/// (the WAS answers 503 and web-proxy relays it).
async fn traffic(s: &mut Stack) {
    let client = reqwest::Client::new();
    let tags = s.proxies[0].url("/api/tags");
    for _ in 0..5 {
        let r = client
            .get(&tags)
            .header("x-amzn-trace-id", TRACE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let forged = client
        .get(&tags)
        .header("x-amzn-trace-id", "Root=1\"}{\"admin\":true")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 200);
    s.postgres.stop();
    let outage = client.get(&tags).send().await.unwrap();
    assert_eq!(outage.status(), 503);
    s.postgres.restart().unwrap();
}

/// Checks one tier's log and returns its lines worth keeping as samples: the last
/// metrics line, a traced access line and the 503's.
fn check_tier(group: &str, lines: &[Value]) -> Vec<Value> {
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    assert!(!emf.is_empty(), "{group}: no metrics line in the log");
    for line in &emf {
        check_emf(line).unwrap_or_else(|e| panic!("{group}: {e}\n{line}"));
    }
    let total = |name: &str| emf.iter().filter_map(|l| l[name].as_f64()).sum::<f64>();
    let requests = total("Requests");
    assert!(requests >= 7.0, "{group}: Requests adds up to {requests}");
    assert!(
        total("Requests5xx") >= 1.0,
        "{group}: the 503 was not counted"
    );
    if group == "/upbrella/was" {
        assert!(
            total("MailFailures") >= 1.0,
            "the mail given up was not counted"
        );
    }
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "access").collect();
    let traced: Vec<&&Value> = access.iter().filter(|l| l["trace_id"] == TRACE).collect();
    assert_eq!(
        traced.len(),
        5,
        "{group}: the ALB's trace id is in each access line"
    );
    assert!(
        access
            .iter()
            .all(|l| !l["trace_id"].as_str().unwrap_or("").contains('"')),
        "{group}: a forged trace id was logged"
    );
    let failed = access
        .iter()
        .find(|l| l["status"] == 503)
        .unwrap_or_else(|| panic!("{group}: no access line for the 503"));
    vec![
        (*emf[emf.len() - 1]).clone(),
        (**traced[0]).clone(),
        (*failed).clone(),
    ]
}

/// Every picked line must have the shape of a sample of its group; with
/// `UPBRELLA_WRITE_SAMPLES` set, the picked lines become the samples.
fn against_samples(picked: &[(&str, Value)]) {
    let path = samples_path();
    if std::env::var_os("UPBRELLA_WRITE_SAMPLES").is_some() {
        let text: String = picked
            .iter()
            .map(|(g, l)| format!("{}\n", serde_json::json!({"log_group": g, "line": l})))
            .collect();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let mut expected: BTreeMap<String, Vec<BTreeSet<String>>> = BTreeMap::new();
    for row in std::fs::read_to_string(&path).unwrap().lines() {
        let row: Value = serde_json::from_str(row).unwrap();
        expected
            .entry(row["log_group"].as_str().unwrap().to_owned())
            .or_default()
            .push(shape(&row["line"]));
    }
    for (group, line) in picked {
        let got = shape(line);
        assert!(
            expected.get(*group).is_some_and(|all| all.contains(&got)),
            "{group}: the binaries print a line of a shape {} does not hold; \
             run this test with UPBRELLA_WRITE_SAMPLES=1 and check the stack against it:\n{got:#?}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_tiers_print_what_cloudwatch_reads() {
    let dir = stack::TempDir::new("upbrella-observability").unwrap();
    let bins = Binaries::in_target("debug")
        .expect("was and web-proxy are built by `cargo test --workspace`");
    let no_smtp = stack::free_port().unwrap();
    let mut s = start(&dir, &bins, no_smtp);
    let base = s.proxies[0].url("");
    let signed_up =
        upbrella_tests::sign_up(&reqwest::Client::new(), &base, "mail@example.com").await;
    assert!(signed_up.status().is_success());
    // An event inside a handler carries its request's span (and so its request id), not
    // a span of a library layer between them.
    let request_id = signed_up.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let inside = wait_for_line(
        &s.was[0],
        |l| l["message"] == "user signed up",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(inside["span"]["name"], "request", "{inside}");
    assert_eq!(
        inside["span"]["request_id"],
        request_id.as_str(),
        "{inside}"
    );
    let remind_failed = remind_without_database(&s, &bins, no_smtp);
    traffic(&mut s).await;
    // Five attempts, a second's backoff doubling: the mail is given up after 15 s.
    let given_up = wait_for_line(
        &s.was[0],
        |l| l["event"] == "mail_given_up",
        Duration::from_secs(30),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let mut picked: Vec<(&str, Value)> = Vec::new();
    for (group, service) in [
        ("/upbrella/was", &s.was[0]),
        ("/upbrella/web-proxy", &s.proxies[0]),
    ] {
        for line in check_tier(group, &json_lines(service)) {
            picked.push((group, line));
        }
    }
    picked.push(("/upbrella/was", given_up));
    picked.push(("/upbrella/was", remind_failed));
    against_samples(&picked);
}
