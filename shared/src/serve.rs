//! The HTTP server loop both binaries run.
//!
//! `axum::serve` installs no timer, so a client that opens a connection and trickles its
//! headers (slowloris) holds a task forever. Serving each connection through hyper-util's
//! builder lets us bound that, speak HTTP/1.1 and h2c on one port, and shut down
//! gracefully: stop accepting, let in-flight requests finish within a grace period, then
//! close whatever is left.
//!
//! Two timers, because hyper has one: its HTTP/1 "header read timeout" also runs while a
//! keep-alive connection waits for its next request, so it is our *idle* timeout, and it
//! must outlast the load balancer's (the ALB keeps idle connections 60 s; closing them
//! first turns into sporadic 502s). A new connection must still deliver its first
//! request head within the much shorter `header_read_timeout`, which this loop enforces.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Connection-level settings of a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long a new connection may take to deliver its first request head.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may stay idle (and take over a later request
    /// head). Keep it above the load balancer's idle timeout.
    pub idle_timeout: Duration,
    /// How long in-flight requests may take to finish once shutdown starts.
    pub grace_period: Duration,
    /// Largest request head accepted (HTTP/1 buffer size).
    pub max_header_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            grace_period: Duration::from_secs(20),
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
///
/// Every request carries `ConnectInfo<SocketAddr>` with the peer address.
pub async fn serve<F>(listener: TcpListener, app: Router, options: ServeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    serve_with(listener, app, options, shutdown, |stream| async move {
        Ok(stream)
    })
    .await;
}

/// Like [`serve`], with each accepted stream passed through `wrap` first (a TLS
/// handshake, say) inside the connection's own task, under the first-request deadline.
pub async fn serve_with<F, W, Fut, Io>(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: F,
    wrap: W,
) where
    F: Future<Output = ()> + Send,
    W: Fn(TcpStream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = std::io::Result<Io>> + Send + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.idle_timeout)
        .max_buf_size(options.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX));

    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Running out of file descriptors is the usual cause; back off a
                    // little instead of spinning on the error.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let got_request = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&got_request);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            seen.store(true, Ordering::Relaxed);
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app
                    .oneshot(req.map(axum::body::Body::new))
                    .await
                    .unwrap_or_else(|never: Infallible| match never {});
                Ok::<_, Infallible>(response)
            }
        });
        let builder = builder.clone();
        let wrap = wrap.clone();
        let watcher = graceful.watcher();
        let first_head = options.header_read_timeout;
        tokio::spawn(async move {
            let serve = async {
                let io = match wrap(stream).await {
                    Ok(io) => io,
                    Err(e) => {
                        tracing::debug!(error = %e, %peer, "connection setup failed");
                        return Ok(());
                    }
                };
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                watcher.watch(connection.into_owned()).await
            };
            tokio::pin!(serve);
            let result = tokio::select! {
                result = &mut serve => result,
                () = tokio::time::sleep(first_head) => {
                    if !got_request.load(Ordering::Relaxed) {
                        tracing::debug!(%peer, "no request head in time; closing the connection");
                        return;
                    }
                    serve.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(grace_period = ?options.grace_period, "stopped accepting; draining connections");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(options.grace_period) => {
            tracing::warn!("grace period over with connections still open; closing them");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
