//! Per-request plumbing: request id, one access-log event per request, the instance
//! header, a deadline, and problem+json for panics and axum's own 405s.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::{Error, problem};
use crate::state::AppState;

static REQUEST_ID: HeaderName = HeaderName::from_static(shared::request_id::HEADER);
static TRACE: HeaderName = HeaderName::from_static(shared::request_id::TRACE_HEADER);
/// Names the replica that answered, so a client (and the resilience tests) can see that
/// consecutive requests of one session are served by different replicas.
pub static INSTANCE: HeaderName = HeaderName::from_static("x-upbrella-instance");

pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = shared::request_id::from_header(request.headers().get(&REQUEST_ID));
    request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let trace_id = shared::request_id::trace_id(request.headers().get(&TRACE))
        .unwrap_or_default()
        .to_owned();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        path = %path,
    );
    let started = Instant::now();
    let in_flight = state.metrics.in_flight();
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);
    let status = response.status();
    let took = started.elapsed();
    state
        .metrics
        .record(&method, matched.as_deref(), status.as_u16(), took);
    let duration_ms = took.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        let route = matched.as_deref().unwrap_or("-");
        let status = status.as_u16();
        let request_id = id.to_str().unwrap_or_default();
        // One shape at each level; CloudWatch's metric filters read `target`, `status`
        // and `duration_ms` (ecs/observability/samples.jsonl holds real lines).
        macro_rules! access {
            ($level:ident) => {
                tracing::$level!(target: "access", status, route, duration_ms, request_id, trace_id = %trace_id, "request")
            };
        }
        if matches!(route, "/health" | "/ready") && (200..300).contains(&status) {
            // Load balancers and proxies probe these every few hundred milliseconds.
            access!(debug);
        } else if status >= 500 {
            access!(warn);
        } else {
            access!(info);
        }
    });
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID.clone(), id);
    if let Ok(v) = HeaderValue::from_str(&state.config.instance_id) {
        headers.insert(INSTANCE.clone(), v);
    }
    response
}

/// A request that takes longer than `WAS_REQUEST_TIMEOUT` is answered with 503 so the
/// client (or the proxy) can retry elsewhere instead of waiting on a stuck dependency.
pub async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit: Duration = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request deadline exceeded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "요청 처리가 너무 오래 걸렸습니다. 잠시 후 다시 시도해 주세요.",
            )
        }
    }
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    Error::internal("handler panicked").into_response()
}

/// axum answers an unsupported method with a bare 405; give it a problem body too.
pub async fn method_not_allowed_as_problem(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && response.headers().get("content-type").is_none()
    {
        let allow = response.headers().get("allow").cloned();
        let mut p = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "이 주소에서는 허용되지 않는 요청 방식입니다.",
        );
        if let Some(allow) = allow {
            p.headers_mut().insert("allow", allow);
        }
        return p;
    }
    response
}
