//! Upstream health: dead and hung targets under load, fail-open, DNS re-resolution, and
//! the proxy's own health.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use tokio::io::AsyncWriteExt;

/// Runs `workers` loops of GETs for `duration`; returns (sent, failed, slowest).
async fn load(
    p: &TestProxy,
    workers: usize,
    duration: Duration,
) -> (usize, Vec<(Duration, u16)>, Duration) {
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let url = p.url("/api/x");
            let sent = Arc::clone(&sent);
            tokio::spawn(async move {
                let c = client();
                let mut failed = Vec::new();
                let mut slowest = Duration::ZERO;
                while started.elapsed() < duration {
                    let t = Instant::now();
                    sent.fetch_add(1, Ordering::Relaxed);
                    let status = c
                        .get(&url)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    slowest = slowest.max(t.elapsed());
                    if status != 200 {
                        failed.push((started.elapsed(), status));
                    }
                }
                (failed, slowest)
            })
        })
        .collect();
    let mut failed = Vec::new();
    let mut slowest = Duration::ZERO;
    for t in tasks {
        let (f, s) = t.await.unwrap();
        failed.extend(f);
        slowest = slowest.max(s);
    }
    (sent.load(Ordering::Relaxed), failed, slowest)
}

#[tokio::test]
async fn a_dead_target_costs_no_failed_request() {
    let a = upstream("a").await;
    let p = proxy(&[a.addr, dead_addr()], &[]).await;
    let (sent, failed, _) = load(&p, 8, Duration::from_secs(2)).await;
    assert!(sent > 100, "{sent}");
    assert!(failed.is_empty(), "failed: {failed:?}");
    let m = p.metrics().await;
    assert!(
        m.contains("upbrella_proxy_upstream_healthy{upstream=\"") && m.contains("\"} 0"),
        "{m}"
    );
}

#[tokio::test]
async fn a_hung_target_is_ejected_within_two_seconds_under_load_without_failed_requests() {
    let a = upstream("a").await;
    let h = hung();
    let p = proxy(
        &[a.addr, h.addr],
        &[
            ("WEB_PROXY_HEALTH_INTERVAL", "500ms"),
            ("WEB_PROXY_HEALTH_TIMEOUT", "500ms"),
        ],
    )
    .await;
    let started = Instant::now();
    let watcher = {
        let admin = p.admin;
        let hung = h.addr.to_string();
        tokio::spawn(async move {
            loop {
                let list: serde_json::Value = reqwest::get(format!("http://{admin}/upstreams"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let ejected = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u["address"] == hung.as_str() && u["healthy"] == false);
                if ejected {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let (sent, failed, slowest) = load(&p, 8, Duration::from_secs(4)).await;
    let ejected_after = watcher.await.unwrap();
    eprintln!("hung target: ejected after {ejected_after:?}; {sent} requests, slowest {slowest:?}");
    assert!(
        ejected_after < Duration::from_secs(2),
        "ejected after {ejected_after:?}"
    );
    assert!(
        failed.is_empty(),
        "requests caught on the hung target are retried elsewhere: {failed:?}"
    );
    assert!(
        slowest < Duration::from_millis(2500),
        "no request waits much past the ejection: {slowest:?}"
    );
    assert!(a.hits.load(Ordering::SeqCst) > 100);
}

#[tokio::test]
async fn an_ejected_target_is_readmitted_when_it_recovers() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let p = proxy(
        &[a.addr, b.addr],
        &[
            ("WEB_PROXY_EJECT_BASE", "200ms"),
            ("WEB_PROXY_HEALTH_INTERVAL", "100ms"),
        ],
    )
    .await;
    b.healthy.store(false, Ordering::SeqCst);
    p.wait_ejected(b.addr).await;
    let before = b.hits.load(Ordering::SeqCst);
    let c = client();
    for _ in 0..30 {
        c.get(p.url("/api/x")).send().await.unwrap();
    }
    assert_eq!(
        b.hits.load(Ordering::SeqCst),
        before,
        "no traffic while ejected"
    );
    b.healthy.store(true, Ordering::SeqCst);
    p.wait_admitted(b.addr).await;
    for _ in 0..40 {
        c.get(p.url("/api/x")).send().await.unwrap();
    }
    assert!(
        b.hits.load(Ordering::SeqCst) > before + 5,
        "traffic again after recovery"
    );
}

#[tokio::test]
async fn when_every_target_is_ejected_the_proxy_fails_open_and_counts_it() {
    let a = upstream("a").await;
    a.healthy.store(false, Ordering::SeqCst);
    let p = proxy(&[a.addr], &[("WEB_PROXY_HEALTH_INTERVAL", "100ms")]).await;
    p.wait_ejected(a.addr).await;
    let r = client().get(p.url("/api/x")).send().await.unwrap();
    assert_eq!(r.status(), 200, "tried anyway");
    assert!(metric(&p.metrics().await, "upbrella_proxy_fail_open_total") >= 1.0);
}

#[tokio::test]
async fn the_proxys_health_never_depends_on_the_upstream() {
    let p = proxy(&[dead_addr()], &[]).await;
    let r = client().get(p.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client().get(p.url("/api/x")).send().await.unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn metrics_describe_requests_upstreams_and_latency() {
    let a = upstream("a").await;
    let p = proxy(&[a.addr], &[]).await;
    let c = client();
    for _ in 0..5 {
        c.get(p.url("/api/x"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    c.get(p.url("/health")).send().await.unwrap();
    let m = p.metrics().await;
    assert_eq!(
        metric(
            &m,
            "upbrella_proxy_requests_total{route=\"api\",status=\"2xx\"}"
        ),
        5.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "upbrella_proxy_requests_total{route=\"health\",status=\"2xx\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "upbrella_proxy_request_duration_seconds_count{route=\"api\"}"
        ),
        5.0
    );
    assert_eq!(
        metric(
            &m,
            &format!("upbrella_proxy_upstream_healthy{{upstream=\"{}\"}}", a.addr)
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            &format!(
                "upbrella_proxy_upstream_requests_total{{upstream=\"{}\"}}",
                a.addr
            )
        ),
        5.0
    );
    // Present from the start, and nothing happened to them here.
    for name in [
        "upbrella_proxy_retries_total",
        "upbrella_proxy_in_flight_requests",
        "upbrella_proxy_upstream_ejections_total",
        "upbrella_proxy_shed_total",
    ] {
        assert_eq!(metric(&m, name), 0.0, "{name}");
    }
}

#[tokio::test]
async fn a_client_that_leaves_mid_request_stops_counting_in_flight() {
    let h = hung();
    let p = proxy(&[h.addr], &[("WEB_PROXY_UPSTREAM_TIMEOUT", "30s")]).await;
    let in_flight = |m: &str| metric(m, "upbrella_proxy_in_flight_requests");
    let mut s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    s.write_all(b"GET /api/x HTTP/1.1\r\nHost: upbrella.test\r\n\r\n")
        .await
        .unwrap();
    eventually(
        "the request is in flight",
        Duration::from_secs(5),
        || async { in_flight(&p.metrics().await) == 1.0 },
    )
    .await;
    drop(s);
    eventually(
        "the request no longer counts once its client is gone",
        Duration::from_secs(5),
        || async { in_flight(&p.metrics().await) == 0.0 },
    )
    .await;
}
