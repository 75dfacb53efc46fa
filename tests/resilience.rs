//! The availability promises of the architecture, proved on the real topology (two WAS
//! replicas behind web-proxy, Redis, PostgreSQL; for the last scenario two web-proxies
//! behind HAProxy standing in for the external ALB) under a steady mixed load on
//! loopback. Each scenario appends a row to `target/resilience-summary.md`.
//!
//! Scenarios run one at a time (a lock), each on its own fresh stack, so their timings
//! do not disturb each other on a small machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use std::time::{Duration, Instant};

use stack::process::{Process, Spec};
use stack::{Binaries, Options, Stack};
use upbrella_tests::*;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const USERS: usize = 6;
const PAUSE: Duration = Duration::from_millis(25);

fn stack(name: &str, proxies: usize, proxy_env: &[(&str, &str)]) -> (Stack, stack::TempDir) {
    let dir = stack::TempDir::new(&format!("upbrella-{name}")).unwrap();
    let bins = Binaries::in_target("debug")
        .expect("was and web-proxy are built by `cargo test --workspace`");
    let mut options = Options::new(dir.path().to_path_buf());
    options.proxies = proxies;
    options.was_env = vec![
        ("WAS_SHUTDOWN_GRACE".into(), "5s".into()),
        ("REDIS_TIMEOUT".into(), "500ms".into()),
        ("DATABASE_TIMEOUT".into(), "1s".into()),
        // The load's renters rent and return far more often than any person does.
        ("RATE_LIMIT_RENTAL_PER_USER".into(), "off".into()),
        ("RATE_LIMIT_RENTAL_PER_ADDRESS".into(), "off".into()),
    ];
    options.proxy_env = vec![
        ("WEB_PROXY_UPSTREAM_TIMEOUT".into(), "5s".into()),
        ("WEB_PROXY_DRAIN_PERIOD".into(), "2s".into()),
        ("WEB_PROXY_EJECT_BASE".into(), "500ms".into()),
    ];
    options.proxy_env.extend(
        proxy_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    (Stack::start(&bins, options).unwrap(), dir)
}

fn failed(samples: &[Sample], pred: impl Fn(&Sample) -> bool) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| pred(s) && !s.ok())
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_killed_loses_no_get_and_comes_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, _dir) = stack("killed", 1, &[]);
    let base = s.proxies[0].url("");
    let admin = s.proxies[0].admin.unwrap();
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.was[0].kill();
    let killed_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    s.was[0].start().unwrap();
    let back = wait_upstream(admin, s.was[0].addr, true, Duration::from_secs(10)).await;
    let readmitted_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let bad_gets = failed(&samples, |x| x.kind.is_get());
    assert!(bad_gets.is_empty(), "failed GETs: {bad_gets:?}");
    let worst = samples
        .iter()
        .filter(|x| x.kind.is_get())
        .map(|x| x.latency)
        .max()
        .unwrap();
    assert!(
        worst < Duration::from_secs(5),
        "a GET waited {worst:?}, past the 5 s upstream timeout"
    );
    let users_ok = samples
        .iter()
        .filter(|x| x.kind == Kind::UserRead && x.at > killed_at)
        .all(Sample::ok);
    assert!(users_ok, "logged-in users stay logged in");
    let served_again = samples
        .iter()
        .any(|x| x.at > readmitted_at && x.instance.as_deref() == Some("was-1"));
    assert!(served_again, "the restarted replica takes traffic again");
    let all_failed = failed(&samples, |_| true).len();
    summary_row(
        "1. replica killed (SIGKILL)",
        &samples,
        all_failed,
        &format!(
            "re-admitted {:.1} s after restart; {} failed GETs",
            back.as_secs_f64(),
            bad_gets.len()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_replica_is_ejected_within_two_seconds_and_readmitted() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("hung", 1, &[]);
    let base = s.proxies[0].url("");
    let admin = s.proxies[0].admin.unwrap();
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let process = s.was[0].process().unwrap();
    process.pause().unwrap();
    let eject = wait_upstream(admin, s.was[0].addr, false, Duration::from_secs(5)).await;
    let ejected_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    process.resume().unwrap();
    let readmit = wait_upstream(admin, s.was[0].addr, true, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = load.finish().await;
    assert!(eject < Duration::from_secs(2), "ejected after {eject:?}");
    let after = failed(&samples, |x| x.at >= ejected_at);
    assert!(after.is_empty(), "failed after ejection: {after:?}");
    let all_failed = failed(&samples, |_| true).len();
    summary_row(
        "2. replica hung (SIGSTOP)",
        &samples,
        all_failed,
        &format!(
            "ejected in {:.2} s; re-admitted {:.1} s after SIGCONT",
            eject.as_secs_f64(),
            readmit.as_secs_f64()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_of_the_replicas_fails_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, _dir) = stack("rolling", 1, &[]);
    let base = s.proxies[0].url("");
    let admin = s.proxies[0].admin.unwrap();
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    for i in 0..s.was.len() {
        s.was[i].stop(Duration::from_secs(10));
        s.was[i].start().unwrap();
        wait_upstream(admin, s.was[i].addr, true, Duration::from_secs(10)).await;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = load.finish().await;
    let bad = failed(&samples, |_| true);
    assert!(bad.is_empty(), "failed during the rolling restart: {bad:?}");
    summary_row(
        "3. rolling restart (SIGTERM each)",
        &samples,
        0,
        &format!("both replicas replaced in {:.1} s", took.as_secs_f64()),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_restarting_every_replica() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, _dir) = stack("all-restart", 1, &[]);
    let base = s.proxies[0].url("");
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    for w in &mut s.was {
        w.stop(Duration::from_secs(10));
    }
    for w in &mut s.was {
        w.start().unwrap();
    }
    let restarted = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    for u in &world.users {
        let r = u.client.get(format!("{base}/api/me")).send().await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "user {}'s session survived every replica restarting",
            u.id
        );
    }
    let all_failed = failed(&samples, |_| true).len();
    summary_row(
        "4. all replicas restarted",
        &samples,
        all_failed,
        &format!(
            "down and up in {:.1} s; {}/{} sessions kept",
            restarted.as_secs_f64(),
            USERS,
            USERS
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_is_served_by_both_replicas() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("sessions", 1, &[]);
    let base = s.proxies[0].url("");
    let world = seed(&s, &base, 1).await;
    let user = &world.users[0];
    let mut seen = std::collections::BTreeSet::new();
    let mut samples = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let r = user
            .client
            .get(format!("{base}/api/me"))
            .send()
            .await
            .unwrap();
        let instance = r.headers()["x-upbrella-instance"]
            .to_str()
            .unwrap()
            .to_owned();
        let status = r.status().as_u16();
        let me: serde_json::Value = r.json().await.unwrap();
        assert_eq!(me["id"], user.id);
        seen.insert(instance.clone());
        samples.push(Sample {
            at: Duration::ZERO,
            kind: Kind::UserRead,
            status,
            latency: t.elapsed(),
            instance: Some(instance),
        });
    }
    assert_eq!(
        seen.len(),
        2,
        "both replicas served the one session: {seen:?}"
    );
    summary_row(
        "5. sessions move between replicas",
        &samples,
        0,
        &format!(
            "one session served by {}",
            seen.into_iter().collect::<Vec<_>>().join(" and ")
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_session_calls_fast_keeps_public_ones_and_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, _dir) = stack("redis-outage", 1, &[]);
    let base = s.proxies[0].url("");
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::block_in_place(|| s.redis.stop());
    let down_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::block_in_place(|| s.redis.restart()).unwrap();
    let up_at = load.elapsed();
    // Recovery: the first logged-in read that succeeds after Redis is back.
    let recovered = load
        .first_success(Kind::UserRead, up_at, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let outage: Vec<Sample> = samples
        .iter()
        .filter(|x| x.at > down_at && x.at < up_at)
        .cloned()
        .collect();
    let public_failed = failed(&outage, |x| x.kind == Kind::PublicRead);
    assert!(
        public_failed.is_empty(),
        "public reads need only the database: {public_failed:?}"
    );
    let session_calls: Vec<&Sample> = outage.iter().filter(|x| x.kind == Kind::UserRead).collect();
    assert!(
        session_calls.iter().any(|x| x.status == 503),
        "session endpoints answer 503"
    );
    let slowest = session_calls
        .iter()
        .map(|x| x.latency)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < Duration::from_millis(2500),
        "and quickly: {slowest:?}"
    );
    let last_second = samples
        .iter()
        .filter(|x| x.at > up_at + recovered + Duration::from_millis(500));
    let late_failures: Vec<&Sample> = last_second.filter(|x| !x.ok()).collect();
    assert!(
        late_failures.is_empty(),
        "full recovery without restarting the WAS: {late_failures:?}"
    );
    summary_row(
        "6. Redis outage (3 s)",
        &samples,
        failed(&samples, |_| true).len(),
        &format!(
            "session calls 503 in ≤ {:.0} ms; 0 failed public reads; recovered {:.1} s after restart",
            slowest.as_secs_f64() * 1000.0,
            recovered.as_secs_f64()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_a_fast_503_and_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, _dir) = stack("db-outage", 1, &[]);
    let base = s.proxies[0].url("");
    let admin = s.proxies[0].admin.unwrap();
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::block_in_place(|| s.postgres.stop());
    let down_at = load.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replicas_kept = reqwest::get(format!("http://{admin}/upstreams"))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    tokio::task::block_in_place(|| s.postgres.restart()).unwrap();
    let up_at = load.elapsed();
    let recovered = load
        .first_success(Kind::PublicRead, up_at, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = load.finish().await;
    let outage: Vec<Sample> = samples
        .iter()
        .filter(|x| x.at > down_at + Duration::from_millis(200) && x.at < up_at)
        .cloned()
        .collect();
    assert!(
        outage.iter().any(|x| x.status == 503),
        "503 while the database is down"
    );
    let slowest = outage.iter().map(|x| x.latency).max().unwrap_or_default();
    assert!(slowest < Duration::from_secs(3), "quickly: {slowest:?}");
    assert!(
        replicas_kept
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["healthy"] == true),
        "liveness does not depend on the database, so no replica is ejected: {replicas_kept}"
    );
    let late: Vec<&Sample> = samples
        .iter()
        .filter(|x| x.at > up_at + recovered + Duration::from_millis(500) && !x.ok())
        .collect();
    assert!(late.is_empty(), "full recovery without restart: {late:?}");
    summary_row(
        "7. database outage (3 s)",
        &samples,
        failed(&samples, |_| true).len(),
        &format!(
            "503 in ≤ {:.0} ms; recovered {:.1} s after restart",
            slowest.as_secs_f64() * 1000.0,
            recovered.as_secs_f64()
        ),
    );
}

fn haproxy_config(port: u16, proxies: &[SocketAddr]) -> String {
    let servers: String = proxies
        .iter()
        .enumerate()
        .map(|(i, a)| format!("    server proxy{i} {a} check inter 250ms fall 1 rise 2\n"))
        .collect();
    format!(
        "global\n    maxconn 1000\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    retries 2\n    option redispatch\n    retry-on conn-failure empty-response\n\
frontend alb\n    bind 127.0.0.1:{port}\n    default_backend proxies\n\
backend proxies\n    balance roundrobin\n    option httpchk GET /health\n    http-check expect status 200\n{servers}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_proxies_restart_one_by_one_behind_a_load_balancer_without_loss() {
    // A test runs or fails: scripts/test.sh installs HAProxy.
    let haproxy = stack::find_program("haproxy", None, &[std::path::PathBuf::from("/usr/sbin")])
        .expect("HAProxy is needed (Debian: apt-get install haproxy; scripts/test.sh does)");
    let _one = ONE_AT_A_TIME.lock().await;
    let (mut s, dir) = stack("proxy-rolling", 2, &[("WEB_PROXY_DRAIN_PERIOD", "1500ms")]);
    let port = stack::free_port().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    let addrs: Vec<SocketAddr> = s.proxies.iter().map(|p| p.addr).collect();
    std::fs::write(&cfg, haproxy_config(port, &addrs)).unwrap();
    let lb = Process::spawn(
        Spec::new("haproxy", &haproxy)
            .arg("-db")
            .arg("-f")
            .arg(cfg.display().to_string())
            .log(dir.path().join("haproxy.log")),
    )
    .unwrap();
    let lb_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::task::block_in_place(|| {
        stack::wait_http_ok(lb_addr, "/health", Duration::from_secs(10))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lb.log_tail(20)));
    let base = format!("http://{lb_addr}");
    // HAProxy's checks have admitted every proxy once requests reach each of them.
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < s.proxies.len() {
        assert!(Instant::now() < deadline, "HAProxy admitted only {seen:?}");
        let r = reqwest::get(format!("{base}/api/regions")).await.unwrap();
        if let Some(name) = r.headers().get("x-upbrella-proxy") {
            seen.insert(name.to_str().unwrap_or_default().to_owned());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let world = seed(&s, &base, USERS).await;
    let load = Load::start(&base, &world, PAUSE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    for i in 0..s.proxies.len() {
        // SIGTERM: /health turns 503 at once, HAProxy takes the proxy out, requests
        // keep being served through the drain, then it exits; a new one takes its place.
        tokio::task::block_in_place(|| {
            s.proxies[i].stop(Duration::from_secs(10));
            s.proxies[i].start()
        })
        .unwrap();
        // Pacing, as a rolling deployment has: HAProxy's checks re-admit the new one
        // before the next goes.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = load.finish().await;
    let bad = failed(&samples, |_| true);
    assert!(
        bad.is_empty(),
        "failed while replacing web-proxies: {bad:?}\n{}",
        lb.log_tail(20)
    );
    summary_row(
        "8. web-proxy rolling restart behind HAProxy",
        &samples,
        0,
        &format!(
            "both proxies drained and replaced in {:.1} s",
            took.as_secs_f64()
        ),
    );
}
