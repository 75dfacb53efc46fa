//! Test fixtures: upstream servers on loopback (well-behaved, dead, hung, resetting), and
//! the proxy itself, in-process on port 0 or as the real binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use web_proxy::{Config, Proxy};

/// A well-behaved upstream that reports what it received.
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub name: String,
    pub hits: Arc<AtomicUsize>,
    pub healthy: Arc<AtomicBool>,
}

#[derive(Clone)]
struct UpState {
    name: String,
    hits: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
}

async fn echo(State(s): State<UpState>, req: Request) -> impl IntoResponse {
    s.hits.fetch_add(1, Ordering::SeqCst);
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let version = format!("{:?}", req.version());
    let mut stream = req.into_body().into_data_stream();
    let mut len = 0usize;
    while let Some(chunk) = stream.next().await {
        len += chunk.map(|c| c.len()).unwrap_or(0);
    }
    (
        [("x-upstream", s.name.clone())],
        axum::Json(
            json!({"upstream": s.name, "method": method, "uri": uri, "version": version, "headers": headers, "body_len": len}),
        ),
    )
}

async fn slow(
    State(s): State<UpState>,
    Query(q): Query<HashMap<String, u64>>,
) -> impl IntoResponse {
    s.hits.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(q.get("ms").copied().unwrap_or(1000))).await;
    ([("x-upstream", s.name.clone())], "slow done")
}

async fn big(Query(q): Query<HashMap<String, u64>>) -> Response {
    let total = q.get("bytes").copied().unwrap_or(1 << 20);
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = total / chunk.len() as u64;
    let stream =
        futures::stream::iter(0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    Response::builder()
        .header("content-length", (chunks * 64 * 1024).to_string())
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Three parts with no declared length: chunked on the wire.
async fn chunked() -> Response {
    let parts = ["우산 ", "빌리기 ", "끝"].map(|p| Ok::<_, std::io::Error>(bytes::Bytes::from(p)));
    Body::from_stream(futures::stream::iter(parts)).into_response()
}

async fn health(State(s): State<UpState>) -> StatusCode {
    if s.healthy.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn text(State(s): State<UpState>) -> impl IntoResponse {
    (
        [
            ("content-type", "application/json"),
            ("x-upstream", s.name.as_str()),
        ],
        format!("[{}]", vec!["\"umbrella\""; 2000].join(",")),
    )
        .into_response()
}

async fn pre_encoded() -> impl IntoResponse {
    (
        [
            ("content-type", "text/plain"),
            ("content-encoding", "identity-custom"),
        ],
        "x".repeat(5000),
    )
}

/// Answers `101 Switching Protocols` to `Upgrade: echo` and then echoes bytes.
async fn upgrade(mut req: Request) -> Response {
    if req.headers().get("upgrade").and_then(|v| v.to_str().ok()) != Some("echo") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let on = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on.await {
            let mut io = hyper_util::rt::TokioIo::new(upgraded);
            let mut buf = [0u8; 1024];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    });
    Response::builder()
        .status(101)
        .header("connection", "upgrade")
        .header("upgrade", "echo")
        .body(Body::empty())
        .unwrap()
}

pub async fn upstream(name: &str) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    upstream_on(listener, name).await
}

pub async fn upstream_on(listener: TcpListener, name: &str) -> Upstream {
    let addr = listener.local_addr().unwrap();
    let state = UpState {
        name: name.to_owned(),
        hits: Arc::default(),
        healthy: Arc::new(AtomicBool::new(true)),
    };
    let app = Router::new()
        .route("/health", get(health))
        .route("/api/slow", get(slow))
        .route("/api/big", get(big))
        .route("/api/chunked", get(chunked))
        .route("/api/text", get(text))
        .route("/api/pre-encoded", get(pre_encoded))
        .route("/api/upgrade", get(upgrade))
        .route("/api/upload", post(echo))
        .fallback(any(echo))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service()).await });
    Upstream {
        addr,
        name: name.to_owned(),
        hits: state.hits,
        healthy: state.healthy,
    }
}

/// A port that refuses connections.
pub fn dead_addr() -> SocketAddr {
    format!("127.0.0.1:{}", stack::free_port().unwrap())
        .parse()
        .unwrap()
}

/// Accepts TCP connections (the kernel completes the handshake) but never answers:
/// what a SIGSTOPped or deadlocked server looks like from outside.
pub struct Hung {
    pub addr: SocketAddr,
    _listener: std::net::TcpListener,
}

pub fn hung() -> Hung {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    Hung {
        addr: listener.local_addr().unwrap(),
        _listener: listener,
    }
}

