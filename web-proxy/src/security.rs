//! Redirecting plain HTTP to HTTPS, HSTS, the security headers of HTML pages, and the
//! header naming the proxy that answered.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::AppState;
use crate::headers;

/// The scheme the client used, as far as we can trust it.
fn client_proto(state: &AppState, req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    headers::forwarded(req.headers(), peer, state.config.trusted_hops, state.tls).proto
}

/// Whether the client came over HTTPS, computed once per request by the redirect layer.
#[derive(Debug, Clone, Copy)]
struct ClientHttps(bool);

/// `X-Forwarded-Proto: http` (or a plain connection) → the same path on the canonical
/// https host: 301 for GET/HEAD, 308 otherwise so the method and body are kept. The
/// target host is configuration, never the request's `Host` (no open redirect), and the
/// health path is exempt (load balancer checks speak plain HTTP and count a 301 as
/// unhealthy).
pub async fn redirect_to_https(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let config = &state.config;
    let https = client_proto(&state, &req) == "https";
    req.extensions_mut().insert(ClientHttps(https));
    if !config.redirect_https || req.uri().path() == "/health" || https {
        return next.run(req).await;
    }
    let Some(host) = config.canonical_host.as_deref() else {
        return next.run(req).await;
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let status = if matches!(*req.method(), Method::GET | Method::HEAD) {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("https://{host}{path}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.extensions_mut().insert(crate::observe::Redirected);
    response
}

pub async fn response_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.config;
    let https = match req.extensions().get::<ClientHttps>() {
        Some(ClientHttps(https)) => *https,
        None => client_proto(&state, &req) == "https",
    };
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    // Which proxy answered, as the WAS names its replica: handy behind a load balancer.
    if let Ok(id) = HeaderValue::from_str(&config.instance_id) {
        headers.insert(
            http::header::HeaderName::from_static("x-upbrella-proxy"),
            id,
        );
    }
    if https && config.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if config.security_headers {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        let html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        if html {
            if let Ok(csp) = HeaderValue::from_str(&config.content_security_policy) {
                headers.insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
    response
}
