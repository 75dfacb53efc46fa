//! Deadlines on a connection's bytes, which hyper does not give us in the form we need.
//!
//! Two rules, enforced by wrapping the connection's I/O in [`Guarded`]:
//!
//! - **Request heads are quick.** A request head must be complete within `head_timeout`
//!   of its first byte, and a new connection must deliver its first head within
//!   `head_timeout` of being accepted. This holds for every request on a keep-alive
//!   connection, not only the first: hyper's single HTTP/1 timer also runs while a
//!   connection waits idle between requests, so it cannot be both short (slowloris) and
//!   longer than the load balancer's idle timeout (which it must be, or the ALB reuses a
//!   connection we just closed and answers 502).
//! - **Connections make progress.** A connection that reads and writes nothing for
//!   `idle_timeout` is closed: an idle keep-alive connection, an idle HTTP/2 connection,
//!   an upgraded tunnel nobody talks on, a client that stopped reading its response.
//!
//! And one courtesy: **lingering close**. When we close a connection whose client is still
//! sending (an early 413 or 408 while the body is on its way), closing at once makes the
//! kernel answer the unread bytes with a reset, which can destroy our answer in flight:
//! the client sees a broken connection instead of the 413. So the close first ends our
//! side (FIN), then reads and discards what still comes for a short while, as nginx's
//! `lingering_close` does.
//!
//! The wrapper learns where requests begin and end from [`ConnState`], which the server
//! loop updates when hyper hands it a parsed head and when the response is done. Bytes
//! that arrive while no request is in flight start a new head (HTTP/1 only: HTTP/2
//! multiplexes streams, and after a protocol switch the bytes are the tunnel's).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What the server loop tells the connection's I/O about its requests.
#[derive(Debug, Default)]
pub struct ConnState {
    /// Request heads parsed so far.
    heads: AtomicU64,
    /// Requests whose response is not finished.
    in_flight: AtomicUsize,
    /// HTTP/2, or switched protocols: bytes between requests are not a new head.
    no_heads: AtomicBool,
}

impl ConnState {
    /// A request head was parsed; the returned guard marks the request finished when
    /// dropped (keep it with the response body).
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.heads.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }

    /// The connection switched protocols (101): from now on it is a tunnel.
    pub fn upgraded(&self) {
        self.no_heads.store(true, Ordering::Relaxed);
    }
}

/// Counts a request as in flight until dropped.
#[derive(Debug)]
pub struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long, and how much, a closing connection reads and discards (lingering close).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// The HTTP/2 connection preface starts with these bytes.
const H2_PREFACE_START: &[u8] = b"PRI * HTTP/2.0";

/// A connection's I/O under the two rules of this module.
pub struct Guarded<IO> {
    inner: IO,
    state: Arc<ConnState>,
    head_timeout: Duration,
    idle_timeout: Duration,
    /// Armed while a request head is due.
    head_deadline: Option<Pin<Box<Sleep>>>,
    heads_seen: u64,
    idle: Pin<Box<Sleep>>,
    last_progress: Instant,
    first_read: bool,
    /// Set once our side of a closing connection is shut: the deadline and the bytes
    /// still to discard.
    linger: Option<(Pin<Box<Sleep>>, usize)>,
}

