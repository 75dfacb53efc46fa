//! Forwarding and header rules, retries, compression, HTTP/2 and upgrades.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn api_requests_are_forwarded_with_forwarding_headers_and_without_hop_by_hop_ones() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_UPSTREAM_SECRET", "s3cret")]).await;
    let r = client()
        .post(p.url("/api/things?x=1"))
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "must not pass")
        .header("keep-alive", "timeout=5")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("x-upbrella-proxy-secret", "forged")
        .header("x-request-id", "req-42")
        .header("x-app", "kept")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "req-42");
    assert_eq!(r.headers()["x-upbrella-proxy"], "web-proxy");
    let seen: Value = r.json().await.unwrap();
    let h = &seen["headers"];
    assert_eq!(seen["uri"], "/api/things?x=1");
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body_len"], 5);
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "a client's own XFF is not trusted"
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], p.addr.to_string());
    assert_eq!(h["host"], p.addr.to_string(), "the client's Host is kept");
    assert_eq!(h["x-request-id"], "req-42");
    assert_eq!(
        h["x-upbrella-proxy-secret"], "s3cret",
        "the client's value is replaced"
    );
    assert_eq!(h["x-app"], "kept");
    assert!(h.get("x-hop").is_none() && h.get("keep-alive").is_none());
}

/// Both forwarding paths relay every framing an upstream uses; only the lean one keeps
/// connections of its own (the admin listing's `kept`), so the suites that run on each
/// path really do take it.
#[tokio::test]
async fn both_forwarding_paths_relay_every_framing() {
    let up = upstream("a").await;
    for (path, kept) in [("hyper", false), ("lean", true)] {
        let p = proxy(&[up.addr], &[("WEB_PROXY_FORWARDING", path)]).await;
        let c = client();
        for _ in 0..3 {
            let r = c.get(p.url("/api/chunked")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.text().await.unwrap(), "우산 빌리기 끝", "{path}");
            let r = c.get(p.url("/api/big?bytes=1048576")).send().await.unwrap();
            assert_eq!(r.bytes().await.unwrap().len(), 1 << 20, "{path}");
            let r = c.head(p.url("/api/text")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert!(
                r.text().await.unwrap().is_empty(),
                "{path}: HEAD has no body"
            );
            let r = c.post(p.url("/api/things")).body("").send().await.unwrap();
            let seen: Value = r.json().await.unwrap();
            assert_eq!(seen["body_len"], 0, "{path}");
        }
        let listed = p.upstreams().await;
        assert_eq!(
            listed[0]["kept"].as_u64().unwrap() > 0,
            kept,
            "{path}: {listed}"
        );
    }
}

#[tokio::test]
async fn trusted_hops_keep_the_load_balancers_entries_only() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_TRUSTED_HOPS", "1")]).await;
    let seen: Value = client()
        .get(p.url("/api/x"))
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["headers"]["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
}

#[tokio::test]
async fn a_request_id_is_generated_when_missing_or_invalid() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    let r = client()
        .get(p.url("/api/x"))
        .header("x-request-id", "bad id!")
        .send()
        .await
        .unwrap();
    let returned = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(returned.len(), 36);
    assert_eq!(
        seen["headers"]["x-request-id"],
        returned.as_str(),
        "the upstream sees the same id"
    );
}

#[tokio::test]
async fn requests_are_balanced_over_all_addresses() {
    let a = upstream("a").await;
    let b = upstream("b").await;
    let p = proxy(&[a.addr, b.addr], &[]).await;
    let c = client();
    for _ in 0..100 {
        assert_eq!(c.get(p.url("/api/x")).send().await.unwrap().status(), 200);
    }
    let (ha, hb) = (a.hits.load(Ordering::SeqCst), b.hits.load(Ordering::SeqCst));
    assert_eq!(ha + hb, 100);
    assert!(ha >= 25 && hb >= 25, "a={ha} b={hb}");
}

