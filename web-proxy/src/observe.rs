//! The access log (one JSON line per request, written when the response body
//! is done so bytes and duration are real), metrics, and load shedding.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, StatusCode, Uri};
use hyper::body::{Body as _, Frame, SizeHint};

use shared::serve::Holding;
use tokio::sync::OwnedSemaphorePermit;

use crate::Shared;
use crate::error::problem;
use crate::forward::UpstreamInfo;
use crate::metrics::{Route, Serving};

/// Takes a place under `WEB_PROXY_MAX_CONCURRENT` for an API request (held until the
/// response body is done, see [`holding`]); `None` when all are taken.
pub fn admit(state: &Shared) -> Option<OwnedSemaphorePermit> {
    Arc::clone(&state.limiter).try_acquire_owned().ok()
}

/// The answer beyond `WEB_PROXY_MAX_CONCURRENT`: 503 with `Retry-After`, so an overload
/// degrades into fast refusals instead of everyone's requests timing out.
pub fn busy(state: &Shared) -> Response {
    state.metrics.shed_total.fetch_add(1, Ordering::Relaxed);
    let mut r = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "요청이 몰려 지금은 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    );
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Keeps `permit` until the response body is done.
pub fn holding(response: Response, permit: OwnedSemaphorePermit) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(Holding::new(body, permit)))
}

struct Record {
    metrics: Serving,
    route: Route,
    method: Method,
    uri: Uri,
    status: StatusCode,
    request_id: HeaderValue,
    trace_id: String,
    started: Instant,
    upstream: Option<UpstreamInfo>,
    peer: Option<std::net::IpAddr>,
}

impl Record {
    fn finish(self, bytes: u64, complete: bool) {
        let duration = self.started.elapsed();
        self.metrics
            .record(self.route, self.status.as_u16(), duration, bytes);
        let upstream = self.upstream.as_ref();
        let client_ip = upstream
            .map(|u| u.client_ip)
            .or(self.peer)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        tracing::info!(
            target: "access",
            method = %self.method,
            path = %self.uri.path(),
            status = self.status.as_u16(),
            bytes,
            duration_ms = duration.as_secs_f64() * 1000.0,
            upstream = upstream.and_then(|u| u.addr).map(|a| a.to_string()).unwrap_or_default(),
            upstream_ms = upstream.and_then(|u| u.duration).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            retried = upstream.is_some_and(|u| u.retried),
            fail_open = upstream.is_some_and(|u| u.fail_open),
            complete,
            request_id = %self.request_id.to_str().unwrap_or_default(),
            trace_id = %self.trace_id,
            client_ip = %client_ip,
            "request"
        );
    }
}

/// Body wrapper that writes the access-log line and the metrics when the body ends (or
/// is dropped by a client that went away).
struct Logged {
    inner: Body,
    bytes: u64,
    record: Option<Record>,
}

impl hyper::body::Body for Logged {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) => {
                if let Some(r) = self.record.take() {
                    let bytes = self.bytes;
                    r.finish(bytes, true);
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            let complete = self.inner.is_end_stream();
            r.finish(self.bytes, complete);
        }
    }
}

/// What the edge knows of a request when its response is ready.
pub struct Seen {
    /// Counted in flight since the request arrived.
    pub serving: Serving,
    pub route: Route,
    pub method: Method,
    pub uri: Uri,
    pub request_id: HeaderValue,
    /// The ALB's `X-Amzn-Trace-Id`, or empty.
    pub trace_id: String,
    pub started: Instant,
    pub peer: std::net::IpAddr,
}

/// Arranges for the access-log line and the metrics to be written when the response
/// body is done (or dropped by a client that went away), and for the request to stop
/// counting as in flight then.
pub fn logged(seen: Seen, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let record = Record {
        metrics: seen.serving,
        route: seen.route,
        method: seen.method,
        uri: seen.uri,
        status: parts.status,
        request_id: seen.request_id,
        trace_id: seen.trace_id,
        started: seen.started,
        upstream: parts.extensions.remove::<UpstreamInfo>(),
        peer: Some(seen.peer),
    };
    Response::from_parts(
        parts,
        Body::new(Logged {
            inner: body,
            bytes: 0,
            record: Some(record),
        }),
    )
}