impl<IO> Guarded<IO> {
    /// Wraps a just-accepted connection: its first head is due within `head_timeout`.
    pub fn new(
        inner: IO,
        state: Arc<ConnState>,
        head_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            inner,
            state,
            head_timeout,
            idle_timeout,
            head_deadline: Some(Box::pin(tokio::time::sleep_until(now + head_timeout))),
            heads_seen: 0,
            idle: Box::pin(tokio::time::sleep_until(now + idle_timeout)),
            last_progress: now,
            first_read: true,
            linger: None,
        }
    }

    /// Called when an operation would block: whether a deadline has passed (and if not,
    /// the timers are registered to wake the connection when one does).
    fn poll_deadlines(&mut self, cx: &mut Context<'_>, reading: bool) -> Poll<io::Error> {
        if reading
            && let Some(deadline) = self.head_deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not received in time",
            ));
        }
        // The idle timer is re-armed lazily: progress only records the time, and the
        // timer, when it fires, moves itself to the real deadline if there was any.
        loop {
            let due = self.last_progress + self.idle_timeout;
            if self.idle.deadline() < due {
                self.idle.as_mut().reset(due);
            }
            match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) if Instant::now() >= due => {
                    return Poll::Ready(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle for too long",
                    ));
                }
                Poll::Ready(()) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Bookkeeping after `n` bytes arrived at the front of `data`.
    fn on_read(&mut self, data: &[u8]) {
        self.last_progress = Instant::now();
        if self.first_read && !data.is_empty() {
            self.first_read = false;
            if data.starts_with(H2_PREFACE_START) {
                self.state.no_heads.store(true, Ordering::Relaxed);
            }
        }
        let heads = self.state.heads.load(Ordering::Relaxed);
        if heads != self.heads_seen {
            self.heads_seen = heads;
            self.head_deadline = None;
        }
        let between_requests = self.state.in_flight.load(Ordering::Relaxed) == 0
            && !self.state.no_heads.load(Ordering::Relaxed);
        if self.head_deadline.is_none() && between_requests && !data.is_empty() {
            // The first byte of the next request head: the head is due soon.
            self.head_deadline = Some(Box::pin(tokio::time::sleep_until(
                self.last_progress + self.head_timeout,
            )));
        }
    }

    fn forget_finished_head(&mut self) {
        let heads = self.state.heads.load(Ordering::Relaxed);
        if heads != self.heads_seen {
            self.heads_seen = heads;
            self.head_deadline = None;
        }
        if self.state.no_heads.load(Ordering::Relaxed) {
            self.head_deadline = None;
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.forget_finished_head();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled();
                this.on_read(&filled[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadlines(cx, true).map(Err),
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(result) => {
                this.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_deadlines(cx, false).map(Err),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                this.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_deadlines(cx, false).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => this.poll_deadlines(cx, false).map(Err),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            if let Err(e) = ready!(Pin::new(&mut this.inner).poll_shutdown(cx)) {
                return Poll::Ready(Err(e));
            }
            this.linger = Some((Box::pin(tokio::time::sleep(LINGER_TIME)), LINGER_BYTES));
        }
        let Some((deadline, budget)) = this.linger.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                // The client finished (or broke off): now the close is clean.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    *budget = budget.saturating_sub(buf.filled().len());
                    if *budget == 0 {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Pending => {
                    return match deadline.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn pair(
        head: Duration,
        idle: Duration,
    ) -> (
        Guarded<tokio::io::DuplexStream>,
        tokio::io::DuplexStream,
        Arc<ConnState>,
    ) {
        let (server, client) = tokio::io::duplex(1024);
        let state = Arc::new(ConnState::default());
        (
            Guarded::new(server, Arc::clone(&state), head, idle),
            client,
            state,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_second_head_times_out_though_idle_would_not() {
        let (mut server, mut client, state) =
            pair(Duration::from_secs(10), Duration::from_secs(75));
        let mut buf = [0u8; 64];
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        assert!(server.read(&mut buf).await.expect("read") > 0);
        drop(state.request_started());
        // A minute of silence between requests is fine (idle timeout 75 s)...
        tokio::time::sleep(Duration::from_secs(60)).await;
        client.write_all(b"G").await.expect("write");
        assert_eq!(server.read(&mut buf).await.expect("read"), 1);
        // ...but once a head has begun it must finish within 10 s.
        let err = server.read(&mut buf).await.expect_err("deadline");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_not_a_slow_head() {
        let (mut server, mut client, state) =
            pair(Duration::from_secs(10), Duration::from_secs(75));
        let mut buf = [0u8; 64];
        client
            .write_all(b"POST / HTTP/1.1\r\n")
            .await
            .expect("write");
        assert!(server.read(&mut buf).await.expect("read") > 0);
        let request = state.request_started();
        // Body bytes every 5 s for 30 s: not a head.
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            client.write_all(b"x").await.expect("write");
            assert_eq!(server.read(&mut buf).await.expect("read"), 1);
        }
        drop(request);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_after_the_idle_timeout() {
        let (mut server, _client, state) = pair(Duration::from_secs(10), Duration::from_secs(75));
        state.upgraded();
        let started = Instant::now();
        let err = server.read(&mut [0u8; 8]).await.expect_err("idle");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // The first head is due at 10 s, but a tunnel has no heads.
        assert!(started.elapsed() >= Duration::from_secs(75));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_new_connection_is_closed_after_the_head_timeout() {
        let (mut server, _client, _state) = pair(Duration::from_secs(10), Duration::from_secs(75));
        let started = Instant::now();
        let err = server.read(&mut [0u8; 8]).await.expect_err("head");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(11));
    }
}
