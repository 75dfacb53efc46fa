//! The HTTP server loop both binaries run.
//!
//! `axum::serve` installs no timer, so a client that opens a connection and trickles its
//! headers (slowloris) holds a task forever. Serving each connection through hyper-util's
//! builder lets us bound that, speak HTTP/1.1 and h2c on one port, and shut down
//! gracefully: stop accepting, let in-flight requests finish within a grace period, then
//! close whatever is left.
//!
//! What the loop guarantees about connections:
//! - every request head (not only a connection's first) completes within
//!   `header_read_timeout` of its first byte, and a connection that reads and writes
//!   nothing for `idle_timeout` is closed, HTTP/2 and upgraded tunnels included
//!   ([`crate::conn`]);
//! - at most `max_connections` are open at once, and optionally at most
//!   `max_connections_per_ip` from one peer address; a connection over either cap is
//!   answered `503` and closed at once, so the caps cost the server nothing;
//! - a request whose `Host` header is missing (HTTP/1.1), repeated or malformed is
//!   answered `400` before any application code sees it (RFC 9112 §3.2).

//!
//! The caps live in `limits`, the check of a request's head in `head`.

mod head;
mod limits;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http::{Response, StatusCode};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::conn::{ConnState, Guarded, RequestGuard};
use head::{bad_request, check_head};
use limits::{ConnectionLimits, refuse};

/// Connection-level settings of a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long a request head may take from its first byte (and a new connection to
    /// deliver its first head).
    pub header_read_timeout: Duration,
    /// How long a connection may read and write nothing. Keep it above the load
    /// balancer's idle timeout (the ALB's is 60 s), or it reuses connections we close.
    pub idle_timeout: Duration,
    /// How long in-flight requests may take to finish once shutdown starts.
    pub grace_period: Duration,
    /// Largest request head accepted (HTTP/1 buffer size).
    pub max_header_bytes: usize,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections from one peer address at most (`None`: no such cap). Behind a
    /// load balancer the peer is the balancer, so this is for direct exposure only.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            grace_period: Duration::from_secs(20),
            max_header_bytes: 64 * 1024,
            max_connections: 4096,
            max_connections_per_ip: None,
        }
    }
}

/// What can be served: an [`axum::Router`], or any service of the same shape (web-proxy's
/// edge is one function, not a router).
pub trait App:
    tower::Service<
        http::Request<Body>,
        Response = axum::response::Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<
            http::Request<Body>,
            Response = axum::response::Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
///
/// Every request carries `ConnectInfo<SocketAddr>` with the peer address.
pub async fn serve<F, A>(listener: TcpListener, app: A, options: ServeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send,
    A: App,
{
    serve_with(listener, app, options, shutdown, |stream| async move {
        Ok(stream)
    })
    .await;
}

/// Like [`serve`], with each accepted stream passed through `wrap` first (a TLS
/// handshake, say) inside the connection's own task, under the first-request deadline.
pub async fn serve_with<F, A, W, Fut, Io>(
    listener: TcpListener,
    app: A,
    options: ServeOptions,
    shutdown: F,
    wrap: W,
) where
    F: Future<Output = ()> + Send,
    A: App,
    W: Fn(TcpStream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<Io>> + Send + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = http_builder(&options);
    let limits = Arc::new(ConnectionLimits::new(&options));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    while let Some((stream, peer)) = next_connection(&listener, shutdown.as_mut()).await {
        let Some(slot) = limits.admit(peer.ip()) else {
            tokio::spawn(refuse(stream));
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let state = Arc::new(ConnState::default());
        let service = {
            let app = app.clone();
            let state = Arc::clone(&state);
            hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let guard = state.request_started();
                let state = Arc::clone(&state);
                req.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    if let Err(problem) = check_head(&req) {
                        return Ok(with_guard(bad_request(problem), guard));
                    }
                    let response = app
                        .oneshot(req.map(Body::new))
                        .await
                        .unwrap_or_else(|never: Infallible| match never {});
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        state.upgraded();
                    }
                    Ok::<_, Infallible>(with_guard(response, guard))
                }
            })
        };
        let builder = builder.clone();
        let wrap = wrap.clone();
        let watcher = graceful.watcher();
        let (head_timeout, idle_timeout) = (options.header_read_timeout, options.idle_timeout);
        tokio::spawn(async move {
            let _slot = slot;
            let Some(io) = set_up(wrap, stream, head_timeout, peer).await else {
                return;
            };
            let io = Guarded::new(io, state, head_timeout, idle_timeout);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drain(graceful, options.grace_period).await;
}

/// HTTP/1.1 and h2c on one port, with the header limits of `options`.
fn http_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Heads and idleness are timed by `conn::Guarded`, per request.
        .header_read_timeout(None)
        .max_buf_size(options.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// The next accepted connection, or `None` once `shutdown` resolves.
async fn next_connection<F>(
    listener: &TcpListener,
    mut shutdown: Pin<&mut F>,
) -> Option<(TcpStream, SocketAddr)>
where
    F: Future<Output = ()>,
{
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => return Some(pair),
                Err(e) => {
                    // Running out of file descriptors is the usual cause; back off a
                    // little instead of spinning on the error.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            () = &mut shutdown => return None,
        }
    }
}

/// The stream through `wrap` (a TLS handshake), within the first head's deadline.
async fn set_up<W, Fut, Io>(
    wrap: W,
    stream: TcpStream,
    head_timeout: Duration,
    peer: SocketAddr,
) -> Option<Io>
where
    W: Fn(TcpStream) -> Fut,
    Fut: Future<Output = std::io::Result<Io>>,
{
    match tokio::time::timeout(head_timeout, wrap(stream)).await {
        Ok(Ok(io)) => Some(io),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, %peer, "connection setup failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "connection setup timed out");
            None
        }
    }
}

