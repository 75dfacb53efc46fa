//! The client's request body on its way upstream, in one wrapper: a size limit, a
//! progress deadline, and a flag that says whether it was sent whole.
//!
//! - **Limit**: more than `WEB_PROXY_MAX_BODY_BYTES` ends the body with [`TooLarge`]
//!   (413), whatever `Content-Length` claimed.
//! - **Progress**: a body that delivers nothing for `WEB_PROXY_BODY_TIMEOUT` ends with
//!   [`Stalled`] (408). Without it, a client that declares a body and sends one byte
//!   holds its connection, its load-shedding slot and an upstream connection for as long
//!   as it likes; a few thousand such clients took every slot.
//! - **Sent whole**: an upstream failure counts against the upstream only once the
//!   request was sent whole. Until then a reset or a missing answer may be the client's
//!   doing (a stalled upload the upstream gave up on), and a slow client must never get a
//!   healthy replica ejected.
//!
//! [`TooLarge`]: BodyError::TooLarge
//! [`Stalled`]: BodyError::Stalled

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a client's body ended early.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than allowed")]
    TooLarge,
    #[error("the request body made no progress in time")]
    Stalled,
    #[error("the request body could not be read: {0}")]
    Client(axum::Error),
}

impl BodyError {
    /// The `BodyError` somewhere in an error's source chain, if any.
    pub fn find<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyError> {
        let mut current = Some(e);
        while let Some(err) = current {
            if let Some(found) = err.downcast_ref::<BodyError>() {
                return Some(found);
            }
            current = err.source();
        }
        None
    }
}

pub struct ClientBody {
    inner: Body,
    /// Bytes read ahead by [`ClientBody::read_ahead`], handed out first.
    prefix: Option<Bytes>,
    remaining: u64,
    stall_timeout: Duration,
    last_progress: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    sent_whole: Arc<AtomicBool>,
}

impl ClientBody {
    pub fn new(inner: Body, limit: u64, stall_timeout: Duration) -> Self {
        let sent_whole = Arc::new(AtomicBool::new(inner.is_end_stream()));
        Self {
            inner,
            prefix: None,
            remaining: limit,
            stall_timeout,
            last_progress: Instant::now(),
            timer: None,
            sent_whole,
        }
    }

    /// Reads the body until it ends or more than `max` bytes have come. A body that ends
    /// within them is returned whole (the request can then be retried, and a malformed
    /// one is refused before any upstream sees it); a longer one keeps what was read and
    /// streams on from there.
    pub async fn read_ahead(&mut self, max: usize) -> Result<Option<Bytes>, BodyError> {
        let mut buf = BytesMut::new();
        while let Some(frame) = self.frame().await {
            // Trailers have no use upstream of us; only data frames are kept.
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
                if buf.len() > max {
                    self.prefix = Some(buf.freeze());
                    return Ok(None);
                }
            }
        }
        Ok(Some(buf.freeze()))
    }

    /// Turns true once the body has been read to its end.
    pub fn sent_whole(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.sent_whole)
    }

    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let due = self.last_progress + self.stall_timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        loop {
            if timer.deadline() < due {
                timer.as_mut().reset(due);
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) if Instant::now() >= due => return Poll::Ready(()),
                Poll::Ready(()) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl hyper::body::Body for ClientBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last_progress = Instant::now();
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.remaining {
                        return Poll::Ready(Some(Err(BodyError::TooLarge)));
                    }
                    this.remaining -= len;
                }
                if this.inner.is_end_stream() {
                    this.sent_whole.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Client(e)))),
            Poll::Ready(None) => {
                this.sent_whole.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Pending => match this.poll_stall(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Stalled))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + prefix);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + prefix);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trickle(chunks: Vec<(u64, &'static [u8])>) -> Body {
        let stream = futures::stream::iter(chunks).then(|(delay_ms, bytes)| async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Ok::<_, std::io::Error>(Bytes::from_static(bytes))
        });
        Body::from_stream(stream)
    }

    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_moving_is_read_whole() {
        let body = ClientBody::new(
            trickle(vec![(900, b"ab"), (900, b"cd"), (900, b"ef")]),
            100,
            Duration::from_secs(1),
        );
        let sent = body.sent_whole();
        let bytes = body.collect().await.expect("whole").to_bytes();
        assert_eq!(&bytes[..], b"abcdef");
        assert!(sent.load(Ordering::Relaxed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_ends_with_stalled() {
        let body = ClientBody::new(
            trickle(vec![(10, b"ab"), (5_000, b"cd")]),
            100,
            Duration::from_secs(1),
        );
        let sent = body.sent_whole();
        let err = body.collect().await.expect_err("stalled");
        assert!(matches!(err, BodyError::Stalled));
        assert!(!sent.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn more_than_the_limit_is_too_large() {
        let body = ClientBody::new(Body::from("0123456789"), 5, Duration::from_secs(1));
        assert!(matches!(
            body.collect().await.expect_err("too large"),
            BodyError::TooLarge
        ));
    }

    #[tokio::test]
    async fn read_ahead_returns_a_short_body_whole_and_streams_a_long_one() {
        let mut short = ClientBody::new(
            trickle(vec![(0, b"ab"), (0, b"cd")]),
            100,
            Duration::from_secs(1),
        );
        let whole = short.read_ahead(10).await.expect("read");
        assert_eq!(whole.as_deref(), Some(&b"abcd"[..]));
        let mut long = ClientBody::new(
            trickle(vec![(0, b"abcdef"), (0, b"ghijkl"), (0, b"mn")]),
            100,
            Duration::from_secs(1),
        );
        assert_eq!(long.read_ahead(10).await.expect("read"), None);
        let rest = long.collect().await.expect("rest").to_bytes();
        assert_eq!(&rest[..], b"abcdefghijklmn", "nothing lost or repeated");
    }
}
