//! The proxy's own error answers, as `application/problem+json` like the WAS's: a
//! stable `code` for programs and a Korean `detail` for people.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
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
    #[error("서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.")]
    BadGateway,
    /// 503: no upstream address is known at all.
    #[error("지금은 서비스를 이용할 수 없습니다. 잠시 후 다시 시도해 주세요.")]
    NoUpstream,
    /// 504: no response in time.
    #[error("서버의 응답이 늦어지고 있습니다. 잠시 후 다시 시도해 주세요.")]
    Timeout,
    /// 408: the client stopped sending its body.
    #[error("요청을 제때 받지 못했습니다. 다시 시도해 주세요.")]
    BodyTimeout,
    /// 413: the request body is larger than allowed.
    #[error("요청 본문이 너무 큽니다.")]
    BodyTooLarge,
    /// 400: the request cannot be forwarded as it is (its code).
    #[error("요청을 처리할 수 없습니다. ({0})")]
    BadRequest(&'static str),
}

impl ProxyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadGateway => "upstream_unreachable",
            Self::NoUpstream => "no_upstream",
            Self::Timeout => "upstream_timeout",
            Self::BodyTimeout => "body_timeout",
            Self::BodyTooLarge => "body_too_large",
            Self::BadRequest(code) => code,
        }
    }
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
        let mut r = problem(status, self.code(), &self.to_string());
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
