//! The lean client against a real TCP peer on loopback that answers with bytes written
//! by hand: framings, a kept connection reused, and what is never reused.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const SETTINGS: Settings = Settings {
    connect_timeout: Duration::from_secs(1),
    idle_timeout: Duration::from_secs(5),
    max_idle: 4,
};

/// A peer that, for every connection, reads one request head per answer in `answers`
/// and writes that answer; returns its address and what each request looked like.
async fn peer(
    answers: Vec<&'static [u8]>,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut answers = answers.into_iter();
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut seen = Vec::new();
            for answer in answers.by_ref() {
                let mut buf = [0u8; 4096];
                // One request: its head, plus a body of the length it declares.
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_string();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .map_or(0, |v| v.parse::<usize>().unwrap());
                        if seen.len() >= end + 4 + len {
                            let _ = tx.send(String::from_utf8_lossy(&seen).to_string());
                            seen.clear();
                            break;
                        }
                    }
                }
                sock.write_all(answer).await.unwrap();
                if answer.ends_with(b"CLOSE") {
                    break;
                }
            }
        }
    });
    (addr, rx)
}

fn get<'a>(headers: &'a HeaderMap) -> Outgoing<'a> {
    Outgoing {
        method: &Method::GET,
        path_and_query: "/api/tags?x=1",
        authority: "upstream:8080",
        headers,
        body: None,
        idempotent: true,
    }
}

async fn read_all(response: Response<UpstreamBody>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn a_length_framed_answer_is_relayed_and_its_connection_kept() {
    let (addr, mut seen) = peer(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello",
        b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
    ])
    .await;
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    let first = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-a"], "1");
    assert_eq!(read_all(first).await, b"hello");
    assert_eq!(idle.len(), 1, "kept once read whole");
    let request = seen.recv().await.unwrap();
    assert!(request.starts_with("GET /api/tags?x=1 HTTP/1.1\r\nhost: upstream:8080\r\n"));
    let second = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(read_all(second).await, b"ok");
    seen.recv().await.unwrap();
}

#[tokio::test]
async fn a_chunked_answer_is_decoded_and_trailers_read_past() {
    let (addr, _seen) = peer(vec![
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 99\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n",
    ])
    .await;
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    let response = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert!(
        !response.headers().contains_key(header::CONTENT_LENGTH),
        "a length beside a transfer coding is dropped"
    );
    assert_eq!(read_all(response).await, b"hello world");
    assert_eq!(
        idle.len(),
        0,
        "an upstream that sent both framings is not reused"
    );
}

#[tokio::test]
async fn a_body_until_close_and_a_connection_close_are_not_kept() {
    let (addr, _seen) = peer(vec![b"HTTP/1.1 200 OK\r\n\r\nuntil the end CLOSE"]).await;
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    let response = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert_eq!(read_all(response).await, b"until the end CLOSE");
    assert_eq!(idle.len(), 0);

    let (addr, _seen) = peer(vec![
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
    ])
    .await;
    let response = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert_eq!(read_all(response).await, b"ok");
    assert_eq!(idle.len(), 0, "the upstream asked to close");
}

#[tokio::test]
async fn informational_answers_are_skipped_and_a_body_is_sent_with_its_length() {
    let (addr, mut seen) = peer(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ])
    .await;
    let idle = Arc::new(IdleConns::default());
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
    headers.insert(header::HOST, HeaderValue::from_static("upbrella.example"));
    let body = Bytes::from_static(b"{\"a\":1}");
    let post = Outgoing {
        method: &Method::POST,
        body: Some(&body),
        ..get(&headers)
    };
    let response = send(addr, &idle, SETTINGS, &post).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(read_all(response).await.is_empty());
    let request = seen.recv().await.unwrap();
    assert!(request.contains("host: upbrella.example\r\n"), "{request}");
    assert!(!request.contains("upstream:8080"), "{request}");
    assert!(
        request.ends_with("content-length: 7\r\n\r\n{\"a\":1}"),
        "{request}"
    );
    assert!(
        !request.contains("999"),
        "the client's length is not sent on"
    );
}

#[tokio::test]
async fn bad_heads_and_bodies_are_errors_not_answers() {
    for (answer, what) in [
        (
            &b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok"[..],
            "two lengths",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\nok",
            "a signed length",
        ),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "a bad status"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "an upgrade unasked",
        ),
        (b"garbage\r\n\r\n", "not HTTP"),
    ] {
        refused_as_protocol(answer, what).await;
    }
    // A body cut short, and a chunk not followed by CRLF: the client's stream fails.
    for answer in [
        &b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\nshortCLOSE"[..],
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n",
    ] {
        body_fails(answer).await;
    }
}

/// `answer` is a 502-worthy protocol error, and its connection is not kept.
async fn refused_as_protocol(answer: &'static [u8], what: &str) {
    let (addr, _seen) = peer(vec![answer]).await;
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    let outcome = send(addr, &idle, SETTINGS, &get(&headers)).await;
    assert!(
        matches!(outcome, Err(Error::Protocol(_))),
        "{what}: {:?}",
        outcome.map(|r| r.status())
    );
    assert_eq!(idle.len(), 0, "{what}: its connection is not kept");
}

/// `answer`'s head is accepted but its body fails, and its connection is not kept.
async fn body_fails(answer: &'static [u8]) {
    let (addr, _seen) = peer(vec![answer]).await;
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    let response = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
    assert!(response.into_body().collect().await.is_err());
    assert_eq!(idle.len(), 0);
}

/// Answers built at run time, kept for the peer's lifetime (the test's).
fn leak(bytes: Vec<u8>) -> &'static [u8] {
    Box::leak(bytes.into_boxed_slice())
}

#[tokio::test]
async fn heads_and_lines_beyond_the_limits_are_refused_not_buffered_forever() {
    let long_header = [
        &b"HTTP/1.1 200 OK\r\nx-long: "[..],
        &vec![b'a'; MAX_HEAD + 1],
        b"\r\ncontent-length: 0\r\n\r\n",
    ]
    .concat();
    let many_headers = [
        &b"HTTP/1.1 200 OK\r\n"[..],
        &b"x-many: 1\r\n".repeat(MAX_HEADERS + 1),
        b"content-length: 0\r\n\r\n",
    ]
    .concat();
    for (answer, what) in [
        (leak(long_header), "a head over MAX_HEAD"),
        (leak(many_headers), "more than MAX_HEADERS headers"),
    ] {
        refused_as_protocol(answer, what).await;
    }
    // A chunk-size line (with an extension) that does not end within MAX_LINE fails the
    // body instead of growing the buffer.
    let long_line = [
        &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;x="[..],
        &vec![b'a'; MAX_LINE + 1],
    ]
    .concat();
    body_fails(leak(long_line)).await;
}

#[tokio::test]
async fn a_kept_connection_the_upstream_closed_is_not_used() {
    // The peer answers once per connection, then closes: the second request must not
    // fail on the dead kept connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            drop(sock);
        }
    });
    let idle = Arc::new(IdleConns::default());
    let headers = HeaderMap::new();
    for _ in 0..3 {
        let response = send(addr, &idle, SETTINGS, &get(&headers)).await.unwrap();
        assert_eq!(read_all(response).await, b"ok");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And a non-idempotent request, which may not be sent twice, is not sent on one.
    let post = Outgoing {
        method: &Method::POST,
        idempotent: false,
        ..get(&headers)
    };
    let response = send(addr, &idle, SETTINGS, &post).await.unwrap();
    assert_eq!(read_all(response).await, b"ok");
}
