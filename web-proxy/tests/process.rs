//! The `web-proxy` binary as a real process: command line, config file, draining on
//! SIGTERM, streaming with flat memory, DNS re-resolution, the access log, and TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use stack::process::{Process, Spec};

const BIN: &str = env!("CARGO_BIN_EXE_web-proxy");

struct Running {
    process: Process,
    addr: SocketAddr,
    admin: SocketAddr,
    _dir: stack::TempDir,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

fn start_with(program: &Path, args: &[String], env: &[(&str, String)]) -> Running {
    let dir = stack::TempDir::new("upbrella-proxy-proc").unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", stack::free_port().unwrap())
        .parse()
        .unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", stack::free_port().unwrap())
        .parse()
        .unwrap();
    let mut spec = Spec::new("web-proxy", program)
        .env("WEB_PROXY_LISTEN_ADDR", addr.to_string())
        .env("WEB_PROXY_ADMIN_ADDR", admin.to_string())
        .env("WEB_PROXY_HEALTH_INTERVAL", "200ms")
        .env("LOG_FORMAT", "json")
        .log(dir.path().join("proxy.log"));
    for a in args {
        spec = spec.arg(a.clone());
    }
    for (k, v) in env {
        spec = spec.env(*k, v.clone());
    }
    let process = Process::spawn(spec).unwrap();
    // A blocking wait: off the async runtime's threads (the tests' upstreams run there).
    let started = tokio::task::block_in_place(|| {
        stack::wait_http_ok(addr, "/health", Duration::from_secs(20))
    });
    if let Err(e) = started {
        panic!("web-proxy did not start: {e}\n{}", process.log_tail(30));
    }
    Running {
        process,
        addr,
        admin,
        _dir: dir,
    }
}

fn start(env: &[(&str, String)]) -> Running {
    start_with(Path::new(BIN), &[], env)
}

fn upstreams(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(|a| format!("http://{a}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn help_and_bad_configuration() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "healthcheck"] {
        assert!(help.contains(word), "help mentions {word}");
    }
    for var in web_proxy::config::VARS {
        assert!(help.contains(var.name), "help lists {}", var.name);
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("web-proxy ", env!("CARGO_PKG_VERSION"))
    );
    for unknown in [&["frobnicate"][..], &["--port", "1"], &["serve", "extra"]] {
        let out = Command::new(BIN).args(unknown).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{unknown:?}");
    }
    let out = Command::new(BIN)
        .env("WEB_PROXY_UPSTREAMS", "ftp://x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WEB_PROXY_UPSTREAMS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_fails_health_at_once_then_drains_without_failed_requests() {
    let up = upstream("a").await;
    let mut p = start(&[
        ("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr])),
        ("WEB_PROXY_DRAIN_PERIOD", "1500ms".into()),
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let url = p.url("/api/x");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, failures, served, url) = (
                Arc::clone(&stop),
                Arc::clone(&failures),
                Arc::clone(&served),
                url.clone(),
            );
            tokio::spawn(async move {
                let c = client();
                while !stop.load(Ordering::Relaxed) {
                    match c.get(&url).send().await {
                        Ok(r) if r.status() == 200 => {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    eventually("the load is flowing", Duration::from_secs(5), || async {
        served.load(Ordering::Relaxed) > 0
    })
    .await;
    p.process.signal(stack::Signal::TERM).unwrap();
    // At once: well within the 1.5 s drain period, /health fails.
    eventually(
        "/health fails after SIGTERM",
        Duration::from_millis(500),
        || async {
            let health = client().get(p.url("/health")).send().await;
            health.is_ok_and(|r| r.status() == 503)
        },
    )
    .await;
    let admin_health = reqwest::get(format!("http://{}/health", p.admin))
        .await
        .unwrap();
    assert_eq!(admin_health.status(), 503);
    let before = served.load(Ordering::Relaxed);
    eventually(
        "requests still served while draining",
        Duration::from_millis(1000),
        || async { served.load(Ordering::Relaxed) > before + 10 },
    )
    .await;
    assert!(p.process.is_running(), "still draining");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    assert!(
        p.process.wait_exit(Duration::from_secs(5)),
        "exits after the drain period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_streams_both_ways_with_flat_memory() {
    let up = upstream("a").await;
    let p = start(&[
        ("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr])),
        ("WEB_PROXY_MAX_BODY_BYTES", (2u64 << 30).to_string()),
        ("WEB_PROXY_COMPRESSION", "false".into()),
    ]);
    let gib: u64 = 1 << 30;
    let started = Instant::now();
    let r = client()
        .get(p.url(&format!("/api/big?bytes={gib}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let mut got = 0u64;
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        got += chunk.unwrap().len() as u64;
    }
    assert_eq!(got, gib);
    let down = started.elapsed();
    let chunk = bytes::Bytes::from(vec![b'y'; 256 * 1024]);
    let body = futures::stream::iter(
        (0..gib / chunk.len() as u64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let started = Instant::now();
    let r = client()
        .post(p.url("/api/upload"))
        .header("content-length", gib.to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: serde_json::Value = r.json().await.unwrap();
    assert_eq!(seen["body_len"], gib);
    let peak = p.peak_rss_kib();
    eprintln!(
        "1 GiB down in {down:?}, up in {:?}; peak RSS {peak} KiB",
        started.elapsed()
    );
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB: memory must not grow with the body"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_one_json_access_log_line() {
    let up = upstream("a").await;
    let p = start(&[("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))]);
    let r = client()
        .get(p.url("/api/logged"))
        .header("x-request-id", "log-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    eventually(
        "the access log line is written",
        Duration::from_secs(5),
        || async { p.process.log_tail(100).contains("log-me-1") },
    )
    .await;
    let log = p.process.log_tail(100);
    let line = log
        .lines()
        .find(|l| l.contains("log-me-1"))
        .expect("an access log line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/api/logged");
    assert_eq!(v["status"], 200);
    assert_eq!(v["upstream"], up.addr.to_string());
    assert_eq!(v["client_ip"], "127.0.0.1");
    assert_eq!(v["retried"], false);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert!(v["duration_ms"].is_number() && v["upstream_ms"].is_number());
    // An id the proxy made up is logged too, the same one the client got.
    let r = client().get(p.url("/api/anonymous")).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    r.bytes().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let line = loop {
        let log = p.process.log_tail(100);
        if let Some(line) = log.lines().find(|l| l.contains("/api/anonymous")) {
            break line.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no access log line");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["request_id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_subcommand_probes_the_local_listener() {
    let up = upstream("a").await;
    let p = start(&[("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))]);
    let ok = Command::new(BIN)
        .arg("healthcheck")
        .env("WEB_PROXY_LISTEN_ADDR", p.addr.to_string())
        .env("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))
        .status()
        .unwrap();
    assert!(ok.success());
    p.process.pause().unwrap();
    let hung = Command::new(BIN)
        .arg("healthcheck")
        .env("WEB_PROXY_LISTEN_ADDR", p.addr.to_string())
        .env("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))
        .status()
        .unwrap();
    assert_eq!(hung.code(), Some(1));
    p.process.resume().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toml_file_configures_the_proxy_under_the_environment() {
    let up = upstream("a").await;
    let dir = stack::TempDir::new("upbrella-toml").unwrap();
    let file = dir.path().join("proxy.toml");
    std::fs::write(
        &file,
        format!(
            "upstreams = [\"http://{}\"]\nupstream_secret = \"from-file\"\n",
            up.addr
        ),
    )
    .unwrap();
    let p = start(&[("WEB_PROXY_CONFIG", file.display().to_string())]);
    let seen: serde_json::Value = client()
        .get(p.url("/api/x"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["headers"]["x-upbrella-proxy-secret"], "from-file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_terminated_when_a_certificate_is_configured() {
    let up = upstream("a").await;
    let dir = stack::TempDir::new("upbrella-tls").unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", stack::free_port().unwrap())
        .parse()
        .unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", stack::free_port().unwrap())
        .parse()
        .unwrap();
    let spec = Spec::new("web-proxy-tls", Path::new(BIN))
        .env("WEB_PROXY_LISTEN_ADDR", addr.to_string())
        .env("WEB_PROXY_ADMIN_ADDR", admin.to_string())
        .env("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))
        .env("WEB_PROXY_TLS_CERT", cert_path.display().to_string())
        .env("WEB_PROXY_TLS_KEY", key_path.display().to_string());
    let _p = Process::spawn(spec).unwrap();
    tokio::task::block_in_place(|| stack::wait_http_ok(admin, "/health", Duration::from_secs(20)))
        .unwrap();
    let c = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let r = c
        .get(format!("https://localhost:{}/api/x", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let seen: serde_json::Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");

    // The container health check runs with the container's configuration: TLS on, and
    // here the listen address given only in the TOML file.
    let file = dir.path().join("proxy.toml");
    std::fs::write(&file, format!("listen_addr = \"{addr}\"\n")).unwrap();
    let healthcheck = |listen_env: Option<String>| {
        let mut cmd = Command::new(BIN);
        cmd.arg("healthcheck")
            .env_remove("WEB_PROXY_LISTEN_ADDR")
            .env("WEB_PROXY_CONFIG", &file)
            .env("WEB_PROXY_ADMIN_ADDR", admin.to_string())
            .env("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr]))
            .env("WEB_PROXY_TLS_CERT", cert_path.display().to_string())
            .env("WEB_PROXY_TLS_KEY", key_path.display().to_string());
        if let Some(listen) = listen_env {
            cmd.env("WEB_PROXY_LISTEN_ADDR", listen);
        }
        cmd.status().unwrap().code()
    };
    assert_eq!(
        healthcheck(None),
        Some(0),
        "healthy over TLS, listener from the file"
    );
    // The environment wins over the file, as for `serve`: a port where nothing listens.
    let nothing = format!("127.0.0.1:{}", stack::free_port().unwrap());
    assert_eq!(healthcheck(Some(nothing)), Some(1));
}

/// A set `WEB_PROXY_*` variable that no setting reads (a typo) is named in the log, and
/// the proxy still starts with the settings it does know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_setting_is_logged_as_a_warning() {
    let up = upstream("a").await;
    let p = start(&[
        ("WEB_PROXY_UPSTREAMS", upstreams(&[up.addr])),
        ("WEB_PROXY_UPSTREAM_TIMOUT", "5s".into()),
    ]);
    eventually("the warning is logged", Duration::from_secs(5), || async {
        p.process
            .log_tail(50)
            .lines()
            .any(|l| l.contains("WEB_PROXY_UPSTREAM_TIMOUT") && l.contains("not a setting"))
    })
    .await;
    assert!(
        !p.process.log_tail(50).contains("\"WEB_PROXY_UPSTREAMS\""),
        "known settings are not reported"
    );
}
