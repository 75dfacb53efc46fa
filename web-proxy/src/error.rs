//! The proxy's own error answers, as `application/problem+json` like the WAS's.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Why forwarding failed, mapped to one status each.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// 502: the upstream refused, reset, or answered garbage.
    #[error("the upstream server could not be reached")]
    BadGateway,
    /// 503: no upstream address is known at all.
    #[error("no upstream server is available")]
    NoUpstream,
    /// 504: no response in time.
    #[error("the upstream server did not answer in time")]
    Timeout,
    /// 408: the client stopped sending its body.
    #[error("the request body was not received in time")]
    BodyTimeout,
    /// 413: the request body is larger than allowed.
    #[error("request body too large")]
    BodyTooLarge,
    /// 400: the request cannot be forwarded as it is.
    #[error("{0}")]
    BadRequest(&'static str),
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::NoUpstream => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        let mut r = problem(status, &self.to_string());
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still trickle in; this connection is done.
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}
