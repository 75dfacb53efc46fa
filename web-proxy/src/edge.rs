//! The way through the proxy, in order, for every request of the main listener:
//!
//! 1. the request id: the client's when sane, a new one otherwise; sent on and returned;
//! 2. what the proxy may believe about the client ([`headers::forwarded`]), worked out
//!    once and used by every later step;
//! 3. the https redirect ([`security::redirect_to_https`]);
//! 4. the route, by the path alone: `/health` (never the upstream), the API prefix
//!    (load shedding, compression, [`forward::proxy`]), or the front-end's files;
//! 5. the security headers, and the access log and metrics when the body is done.
//!
//! One function instead of a stack of axum layers and a router: each `from_fn` layer
//! cloned the boxed rest of the stack and boxed a future for every request, and the
//! router matched three routes a prefix test tells apart (the forwarding profile showed
//! the layers, their futures and the router in about a fifth of the proxy's own time).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use http::Request;
use http::header::HeaderName;
use tower::{Layer, Service, ServiceExt};
use tower_http::compression::CompressionLayer;

use crate::headers::{self, Forwarded};
use crate::metrics::Route;
use crate::observe::{self, Seen};
use crate::{AppState, forward, lifecycle, security};

static REQUEST_ID: HeaderName = HeaderName::from_static(shared::request_id::HEADER);
static TRACE: HeaderName = HeaderName::from_static(shared::request_id::TRACE_HEADER);

/// The main listener's service.
#[derive(Clone)]
pub struct Edge {
    state: AppState,
}

impl Edge {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Service<Request<Body>> for Edge {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move { Ok(handle(state, req).await) })
    }
}

/// Steps 1 to 5 of the module's notes.
pub async fn handle(state: AppState, mut req: Request<Body>) -> Response {
    let started = Instant::now();
    let serving = state.metrics.serving();
    let request_id = shared::request_id::from_header(req.headers().get(&REQUEST_ID));
    req.headers_mut()
        .insert(REQUEST_ID.clone(), request_id.clone());
    // The ALB's trace id goes on to the WAS and into both tiers' logs; one that does not
    // look like the ALB's is dropped rather than passed on.
    let trace_id = shared::request_id::trace_id(req.headers().get(&TRACE))
        .unwrap_or_default()
        .to_owned();
    if trace_id.is_empty() {
        req.headers_mut().remove(&TRACE);
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    let config = &state.config;
    let forwarded = headers::forwarded(req.headers(), peer, config.trusted_hops, state.tls);
    let https = forwarded.https();
    let route = route_of(&config.api_prefix, req.uri().path());
    let method = req.method().clone();
    let uri = req.uri().clone();
    let (route, mut response) = if let Some(refused) = crate::methods::refusal(config, &method) {
        // An invented method, TRACE or CONNECT: answered here, nothing forwarded.
        (route, refused)
    } else if let Some(redirect) = security::redirect_to_https(&state, &req, https) {
        (Route::Redirect, redirect)
    } else {
        let response = match route {
            Route::Health => lifecycle::health_response(&state),
            Route::Api => api(&state, forwarded, req).await,
            Route::Static | Route::Redirect => serve_static(&state, req).await,
        };
        (route, response)
    };
    let headers = response.headers_mut();
    security::response_headers(&state, headers, https);
    headers.insert(REQUEST_ID.clone(), request_id.clone());
    let seen = Seen {
        serving,
        route,
        method,
        uri,
        request_id,
        trace_id,
        started,
        peer,
    };
    observe::logged(seen, response)
}

/// Which part of the proxy a path belongs to.
fn route_of(prefix: &str, path: &str) -> Route {
    if path == "/health" {
        Route::Health
    } else if prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        Route::Api
    } else {
        Route::Static
    }
}

/// An API request: admitted under the concurrency cap, forwarded, and compressed when
/// the client accepts it (`WEB_PROXY_COMPRESSION`).
async fn api(state: &AppState, forwarded: Forwarded, req: Request<Body>) -> Response {
    let Some(permit) = observe::admit(state) else {
        return observe::busy(state);
    };
    let response = if state.config.compression {
        // tower-http's compression wraps a service: forwarding, for this one request.
        let mut forwarded = Some(forwarded);
        let forward = tower::service_fn(move |req: Request<Body>| {
            let forwarded = forwarded.take();
            async move {
                Ok::<_, Infallible>(match forwarded {
                    Some(forwarded) => forward::proxy(state, forwarded, req).await,
                    None => crate::error::problem(
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "요청을 처리하지 못했습니다.",
                    ),
                })
            }
        });
        let compressed = CompressionLayer::new()
            .gzip(true)
            .br(true)
            .quality(tower_http::CompressionLevel::Fastest)
            .layer(forward)
            .oneshot(req)
            .await;
        match compressed {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    } else {
        forward::proxy(state, forwarded, req).await
    };
    observe::holding(response, permit)
}

async fn serve_static(state: &AppState, req: Request<Body>) -> Response {
    match &state.static_files {
        Some(files) => files.serve(req).await,
        None => crate::error::problem(
            http::StatusCode::NOT_FOUND,
            "not_found",
            "요청한 주소를 찾을 수 없습니다.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_prefix_at_a_segment_boundary() {
        assert_eq!(route_of("/api", "/health"), Route::Health);
        assert_eq!(route_of("/api", "/api"), Route::Api);
        assert_eq!(route_of("/api", "/api/tags"), Route::Api);
        assert_eq!(route_of("/api", "/apiary"), Route::Static);
        assert_eq!(route_of("/api", "/index.html"), Route::Static);
        assert_eq!(route_of("/", "/anything"), Route::Api);
    }
}
