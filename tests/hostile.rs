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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_never_get_a_healthy_was_ejected() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Bodies up to 1 MiB, so a large declared body streams instead of being refused.
    let (s, _dir) = stack("slow", &[], &[("WEB_PROXY_MAX_BODY_BYTES", "1048576")]);
    let addr = s.proxies[0].addr;
    let admin = s.proxies[0].admin.unwrap();
    // Slowloris on a fresh connection: closed after the 1 s head timeout.
    let started = Instant::now();
    let r = raw(
        addr,
        b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-A:",
        Duration::from_secs(5),
    )
    .await;
    assert!(r.is_empty(), "{r}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Slowloris on the second request of a keep-alive connection.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    stream
        .write_all(b"GET /api/tags HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let started = Instant::now();
    let rest = read_all(&mut stream, Duration::from_secs(5)).await;
    assert!(!rest.contains("HTTP/1.1 200"), "{rest}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Stalled uploads, small (buffered for retries) and large (streamed): 408 after the
    // 1 s body deadline; the WAS is not blamed for the client's silence.
    for declared in [100, 200_000] {
        let started = Instant::now();
        let r = raw(
            addr,
            format!("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{\"em").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(status_of(&r), Some(408), "declared {declared}: {r}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_failures_total").await,
        0.0,
        "a slow client is not an upstream failure"
    );
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_ejections_total").await,
        0.0
    );
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_healthy").await,
        2.0,
        "both replicas in rotation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_stalled_uploads_release_everything_at_their_deadline() {
    let _one = ONE_AT_A_TIME.lock().await;
    // More stalled uploads than web-proxy's 4096 load-shedding slots and connections:
    // before the body deadline, this many answered 503 to every other API request.
    const STALLED: usize = 4200;
    let files = stack::process::raise_open_files_limit().unwrap();
    assert!(
        files > 2 * STALLED as u64 + 512,
        "this test holds {STALLED} connections on each side; the open-file limit is {files}"
    );
    let (s, _dir) = stack("stalled", &[], &[("WEB_PROXY_BODY_TIMEOUT", "2s")]);
    let addr = s.proxies[0].addr;
    let base = s.proxies[0].url("");
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let idle = rss_kib(proxy_pid);
    let opened = Instant::now();
    let mut held = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{")
            .await
            .unwrap();
        held.push(stream);
    }
    let all_open = opened.elapsed();
    let during = rss_kib(proxy_pid);
    // Every stalled upload has been cut off within a second of its deadline (2 s after
    // its last byte); a fresh request is then served.
    let deadline = opened + all_open + Duration::from_secs(2) + Duration::from_secs(1);
    let client = reqwest::Client::new();
    let served = loop {
        let r = client
            .get(format!("{base}/api/tags"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if r.as_ref().is_ok_and(|r| r.status() == 200) {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(1),
            "no fresh request served within a second of the stalled uploads' deadline: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Past the last one's deadline, each has been answered: 408 at its deadline, or 503
    // at once over the connection cap; a connection still waiting is a failure.
    tokio::time::sleep_until((deadline - Duration::from_millis(500)).into()).await;
    let mut answered_408 = 0;
    let mut refused_503 = 0;
    for mut stream in held {
        let r = read_all(&mut stream, Duration::from_millis(20)).await;
        match status_of(&r) {
            Some(408) => answered_408 += 1,
            Some(503) => refused_503 += 1,
            _ => {}
        }
    }
    assert_eq!(
        answered_408 + refused_503,
        STALLED,
        "every stalled upload was answered ({answered_408} × 408, {refused_503} × 503)"
    );
    assert!(answered_408 >= 4000, "{answered_408} got 408");
    let peak = peak_rss_kib(proxy_pid);
    summary_row(
        &format!("{STALLED} stalled uploads (64 KiB declared, 1 byte sent)"),
        STALLED,
        &format!(
            "{answered_408} got 408 at their deadline, {refused_503} over the connection cap 503; a fresh request was served {:.1} s after the last one's deadline",
            served
                .saturating_duration_since(opened + all_open + Duration::from_secs(2))
                .as_secs_f64()
        ),
        &format!(
            "web-proxy {:.1} → {:.1} MiB (peak {:.1})",
            mib(idle),
            mib(during),
            mib(peak)
        ),
    );
}

/// A distributed password-guessing flood: 64 clients, every request a different e-mail,
/// the per-address limit off (as if each came from its own address). The hash queue
/// bounds the work; memory stays flat; reads keep being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_keeps_memory_bounded_and_reads_served() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "login-flood",
        &[
            ("RATE_LIMIT_LOGIN_PER_ADDRESS", "off"),
            ("RATE_LIMIT_LOGIN_BURST_PER_ADDRESS", "off"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let pids: Vec<i32> = s.was.iter().map(|w| w.process().unwrap().pid()).collect();
    let idle: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let reader = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    sign_up(&reader, &base, "reader@example.com").await;
    let flood_for = Duration::from_secs(10);
    let started = Instant::now();
    let flooders: Vec<_> = (0..64)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                let mut n = 0;
                while started.elapsed() < flood_for {
                    n += 1;
                    let r = client
                        .post(format!("{base}/api/auth/login"))
                        .json(&json!({"email": format!("flood{i}-{n}@example.com"), "password": "guess-guess"}))
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    statuses.push(r.map_or(0, |r| r.status().as_u16()));
                }
                statuses
            })
        })
        .collect();
    let mut reads = Vec::new();
    let mut peak = vec![0u64; pids.len()];
    while started.elapsed() < flood_for {
        for path in ["/api/tags", "/api/me"] {
            let t = Instant::now();
            let status = reader
                .get(format!("{base}{path}"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            reads.push((status, t.elapsed()));
        }
        for (i, p) in pids.iter().enumerate() {
            peak[i] = peak[i].max(rss_kib(*p));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::new();
    for f in flooders {
        statuses.extend(f.await.unwrap());
    }
    let unexpected: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(**s, 401 | 503))
        .collect();
    assert!(unexpected.is_empty(), "only 401 and 503: {unexpected:?}");
    let refused = statuses.iter().filter(|s| **s == 503).count();
    let failed_reads = reads.iter().filter(|(s, _)| *s != 200).count();
    assert_eq!(failed_reads, 0, "reads kept being served: {reads:?}");
    for (i, p) in pids.iter().enumerate() {
        // The kernel's high-water mark catches peaks between our samples.
        peak[i] = peak[i].max(peak_rss_kib(*p));
        assert!(
            peak[i] < 256 * 1024,
            "WAS {i} peaked at {:.0} MiB",
            mib(peak[i])
        );
    }
    // Memory goes back down once the flood is over.
    let settle = Instant::now();
    let after = loop {
        let now: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
        let back = now.iter().zip(&idle).all(|(n, i)| *n < i + 48 * 1024);
        if back || settle.elapsed() > Duration::from_secs(10) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for (n, i) in after.iter().zip(&idle) {
        assert!(
            *n < i + 48 * 1024,
            "RSS {:.0} MiB after the flood, {:.0} MiB idle",
            mib(*n),
            mib(*i)
        );
    }
    let slowest = reads.iter().map(|(_, d)| *d).max().unwrap_or_default();
    summary_row(
        "login flood: 64 clients × 10 s, a new e-mail each",
        statuses.len(),
        &format!(
            "{} checked (401), {refused} refused fast (503); {} reads all 200, slowest {} ms",
            statuses.len() - refused,
            reads.len(),
            slowest.as_millis()
        ),
        &format!(
            "WAS idle {} → peak {} → after {} MiB",
            idle.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
            peak.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
            after
                .iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
        ),
    );
}

/// Scripted sign-ups from one address: the shared limit stops them at its count, on
/// every replica together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_flood_from_one_address_stops_at_the_limit() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "signup-flood",
        &[("RATE_LIMIT_SIGNUP_PER_ADDRESS", "20/1h")],
        &[],
    );
    let base = s.proxies[0].url("");
    let pids: Vec<i32> = s.was.iter().map(|w| w.process().unwrap().pid()).collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                for n in 0..10 {
                    let r = client
                        .post(format!("{base}/api/auth/signup"))
                        .json(&json!({"email": format!("bot{i}-{n}@example.com"), "password": "password123", "name": "봇", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
                        .send()
                        .await
                        .unwrap();
                    statuses.push(r.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(created, 20, "{statuses:?}");
    assert_eq!(created + limited, statuses.len(), "{statuses:?}");
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 20);
    let peak: Vec<u64> = pids.iter().map(|p| peak_rss_kib(*p)).collect();
    summary_row(
        "sign-up flood: 32 clients × 10 from one address, limit 20/h",
        statuses.len(),
        &format!(
            "{created} created, {limited} refused (429) in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        &format!(
            "WAS peak {} MiB",
            peak.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/")
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_is_capped_and_the_service_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "connections",
        &[],
        &[
            ("WEB_PROXY_MAX_CONNECTIONS", "500"),
            ("WEB_PROXY_HEADER_READ_TIMEOUT", "4s"),
        ],
    );
    let addr = s.proxies[0].addr;
    let base = s.proxies[0].url("");
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let mut held = Vec::new();
    for _ in 0..500 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Over the cap: an immediate 503, not a hang.
    let started = Instant::now();
    let over = raw(addr, b"", Duration::from_secs(2)).await;
    assert_eq!(status_of(&over), Some(503), "{over}");
    assert!(started.elapsed() < Duration::from_secs(1));
    let peak = peak_rss_kib(proxy_pid);
    // Silent connections are closed at the head deadline (4 s); service comes back.
    let deadline = Instant::now() + Duration::from_secs(6);
    let client = reqwest::Client::new();
    loop {
        let ok = client
            .get(format!("{base}/api/tags"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    summary_row(
        "connection flood: 500 silent connections, cap 500",
        501,
        "over the cap: 503 at once; served again after the head deadline",
        &format!("web-proxy peak {:.1} MiB", mib(peak)),
    );
}

/// Someone who knows an admin's e-mail guesses its password from one address, then from
/// many: through web-proxy, with the shipped limits. The admin, from their own address,
/// logs in throughout; the guessing stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_never_locks_the_owner_out_and_stays_bounded() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("lockout", &[], &[]);
    let base = s.proxies[0].url("");
    let email = "operator@example.com";
    sign_up(&reqwest::Client::new(), &base, email).await;
    s.psql(&format!(
        "UPDATE users SET role = 'admin', email_verified_at = now() WHERE email = '{email}'"
    ))
    .unwrap();
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let login = |client: reqwest::Client, password: String| {
        let url = format!("{base}/api/auth/login");
        async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Thirty wrong passwords from one address.
    let attacker = from("127.0.0.66");
    let mut one_address = (0, 0);
    for i in 0..30 {
        match login(attacker.clone(), format!("guess-{i}")).await {
            401 => one_address.0 += 1,
            429 => one_address.1 += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        one_address,
        (10, 20),
        "ten guesses per address and 15 minutes"
    );
    assert_eq!(login(attacker.clone(), "password123".into()).await, 429);
    let owner = from("127.0.0.7");
    assert_eq!(
        login(owner.clone(), "password123".into()).await,
        200,
        "the owner gets in"
    );

    // Then five guesses from each of 60 more addresses.
    let started = Instant::now();
    let mut checked = 0;
    let mut refused = 0;
    for a in 0..60u8 {
        let client = from(&format!("127.0.3.{}", a + 1));
        for i in 0..5 {
            match login(client.clone(), format!("spread-{a}-{i}")).await {
                401 => checked += 1,
                429 => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    // The account's ceiling (100 per hour, 10 of them spent above) with each address's
    // 10 per 15 minutes: at most 90 more plus one per address after the ceiling.
    assert!(checked <= 90 + 60, "{checked} passwords checked");
    assert!(refused > 0, "the ceiling took effect");
    assert_eq!(
        login(owner, "password123".into()).await,
        200,
        "the owner still gets in"
    );
    summary_row(
        "password guessing at an admin's e-mail: 30 from one address, then 5 from each of 60",
        30 + 1 + 300 + 2,
        &format!(
            "one address: {} checked, {} refused (429), right password refused too; spread: {checked} checked, {refused} refused in {:.1} s; the owner logged in both times",
            one_address.0,
            one_address.1,
            started.elapsed().as_secs_f64()
        ),
        "-",
    );
}

/// Sends `requests` on `connections` keep-alive connections, pipelined in batches, and
/// counts the statuses of the answers (each must carry `Content-Length`).
async fn pipelined(
    addr: SocketAddr,
    requests: Vec<String>,
    connections: usize,
) -> std::collections::BTreeMap<u16, usize> {
    let per = requests.len().div_ceil(connections);
    let tasks: Vec<_> = requests
        .chunks(per)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                let mut statuses = std::collections::BTreeMap::new();
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
                for batch in chunk.chunks(64) {
                    stream.write_all(batch.concat().as_bytes()).await.unwrap();
                    let mut answered = 0;
                    while answered < batch.len() {
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut more = [0u8; 16384];
                            let n = stream.read(&mut more).await.unwrap();
                            assert!(n > 0, "the server closed the connection mid-batch");
                            buf.extend_from_slice(&more[..n]);
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                        let status: u16 = head[9..12].parse().unwrap();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        assert!(!head.contains("transfer-encoding"), "{head}");
                        while buf.len() < head_end + length {
                            let mut more = [0u8; 16384];
                            let n = stream.read(&mut more).await.unwrap();
                            assert!(n > 0, "the server closed the connection mid-body");
                            buf.extend_from_slice(&more[..n]);
                        }
                        buf.drain(..head_end + length);
                        *statuses.entry(status).or_insert(0) += 1;
                        answered += 1;
                    }
                }
                statuses
            })
        })
        .collect();
    let mut all = std::collections::BTreeMap::new();
    for t in tasks {
        for (status, n) in t.await.unwrap() {
            *all.entry(status).or_insert(0) += n;
        }
    }
    all
}

async fn series(admin: SocketAddr) -> usize {
    reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count()
}

/// 100,000 requests, each with a method nobody has used before, to web-proxy and to a WAS
/// replica directly (with the proxy's secret, as if it came through): no series and no
/// memory is kept per method, on either tier. Then 10,000 invented paths, hosts and user
/// agents: the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_methods_and_headers_leave_memory_and_metrics_flat() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("methods", &[], &[]);
    let proxy = s.proxies[0].addr;
    let proxy_admin = s.proxies[0].admin.unwrap();
    let was = s.was[0].addr;
    let was_admin = s.was[0].admin.unwrap();
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let was_pid = s.was[0].process().unwrap().pid();
    let n = 100_000;
    let to_proxy: Vec<String> = (0..n)
        .map(|i| format!("XQWERTY{i:06} /api/tags HTTP/1.1\r\nHost: upbrella.test\r\n\r\n"))
        .collect();
    let to_was: Vec<String> = (0..n)
        .map(|i| {
            format!("XQWERTY{i:06} /api/tags HTTP/1.1\r\nHost: upbrella.test\r\nx-upbrella-proxy-secret: {SECRET}\r\n\r\n")
        })
        .collect();
    // Warm both tiers with the kinds of request that follow, so the figures compare
    // like with like.
    pipelined(proxy, to_proxy[..2000].to_vec(), 4).await;
    pipelined(was, to_was[..2000].to_vec(), 4).await;
    pipelined(
        proxy,
        vec!["GET /api/warm/up HTTP/1.1\r\nHost: upbrella.test\r\n\r\n".to_owned(); 10],
        1,
    )
    .await;
    let hits_before = upstream_hits(&s).await;
    let (proxy_series, was_series) = (series(proxy_admin).await, series(was_admin).await);
    let (proxy_rss, was_rss) = (rss_kib(proxy_pid), rss_kib(was_pid));
    let started = Instant::now();
    let proxy_statuses = pipelined(proxy, to_proxy, 8).await;
    let was_statuses = pipelined(was, to_was, 8).await;
    let took = started.elapsed();
    assert_eq!(proxy_statuses.get(&405), Some(&n), "{proxy_statuses:?}");
    assert_eq!(was_statuses.get(&405), Some(&n), "{was_statuses:?}");
    assert_eq!(
        upstream_hits(&s).await,
        hits_before,
        "no invented method was forwarded"
    );

    // Invented paths, hosts and agents.
    let m = 10_000;
    let odd: Vec<String> = (0..m)
        .map(|i| format!("GET /api/x{i}/y?z={i} HTTP/1.1\r\nHost: h{i}.example\r\nUser-Agent: agent/{i}\r\n\r\n"))
        .collect();
    let odd_statuses = pipelined(proxy, odd, 4).await;
    let (proxy_series_after, was_series_after) =
        (series(proxy_admin).await, series(was_admin).await);
    let (proxy_rss_after, was_rss_after) = (rss_kib(proxy_pid), rss_kib(was_pid));
    assert!(
        proxy_series_after == proxy_series && was_series_after == was_series,
        "series grew: web-proxy {proxy_series} → {proxy_series_after}, WAS {was_series} → {was_series_after}; {odd_statuses:?}"
    );
    // Flat: a few MiB of allocator noise at most, where keeping a series per method grew
    // each WAS by about 13 MiB per 120,000.
    for (tier, before, after) in [
        ("web-proxy", proxy_rss, proxy_rss_after),
        ("WAS", was_rss, was_rss_after),
    ] {
        assert!(
            after <= before + 6 * 1024,
            "{tier} grew from {:.1} to {:.1} MiB",
            mib(before),
            mib(after)
        );
    }
    summary_row(
        &format!(
            "{n} invented methods to web-proxy and {n} to a WAS directly, then {m} invented paths, hosts and agents"
        ),
        2 * n + m,
        &format!(
            "web-proxy 405 for all, none forwarded; WAS 405 for all; series web-proxy {proxy_series} → {proxy_series_after}, WAS {was_series} → {was_series_after}; {:.1} s",
            took.as_secs_f64()
        ),
        &format!(
            "web-proxy {:.1} → {:.1} MiB, WAS {:.1} → {:.1} MiB",
            mib(proxy_rss),
            mib(proxy_rss_after),
            mib(was_rss),
            mib(was_rss_after)
        ),
    );
}