#[tokio::test]
async fn a_post_is_never_replayed_after_it_was_sent() {
    let (addr, connections) = resetting().await;
    let p = proxy(&[addr], &[]).await;
    let r = client()
        .post(p.url("/api/rentals"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "sent once, not retried"
    );
}

#[tokio::test]
async fn idempotent_requests_are_retried_once_on_another_address() {
    let (bad, connections) = resetting().await;
    let good = upstream("good").await;
    let p = proxy(&[bad, good.addr], &[("WEB_PROXY_EJECT_BASE", "60s")]).await;
    let c = client();
    // Until the resetting address is ejected, some requests land there first.
    let mut ok = 0;
    for i in 0..20 {
        let r = if i % 2 == 0 {
            c.get(p.url("/api/x")).send().await.unwrap()
        } else {
            c.post(p.url("/api/rentals"))
                .header("idempotency-key", format!("k{i}"))
                .body("{}")
                .send()
                .await
                .unwrap()
        };
        if r.status() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 20, "every idempotent request succeeded");
    assert!(
        connections.load(Ordering::SeqCst) >= 1,
        "the bad address was tried"
    );
    assert!(metric(&p.metrics().await, "upbrella_proxy_retries_total") >= 1.0);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_post() {
    let good = upstream("good").await;
    let p = proxy(
        &[dead_addr(), good.addr],
        &[("WEB_PROXY_HEALTH_INTERVAL", "60s")],
    )
    .await;
    let c = client();
    for _ in 0..10 {
        let r = c
            .post(p.url("/api/rentals"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "nothing reached the dead address, so resending is safe"
        );
    }
    assert_eq!(good.hits.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn upstream_responses_are_compressed_unless_already_encoded() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    let c = reqwest::Client::builder().build().unwrap();
    let r = c
        .get(p.url("/api/text"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = c
        .get(p.url("/api/text"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "br");
    let r = c.get(p.url("/api/text")).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    let r = c
        .get(p.url("/api/pre-encoded"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "identity-custom");
}

#[tokio::test]
async fn http2_clients_are_served_and_forwarded_as_http1() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    let c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = c.get(p.url("/api/h2")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["version"], "HTTP/1.1");
    assert_eq!(seen["headers"]["host"], p.addr.to_string());
}

#[tokio::test]
async fn upgrades_pass_through() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    let mut s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(
        b"GET /api/upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s.write_all(b"ping through the proxy").await.unwrap();
    let mut got = vec![0u8; 22];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"ping through the proxy");
}

#[tokio::test]
async fn upstream_timeouts_are_504_and_proxy_errors_are_problems() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_UPSTREAM_TIMEOUT", "300ms")]).await;
    let started = std::time::Instant::now();
    let r = client()
        .get(p.url("/api/slow?ms=3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 504);
}

/// What a name resolves to, set by the test.
struct Names(std::sync::Mutex<std::io::Result<Vec<std::net::SocketAddr>>>);

impl web_proxy::upstream::Resolve for Names {
    fn lookup(
        &self,
        host: &str,
        _port: u16,
    ) -> futures::future::BoxFuture<'static, std::io::Result<Vec<std::net::SocketAddr>>> {
        assert_eq!(host, "wasgroup.test");
        let answer = match &*self.0.lock().unwrap() {
            Ok(addrs) => Ok(addrs.clone()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        Box::pin(async move { answer })
    }
}

/// A hostname upstream (the internal ALB's DNS name) is re-resolved: traffic follows the
/// new addresses, and a failed or empty lookup keeps the last known ones.
#[tokio::test]
async fn a_hostname_upstream_follows_its_addresses_and_survives_failed_lookups() {
    let port = stack::free_port().unwrap();
    let bind = |ip: &str| tokio::net::TcpListener::bind((ip.to_owned(), port));
    let a = upstream_on(bind("127.0.0.2").await.unwrap(), "a").await;
    let b = upstream_on(bind("127.0.0.3").await.unwrap(), "b").await;
    let names = Arc::new(Names(std::sync::Mutex::new(Ok(vec![a.addr]))));
    let p = proxy_resolving(
        names.clone(),
        &[
            (
                "WEB_PROXY_UPSTREAMS",
                &format!("http://wasgroup.test:{port}"),
            ),
            ("WEB_PROXY_RESOLVE_INTERVAL", "50ms"),
        ],
    )
    .await;
    let c = client();
    let who = |r: reqwest::Response| {
        r.headers()
            .get("x-upstream")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let all_from = |name: &'static str| {
        let (c, url) = (c.clone(), p.url("/api/x"));
        async move {
            for _ in 0..10 {
                let r = c.get(&url).send().await.unwrap();
                assert_eq!(who(r).as_deref(), Some(name));
            }
        }
    };
    wait_until(|| async {
        who(c.get(p.url("/api/x")).send().await.unwrap()).as_deref() == Some("a")
    })
    .await;
    all_from("a").await;

    *names.0.lock().unwrap() = Ok(vec![b.addr]);
    wait_until(|| async {
        who(c.get(p.url("/api/x")).send().await.unwrap()).as_deref() == Some("b")
    })
    .await;
    all_from("b").await;

    // Lookups that fail, or find nothing, for several intervals: b keeps serving.
    *names.0.lock().unwrap() = Err(std::io::Error::other("SERVFAIL"));
    all_from("b").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    all_from("b").await;
    *names.0.lock().unwrap() = Ok(vec![]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    all_from("b").await;
}

async fn wait_until<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A POST with `Idempotency-Key` is retried only where the WAS deduplicates by it; the
/// key named in `Connection` is a hop-by-hop header, gone before the decision.
#[tokio::test]
async fn only_posts_the_was_deduplicates_are_retried() {
    for (path, extra, retried) in [
        ("/api/rentals", None, true),
        ("/api/rentals/current/return", None, true),
        ("/api/auth/signup", None, false),
        ("/api/admin/deposits/confirm", None, false),
        ("/api/rentals", Some("idempotency-key"), false),
    ] {
        let (bad, connections) = resetting().await;
        let good = upstream("good").await;
        // The resetting address is tried first (round robin from it) and never ejected.
        let p = proxy(
            &[bad, good.addr],
            &[
                ("WEB_PROXY_HEALTH_INTERVAL", "60s"),
                ("WEB_PROXY_EJECT_BASE", "60s"),
            ],
        )
        .await;
        let c = client();
        // Until the resetting address has taken one request (the balancer picks at
        // random): that request shows whether it was retried.
        let mut outcome = None;
        for i in 0..60 {
            let before = connections.load(Ordering::SeqCst);
            let mut req = c
                .post(p.url(path))
                .header("idempotency-key", format!("k{i}"))
                .body("{}");
            if let Some(named) = extra {
                req = req.header("connection", named);
            }
            let status = req.send().await.unwrap().status().as_u16();
            if connections.load(Ordering::SeqCst) > before {
                outcome = Some(status);
                break;
            }
            assert_eq!(status, 200, "{path}: the healthy address answered");
        }
        let status = outcome.expect("the resetting address was tried within 60 requests");
        let expected = if retried { 200 } else { 502 };
        assert_eq!(status, expected, "{path} {extra:?}: retried = {retried}");
    }
}

/// TRACE would echo the request (the secret the proxy adds included) and is refused; so
/// is CONNECT. Neither is retried nor forwarded.
#[tokio::test]
async fn trace_and_connect_are_refused_and_never_forwarded() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    for method in ["TRACE", "CONNECT"] {
        let request = if method == "CONNECT" {
            format!(
                "CONNECT {}:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                up.addr.ip()
            )
        } else {
            "TRACE /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()
        };
        let answer = raw(p.addr, &request, Duration::from_secs(2)).await;
        assert_eq!(status_of(&answer), 405, "{method}: {answer}");
        assert!(answer.contains("method_not_allowed"), "{answer}");
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
}

/// A made-up method is answered 405 by the proxy (a 4xx: made-up methods must not raise
/// the 5xx alarm), reaching nothing; one listed in `WEB_PROXY_EXTRA_METHODS` is forwarded.
#[tokio::test]
async fn invented_methods_get_405_unless_listed() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[]).await;
    let c = client();
    for method in ["XQWERTY1", "PROPFIND", "PURGE"] {
        let r = c
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                p.url("/api/tags"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
        assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        assert!(body["detail"].as_str().unwrap().contains("메서드"));
    }
    // Static files and health too: nothing is keyed by an invented method anywhere.
    let r = c
        .request(
            reqwest::Method::from_bytes(b"XSTATIC").unwrap(),
            p.url("/index.html"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);

    let listed = proxy(
        &[up.addr],
        &[("WEB_PROXY_EXTRA_METHODS", "PURGE, PROPFIND")],
    )
    .await;
    let r = c
        .request(
            reqwest::Method::from_bytes(b"PURGE").unwrap(),
            listed.url("/api/tags"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
}
