//! Request ids, the access log (one JSON line per request, written when the response body
//! is done so bytes and duration are real), metrics, and load shedding.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode};
use hyper::body::{Body as _, Frame, SizeHint};

use shared::serve::Holding;

use crate::AppState;
use crate::error::problem;
use crate::forward::UpstreamInfo;
use crate::metrics::{Metrics, Route};

static REQUEST_ID: HeaderName = HeaderName::from_static(shared::request_id::HEADER);

/// Marks a response as an https redirect, for the route label.
#[derive(Debug, Clone, Copy)]
pub struct Redirected;

/// Keeps a valid incoming `X-Request-Id` or makes one; sends it upstream and back.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = shared::request_id::from_header(req.headers().get(&REQUEST_ID));
    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

/// Refuses requests beyond `WEB_PROXY_MAX_CONCURRENT` with 503 and `Retry-After`, so an
/// overload degrades into fast refusals instead of everyone's requests timing out.
pub async fn shed_load(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match Arc::clone(&state.limiter).try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(req).await;
            let (parts, body) = response.into_parts();
            // The permit is held until the body is done.
            Response::from_parts(parts, Body::new(Holding::new(body, permit)))
        }
        Err(_) => {
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
    }
}

struct Record {
    metrics: Arc<Metrics>,
    route: Route,
    method: Method,
    path: String,
    status: StatusCode,
    request_id: String,
    started: Instant,
    upstream: Option<UpstreamInfo>,
    peer: Option<std::net::IpAddr>,
}

impl Record {
    fn finish(self, bytes: u64, complete: bool) {
        let duration = self.started.elapsed();
        self.metrics
            .record(self.route, self.status.as_u16(), duration, bytes);
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        let upstream = self.upstream.as_ref();
        let client_ip = upstream
            .map(|u| u.client_ip)
            .or(self.peer)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        tracing::info!(
            target: "access",
            method = %self.method,
            path = %self.path,
            status = self.status.as_u16(),
            bytes,
            duration_ms = duration.as_secs_f64() * 1000.0,
            upstream = upstream.and_then(|u| u.addr).map(|a| a.to_string()).unwrap_or_default(),
            upstream_ms = upstream.and_then(|u| u.duration).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            retried = upstream.is_some_and(|u| u.retried),
            fail_open = upstream.is_some_and(|u| u.fail_open),
            complete,
            request_id = %self.request_id,
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

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let prefix = &state.config.api_prefix;
    let route = if path == "/health" {
        Route::Health
    } else if path == *prefix || path.starts_with(&format!("{prefix}/")) || prefix == "/" {
        Route::Api
    } else {
        Route::Static
    };
    let response = next.run(req).await;
    let route = if response.extensions().get::<Redirected>().is_some() {
        Route::Redirect
    } else {
        route
    };
    let (parts, body) = response.into_parts();
    // The id layer runs inside this one and puts the id (the client's or a new one) on
    // the response; the request did not have it yet when it passed here.
    let request_id = parts
        .headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let record = Record {
        metrics: Arc::clone(&state.metrics),
        route,
        method,
        path,
        status: parts.status,
        request_id,
        started,
        upstream: parts.extensions.get::<UpstreamInfo>().cloned(),
        peer,
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
