//! Limits and redirects: body and header sizes, slow clients, load shedding, the https
//! redirect and the security headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn an_oversized_body_is_413_whether_declared_or_streamed() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_MAX_BODY_BYTES", "1000")]).await;
    let r = client()
        .post(p.url("/api/upload"))
        .body(vec![0u8; 2000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let chunks = futures::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![0u8; 500])));
    let r = client()
        .post(p.url("/api/upload"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = client()
        .post(p.url("/api/upload"))
        .body(vec![0u8; 900])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn oversized_headers_are_431() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_MAX_HEADER_BYTES", "8192")]).await;
    let raw_response = raw(
        p.addr,
        &format!(
            "GET /api/x HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(16_000)
        ),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(status_of(&raw_response), 431);
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_HEADER_READ_TIMEOUT", "500ms")]).await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    let started = Instant::now();
    s.write_all(b"GET /api/x HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    loop {
        // Trickle a header byte every 100 ms; the server must close anyway.
        if s.write_all(b"X").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => break,
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still open after 3 s"
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_are_shed_with_retry_after() {
    let up = upstream("a").await;
    let p = proxy(&[up.addr], &[("WEB_PROXY_MAX_CONCURRENT", "2")]).await;
    let slow: Vec<_> = (0..2)
        .map(|_| tokio::spawn(client().get(p.url("/api/slow?ms=800")).send()))
        .collect();
    eventually(
        "both slow requests at the upstream",
        Duration::from_secs(5),
        || async { up.hits.load(Ordering::SeqCst) == 2 },
    )
    .await;
    let r = client().get(p.url("/api/x")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        client()
            .get(p.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "health is never shed"
    );
    for s in slow {
        assert_eq!(s.await.unwrap().unwrap().status(), 200);
    }
    assert_eq!(
        client().get(p.url("/api/x")).send().await.unwrap().status(),
        200
    );
    assert_eq!(metric(&p.metrics().await, "upbrella_proxy_shed_total"), 1.0);
}

#[tokio::test]
async fn plain_http_is_redirected_to_the_canonical_https_host_only() {
    let up = upstream("a").await;
    let p = proxy(
        &[up.addr],
        &[
            ("WEB_PROXY_REDIRECT_HTTPS", "true"),
            ("WEB_PROXY_CANONICAL_HOST", "upbrella.example"),
            ("WEB_PROXY_TRUSTED_HOPS", "1"),
        ],
    )
    .await;
    let c = client();
    let r = c
        .get(p.url("/stores/3?x=1"))
        .header("x-forwarded-proto", "http")
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.headers()["location"],
        "https://upbrella.example/stores/3?x=1",
        "never the client's Host"
    );
    let r = c
        .post(p.url("/api/rentals"))
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        308,
        "methods other than GET/HEAD keep method and body"
    );
    let r = c
        .get(p.url("/health"))
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the load balancer's health check is not redirected"
    );
    let r = c
        .get(p.url("/api/x"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let r = c
        .get(p.url("/api/x"))
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(
        metric(
            &p.metrics().await,
            "upbrella_proxy_requests_total{route=\"redirect\",status=\"3xx\"}"
        ),
        3.0
    );
}

#[tokio::test]
async fn without_trusted_hops_a_forged_proto_header_changes_nothing() {
    let up = upstream("a").await;
    let p = proxy(
        &[up.addr],
        &[
            ("WEB_PROXY_REDIRECT_HTTPS", "true"),
            ("WEB_PROXY_CANONICAL_HOST", "upbrella.example"),
        ],
    )
    .await;
    // A direct client on plain HTTP is redirected whatever it claims.
    let r = client()
        .get(p.url("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert!(r.headers().get("strict-transport-security").is_none());
}
