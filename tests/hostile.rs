//! The hostile-input suite: what an attacker sends to the public port, against the real
//! topology (web-proxy in front of two WAS replicas sharing the proxy's secret, Redis,
//! PostgreSQL), over raw sockets where a polite client would not go. Every case checks
//! the refusal *and* that nothing happened behind it: no request reached a WAS (web-proxy's
//! per-upstream counters), no row was written, no replica was ejected.
//!
//! The floods (password guesses, sign-ups, stalled uploads) also record peak memory of
//! the processes under attack in `target/hostile-summary.md`, which `scripts/test.sh`
//! prints. These are debug builds; `scripts/bench.sh` measures the release build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use stack::process::{peak_rss_kib, rss_kib};
use stack::{Binaries, Options, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upbrella_tests::{session_cookie, sign_up};

// The crate root of this test; its parts live in hostile/.
#[path = "hostile/floods.rs"]
mod floods;
#[path = "hostile/slow.rs"]
mod slow;

/// Floods and timing-sensitive cases run one at a time, so they do not starve each
/// other on a small machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SECRET: &str = "hostile-suite-secret";

fn stack(
    name: &str,
    was_env: &[(&str, &str)],
    proxy_env: &[(&str, &str)],
) -> (Stack, stack::TempDir) {
    let dir = stack::TempDir::new(&format!("upbrella-hostile-{name}")).unwrap();
    let bins = Binaries::in_target("debug")
        .expect("was and web-proxy are built by `cargo test --workspace`");
    let mut options = Options::new(dir.path().to_path_buf());
    options.persistent_redis = false;
    options.static_dir = Some(stack::topology::workspace_root().join("web"));
    options.proxy_secret = Some(SECRET.into());
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    options.was_env = owned(was_env);
    options.proxy_env = owned(&[
        ("WEB_PROXY_DRAIN_PERIOD", "0s"),
        ("WEB_PROXY_HEADER_READ_TIMEOUT", "1s"),
        ("WEB_PROXY_BODY_TIMEOUT", "1s"),
    ]);
    options.proxy_env.extend(owned(proxy_env));
    (Stack::start(&bins, options).unwrap(), dir)
}

/// Sends `bytes` on a fresh connection and reads until the server closes it or is quiet
/// for `quiet`; returns everything it said.
async fn raw(addr: SocketAddr, bytes: &[u8], quiet: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(bytes).await;
    read_all(&mut stream, quiet).await
}

async fn read_all(stream: &mut TcpStream, quiet: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(quiet, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> Option<u16> {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
}

/// Reads web-proxy's metrics; panics if the metric is absent (a typo must not pass).
async fn metric_sum(admin: SocketAddr, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let values: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(!values.is_empty(), "metric {name} is missing:\n{text}");
    values.iter().sum()
}

async fn upstream_hits(s: &Stack) -> f64 {
    metric_sum(
        s.proxies[0].admin.unwrap(),
        "upbrella_proxy_upstream_requests_total",
    )
    .await
}

fn count(s: &Stack, sql: &str) -> i64 {
    s.psql(sql).unwrap().trim().parse().unwrap()
}

fn summary_row(case: &str, requests: usize, refused: &str, memory: &str) {
    use std::io::Write;
    let path = stack::topology::workspace_root().join("target/hostile-summary.md");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "| {case} | {requests} | {refused} | {memory} |");
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_smuggling_requests_never_reach_the_was() {
    let (s, _dir) = stack("malformed", &[], &[]);
    let addr = s.proxies[0].addr;
    let before = upstream_hits(&s).await;
    let body =
        r#"{"email":"a@example.com","password":"password123","name":"김","phone":"01012345678"}"#;
    let cases: Vec<(&str, String, u16)> = vec![
        (
            "two differing Content-Lengths",
            format!("POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
            400,
        ),
        (
            "Transfer-Encoding that does not end in chunked",
            "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "an unknown transfer coding",
            "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "a chunk size that overflows",
            "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nx\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "a folded header line",
            "GET /api/tags HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".into(),
            400,
        ),
        (
            "a space before the colon",
            "GET /api/tags HTTP/1.1\r\nHost : x\r\n\r\n".into(),
            400,
        ),
        (
            "a space in a header name",
            "GET /api/tags HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n".into(),
            400,
        ),
        (
            "a NUL byte in a header value",
            "GET /api/tags HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".into(),
            400,
        ),
        (
            "a control byte in the request target",
            "GET /api/ta\x01gs HTTP/1.1\r\nHost: x\r\n\r\n".into(),
            400,
        ),
        (
            "two Host headers",
            "GET /api/tags HTTP/1.1\r\nHost: x\r\nHost: evil.example\r\n\r\n".into(),
            400,
        ),
        (
            "no Host header",
            "GET /api/tags HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        (
            "an invalid Host",
            "GET /api/tags HTTP/1.1\r\nHost: evil.example/path\r\n\r\n".into(),
            400,
        ),
        (
            "an unknown HTTP version",
            "GET /api/tags HTTP/1.7\r\nHost: x\r\n\r\n".into(),
            400,
        ),
        (
            "a 20 KiB header",
            format!("GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(20 * 1024)),
            431,
        ),
        (
            "a declared body over the limit",
            "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n".into(),
            413,
        ),
    ];
    let mut refused = 0;
    for (name, request, expected) in &cases {
        let hits = upstream_hits(&s).await;
        let response = raw(addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert_eq!(
            upstream_hits(&s).await,
            hits,
            "{name} reached a WAS: {response:?}"
        );
        let status = status_of(&response);
        // hyper refuses some framing errors by closing without an answer; either way the
        // request goes nowhere.
        assert!(
            status == Some(*expected) || (status.is_none() && *expected == 400),
            "{name}: expected {expected}, got {response:?}"
        );
        refused += 1;
    }
    assert_eq!(upstream_hits(&s).await, before, "nothing reached a WAS");
    // CL.TE desync: a length that covers a smuggled second request, and a chunked body
    // that ends before it. The body is read as chunked (RFC 9112 §6.3) and the connection
    // is closed after the answer, so the smuggled bytes are never a request.
    let smuggled = "GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n";
    let desync = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
        5 + smuggled.len()
    );
    let response = raw(addr, desync.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(
        response.matches("HTTP/1.1 ").count(),
        1,
        "one answer, then the connection closes: {response}"
    );
    assert!(
        upstream_hits(&s).await <= before + 1.0,
        "the smuggled request never reached a WAS"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 0);
    summary_row(
        "malformed heads, smuggling, oversized heads and bodies",
        cases.len() + 1,
        &format!(
            "{refused}/{} refused before any WAS; CL.TE read as chunked, smuggled request never served",
            cases.len()
        ),
        "-",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_cut_off_and_writes_nothing() {
    let (s, _dir) = stack("chunked", &[], &[]);
    let addr = s.proxies[0].addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
    for _ in 0..6 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let response = read_all(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(status_of(&response), Some(413), "{response}");
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_that_try_to_escape_the_api_prefix_never_reach_the_was() {
    let (s, _dir) = stack("routing", &[], &[]);
    let addr = s.proxies[0].addr;
    let before = upstream_hits(&s).await;
    let paths = [
        "/api/..",
        "/api/../index.html",
        "/api/./tags",
        "/api/%2e%2e/index.html",
        "/api/%2E%2E/api/tags",
        "/api/.%2e/admin/users",
        "//api/tags",
        "/API/tags",
        "/api-x",
        "/apitags",
        "/api%2ftags",
        "/%61pi/tags",
        "/static/../api/tags",
        "/..%2fapi/tags",
    ];
    for path in paths {
        let response = raw(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(3),
        )
        .await;
        let status = status_of(&response).unwrap_or(0);
        assert!(
            (200..500).contains(&status),
            "{path}: no 5xx, got {response:?}"
        );
        assert!(
            !response.contains("x-upbrella-instance"),
            "{path} was answered by a WAS: {response}"
        );
    }
    assert_eq!(upstream_hits(&s).await, before, "nothing reached a WAS");
    // The traversal attempts that are not API paths stay inside the static root.
    for path in [
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/....//etc/passwd",
    ] {
        let response = raw(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(3),
        )
        .await;
        assert!(!response.contains("root:"), "{path}: {response}");
    }
    summary_row(
        "routing confusion around /api, traversal",
        paths.len() + 3,
        &format!(
            "{} of {} kept from the WAS; 0 files outside the root",
            paths.len(),
            paths.len()
        ),
        "-",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_forwarding_and_secret_headers_buy_nothing() {
    let (s, _dir) = stack(
        "spoofing",
        &[("RATE_LIMIT_SIGNUP_PER_ADDRESS", "3/1m")],
        &[],
    );
    let base = s.proxies[0].url("");
    let client = reqwest::Client::new();
    // A guessed secret is replaced by the real one; the request works as any other.
    let r = client
        .get(format!("{base}/api/tags"))
        .header("x-upbrella-proxy-secret", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The replicas refuse anything that skipped the proxy, even with its headers.
    let direct = client
        .get(s.was[0].url("/api/tags"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 403);
    // A made-up X-Forwarded-For per request does not reset the per-address limit.
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = client
            .post(format!("{base}/api/auth/signup"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"email": format!("spoof{i}@example.com"), "password": "password123", "name": "김", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 3);
    // A client's X-Forwarded-Host cannot make a cross-site Origin look same-site.
    let r = client
        .post(format!("{base}/api/auth/login"))
        .header("origin", "http://evil.example")
        .header("x-forwarded-host", "evil.example")
        .json(&json!({"email": "spoof0@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session was made"
    );
    summary_row(
        "forged X-Forwarded-For / -Host, guessed and missing proxy secret",
        9,
        "limit held per real address; CSRF held; direct WAS access 403",
        "-",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_dead_session_cookies_get_401() {
    let (s, _dir) = stack("cookies", &[], &[]);
    let base = s.proxies[0].url("");
    let plain = reqwest::Client::new();
    for forged in [
        "upbrella_sid=AAAAAAAAAAAAAAAAAAAAAA",
        "upbrella_sid=../../etc/passwd",
        "upbrella_sid=%00%00",
        "upbrella_sid=",
    ] {
        let r = plain
            .get(format!("{base}/api/me"))
            .header("cookie", forged)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{forged}");
    }
    // A cookie from a session that logged out is dead everywhere.
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let cookie = session_cookie(&sign_up(&c, &base, "c@example.com").await);
    assert_eq!(
        c.post(format!("{base}/api/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let replay = plain
        .get(format!("{base}/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_json_and_numbers_get_4xx_not_5xx() {
    let (s, _dir) = stack("json", &[], &[]);
    let base = s.proxies[0].url("");
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    sign_up(&c, &base, "admin@example.com").await;
    s.psql("UPDATE users SET role = 'admin'").unwrap();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let oversized = format!(r#"{{"email":"{}"}}"#, "a".repeat(200_000));
    let bodies = [
        // Valid JSON, but past the parser's depth limit: refused as unprocessable.
        ("deeply nested", nested.as_str(), 422),
        ("not JSON", "{\"email\": ", 400),
        (
            "a number for a string",
            r#"{"email": 1, "password": 2}"#,
            422,
        ),
    ];
    // Over 64 KiB: refused by web-proxy from the declared length, before a WAS sees it.
    // (Sent whole, then read: the refusal comes before the body, and an HTTP client that
    // only reads after writing would race the close.)
    let request = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{oversized}",
        oversized.len()
    );
    let response = raw(
        s.proxies[0].addr,
        request.as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(status_of(&response), Some(413), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    for (name, body, expected) in bodies {
        let r = c
            .post(format!("{base}/api/auth/signup"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "{name}");
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{name}"
        );
    }
    for path in [
        "/api/stores/99999999999999999999",
        "/api/stores/-1",
        "/api/stores/1e3",
        "/api/umbrellas/18446744073709551616/location",
        "/api/regions/9223372036854775807/stores",
        "/api/admin/umbrellas?page=-1",
        "/api/admin/umbrellas?page=9223372036854775807",
        "/api/admin/umbrellas?page=99999999999999999999999",
        "/api/admin/rentals?page=9223372036854775807&size=9223372036854775807",
    ] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    // An absurd page size is clamped, not obeyed.
    let r = c
        .get(format!("{base}/api/admin/umbrellas?size=1000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: serde_json::Value = r.json().await.unwrap();
    assert!(page.to_string().len() < 100_000);
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 1);
}
