//! Redirecting plain HTTP to HTTPS, HSTS, the security headers of HTML pages, and the
//! header naming the proxy that answered. Both steps run inside [`crate::edge`], with the
//! scheme the edge worked out once per request.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use crate::Shared;

static PROXY_ID: HeaderName = HeaderName::from_static("x-upbrella-proxy");

/// The values this module sends, checked once at start-up instead of per response.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// `X-Upbrella-Proxy`: which proxy answered, as the WAS names its replica.
    instance_id: Option<HeaderValue>,
    csp: Option<HeaderValue>,
}

impl Prepared {
    pub fn new(instance_id: &str, csp: &str) -> Self {
        Self {
            instance_id: HeaderValue::from_str(instance_id).ok(),
            csp: HeaderValue::from_str(csp).ok(),
        }
    }
}

/// `X-Forwarded-Proto: http` (or a plain connection) → the same path on the canonical
/// https host: 301 for GET/HEAD, 308 otherwise so the method and body are kept. The
/// target host is configuration, never the request's `Host` (no open redirect), and the
/// health path is exempt (load balancer checks speak plain HTTP and count a 301 as
/// unhealthy). `None`: serve the request.
pub fn redirect_to_https(state: &Shared, req: &Request, https: bool) -> Option<Response> {
    let config = &state.config;
    if !config.redirect_https || https || req.uri().path() == "/health" {
        return None;
    }
    let host = config.canonical_host.as_deref()?;
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
    Some(response)
}

/// The headers every answer gets, and those of HTML pages.
pub fn response_headers(state: &Shared, headers: &mut HeaderMap, https: bool) {
    let config = &state.config;
    if let Some(id) = &state.security.instance_id {
        headers.insert(PROXY_ID.clone(), id.clone());
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
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        if html {
            if let Some(csp) = &state.security.csp {
                headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
            }
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
}
