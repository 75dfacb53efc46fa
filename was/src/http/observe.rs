//! Per-request plumbing: request id, one access-log event per request, the instance
//! header, the proxy secret, a deadline, and problem+json for panics and axum's own 405s.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::{Error, problem};
use crate::http::edge;
use crate::state::AppState;

static REQUEST_ID: HeaderName = HeaderName::from_static(shared::request_id::HEADER);
static TRACE: HeaderName = HeaderName::from_static(shared::request_id::TRACE_HEADER);
/// Names the replica that answered, so a client (and the resilience tests) can see that
/// consecutive requests of one session are served by different replicas.
pub static INSTANCE: HeaderName = HeaderName::from_static("x-upbrella-instance");

/// Everything a request passes before its route, in one function rather than a stack
/// of five `from_fn` layers (each of which boxed a future and cloned the rest of the
/// stack for every request): the request id and its span, the client's address and
/// web-proxy's secret ([`edge::client_address`]), the deadline, a panic turned into a
/// 500, axum's bare 405 given a problem body, then the metrics and the access-log line.
pub async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = shared::request_id::from_header(request.headers().get(&REQUEST_ID));
    request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let trace_id = shared::request_id::trace_id(request.headers().get(&TRACE))
        .unwrap_or_default()
        .to_owned();
    let method = request.method().clone();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let uri = request.uri().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = method.as_str(),
        path = uri.path(),
    );
    let started = Instant::now();
    let in_flight = state.metrics.in_flight();
    let mut response = inner(&state, request, next).instrument(span).await;
    drop(in_flight);
    let status = response.status();
    let took = started.elapsed();
    state
        .metrics
        .record(&method, matched.as_deref(), status.as_u16(), took);
    let duration_ms = took.as_secs_f64() * 1000.0;
    // Written outside the request's span, with what the span would add: the JSON
    // format reads a span's fields back and writes them again into every event.
    let route = matched.as_deref().unwrap_or("-");
    let status = status.as_u16();
    let request_id = id.to_str().unwrap_or_default();
    let path = uri.path();
    let method = method.as_str();
    // One shape at each level; CloudWatch's metric filters read `target`, `status` and
    // `duration_ms` (ecs/observability/samples.jsonl holds real lines).
    macro_rules! access {
        ($level:ident) => {
            tracing::$level!(target: "access", status, route, duration_ms, request_id, trace_id = %trace_id, method, path, "request")
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
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID.clone(), id);
    if let Some(instance) = &state.instance_header {
        headers.insert(INSTANCE.clone(), instance.clone());
    }
    response
}

/// Inside the request's span: the proxy secret, then the route under the deadline, with
/// a panic caught.
async fn inner(state: &AppState, mut request: Request, next: Next) -> Response {
    if let Err(refused) = edge::client_address(state, &mut request) {
        return refused.into_response();
    }
    let limit: Duration = state.config.request_timeout;
    match tokio::time::timeout(limit, AssertUnwindSafe(next.run(request)).catch_unwind()).await {
        Ok(Ok(response)) => method_not_allowed_as_problem(response),
        Ok(Err(_panic)) => Error::internal("handler panicked").into_response(),
        Err(_) => {
            // A request that takes longer than `WAS_REQUEST_TIMEOUT` is answered with 503
            // so the client (or the proxy) can retry elsewhere instead of waiting on a
            // stuck dependency.
            tracing::warn!(?limit, "request deadline exceeded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "요청 처리가 너무 오래 걸렸습니다. 잠시 후 다시 시도해 주세요.",
            )
        }
    }
}

/// axum answers an unsupported method with a bare 405; give it a problem body too.
fn method_not_allowed_as_problem(response: Response) -> Response {
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