/// Reads each request head, then closes the connection without answering, counting
/// connections: a server that crashes mid-request.
pub async fn resetting() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut head = Vec::new();
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                // A health probe gets an answer; anything else is dropped.
                if head.starts_with(b"GET /health") {
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, count)
}

pub struct TestProxy {
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub state: web_proxy::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestProxy {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Whether the pool knows `addr` and has it ejected (`Some(true)`), admitted
    /// (`Some(false)`), or does not know it (`None`).
    pub fn ejected(&self, addr: SocketAddr) -> Option<bool> {
        self.state
            .pool
            .snapshot()
            .iter()
            .find(|b| b.addr == addr)
            .map(|b| b.is_ejected())
    }

    /// Waits until the active health checks have ejected `addr`.
    pub async fn wait_ejected(&self, addr: SocketAddr) {
        eventually(
            &format!("{addr} ejected"),
            Duration::from_secs(10),
            || async { self.ejected(addr) == Some(true) },
        )
        .await;
    }

    /// Waits until `addr` is admitted (again).
    pub async fn wait_admitted(&self, addr: SocketAddr) {
        eventually(
            &format!("{addr} admitted"),
            Duration::from_secs(10),
            || async { self.ejected(addr) == Some(false) },
        )
        .await;
    }

    pub async fn upstreams(&self) -> Value {
        reqwest::get(format!("http://{}/upstreams", self.admin))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn env_for(upstreams: &[SocketAddr], extra: &[(&str, &str)]) -> HashMap<String, String> {
    let list: Vec<String> = upstreams.iter().map(|a| format!("http://{a}")).collect();
    let mut env: HashMap<String, String> = HashMap::from([
        ("WEB_PROXY_LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("WEB_PROXY_ADMIN_ADDR".into(), "127.0.0.1:0".into()),
        ("WEB_PROXY_UPSTREAMS".into(), list.join(",")),
        ("WEB_PROXY_HEALTH_INTERVAL".into(), "200ms".into()),
        ("WEB_PROXY_HEALTH_TIMEOUT".into(), "300ms".into()),
        ("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into()),
        ("WEB_PROXY_SHUTDOWN_GRACE".into(), "1s".into()),
    ]);
    // The suites run once per forwarding path (scripts/cargo-test.sh sets it the second
    // time); the binaries the other suites start read it from the environment themselves.
    if let Ok(path) = std::env::var("WEB_PROXY_FORWARDING") {
        env.insert("WEB_PROXY_FORWARDING".into(), path);
    }
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// The proxy, in-process, on port 0.
pub async fn proxy(upstreams: &[SocketAddr], extra: &[(&str, &str)]) -> TestProxy {
    let env = env_for(upstreams, extra);
    let config = Config::from_source(&env).unwrap();
    start(Proxy::build(config).await.unwrap()).await
}

/// A proxy whose upstream names resolve through `resolver`.
pub async fn proxy_resolving(
    resolver: std::sync::Arc<dyn web_proxy::upstream::Resolve>,
    extra: &[(&str, &str)],
) -> TestProxy {
    let env = env_for(&[], extra);
    let config = Config::from_source(&env).unwrap();
    start(Proxy::build_with_resolver(config, resolver).await.unwrap()).await
}

async fn start(proxy: Proxy) -> TestProxy {
    let addr = proxy.local_addr();
    let admin = proxy.admin_addr();
    let state = proxy.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(proxy.run_until(async {
        let _ = rx.await;
    }));
    // Address targets are in the pool from the start; names once the first lookup
    // answers.
    let names = state
        .config
        .upstreams
        .iter()
        .any(|u| u.host.parse::<std::net::IpAddr>().is_err());
    if names {
        let pool = state.pool.clone();
        eventually("the first resolution", Duration::from_secs(5), || async {
            !pool.snapshot().is_empty()
        })
        .await;
    }
    TestProxy {
        addr,
        admin,
        state,
        stop: Some(tx),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Sends a raw HTTP/1.1 request and returns the raw response (status line, headers and
/// whatever body arrived before the server closed or `wait` passed).
pub async fn raw(addr: SocketAddr, request: &str, wait: Duration) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn status_of(raw: &str) -> u16 {
    raw.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn header_of<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The value of the first sample whose line starts with `line_prefix` (a metric name, or
/// a name with its first labels). Panics when there is none: a typo must not read as 0.
pub fn metric(text: &str, line_prefix: &str) -> f64 {
    let line = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no metric sample starts with {line_prefix:?} in:\n{text}"));
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("not a number in {line:?}"))
}

/// Polls `check` every 10 ms until it holds; fails the test naming `what` when it does
/// not within `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