/// Lets in-flight requests finish within `grace_period`, then gives up on the rest.
async fn drain(graceful: GracefulShutdown, grace_period: Duration) {
    tracing::info!(?grace_period, "stopped accepting; draining connections");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace_period) => {
            tracing::warn!("grace period over with connections still open; closing them");
        }
    }
}

fn with_guard(response: Response<Body>, guard: RequestGuard) -> Response<Holding<RequestGuard>> {
    response.map(|inner| Holding::new(inner, guard))
}

/// A response body that keeps something alive until the body is done or dropped: the
/// request's place among the connection's in-flight requests, a load-shedding permit.
pub struct Holding<T> {
    inner: Body,
    _held: T,
}

impl<T> Holding<T> {
    pub fn new(inner: Body, held: T) -> Self {
        Self { inner, _held: held }
    }
}

impl<T: Unpin + Send + 'static> hyper::body::Body for Holding<T> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(
        options: ServeOptions,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", get(|| async { "ok" }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, options, async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    async fn request(stream: &mut TcpStream) -> String {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn options() -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_secs(3),
            grace_period: Duration::from_secs(1),
            max_header_bytes: 8192,
            ..ServeOptions::default()
        }
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
        let (addr, _stop) = start(options()).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .expect("closed in time")
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_outlives_the_header_read_timeout() {
        let (addr, _stop) = start(options()).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert!(request(&mut stream).await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(
            request(&mut stream).await.starts_with("HTTP/1.1 200"),
            "still open after 3x the header timeout"
        );
    }

    #[tokio::test]
    async fn oversized_headers_get_431() {
        let (addr, _stop) = start(options()).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        stream.write_all(big.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 431"));
    }

    #[tokio::test]
    async fn duplicate_missing_or_invalid_hosts_get_400() {
        let (addr, _stop) = start(options()).await;
        for head in [
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        ] {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 400"),
                "{head:?}"
            );
        }
        for head in [
            "GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
        ] {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1."),
                "{head:?}"
            );
            assert!(
                String::from_utf8_lossy(&buf[..n]).contains(" 200 "),
                "{head:?}"
            );
        }
    }

    #[tokio::test]
    async fn connections_over_the_cap_are_refused_with_503() {
        let (addr, _stop) = start(ServeOptions {
            max_connections: 2,
            ..options()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            assert!(request(&mut s).await.starts_with("HTTP/1.1 200"));
            held.push(s);
        }
        let mut third = TcpStream::connect(addr).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = third.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 503"));
        drop(held);
        // A slot frees when a connection closes.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut s = TcpStream::connect(addr).await.unwrap();
            if request(&mut s).await.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(Instant::now() < deadline, "slots were not given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_second_request_head_gets_the_short_deadline_too() {
        let (addr, _stop) = start(options()).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert!(request(&mut stream).await.starts_with("HTTP/1.1 200"));
        // Start the next head and stall: closed after the 300 ms head timeout, long
        // before the 3 s idle timeout.
        stream.write_all(b"GET / HT").await.unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .expect("closed before the idle timeout")
            .unwrap_or(0);
        assert_eq!(n, 0);
        assert!(started.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn an_idle_h2_connection_is_closed_at_the_idle_timeout_not_the_head_timeout() {
        let (addr, _stop) = start(options()).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // The HTTP/2 preface and an empty SETTINGS frame, then nothing.
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await
            .unwrap();
        let started = Instant::now();
        let mut buf = vec![0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(6), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue, // the server's SETTINGS and its ACK, a GOAWAY
                Err(_) => panic!("an idle h2 connection stayed open"),
            }
        }
        let lived = started.elapsed();
        assert!(
            lived >= Duration::from_millis(2500),
            "closed after {lived:?}: h2 has no request heads to time out between streams"
        );
    }

    #[tokio::test]
    async fn the_per_address_cap_refuses_a_second_connection_from_one_peer() {
        let (addr, _stop) = start(ServeOptions {
            max_connections_per_ip: Some(1),
            ..options()
        })
        .await;
        let mut first = TcpStream::connect(addr).await.unwrap();
        assert!(request(&mut first).await.starts_with("HTTP/1.1 200"));
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = second.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 503"));
        // The first is still served.
        assert!(request(&mut first).await.starts_with("HTTP/1.1 200"));
    }
}
