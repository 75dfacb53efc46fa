//! Which methods the proxy forwards, and which requests it may send twice.
//!
//! A method is a token a client may invent (`XQWERTY…`); every one forwarded costs the
//! upstream its handling, and anything keyed by it (a metric, a log index) grows. So the
//! proxy forwards RFC 9110's methods and PATCH (RFC 5789), plus any listed in
//! `WEB_PROXY_EXTRA_METHODS`, and answers others itself, as it does TRACE (it would echo
//! the request's headers, the proxy's secret to the WAS included, back to a script:
//! cross-site tracing) and CONNECT (a tunnel, which a reverse proxy has no business
//! opening).
//!
//! The answer is 405 with `Allow`, not the 501 RFC 9110 suggests for an unrecognised
//! method: the ALB counts a target's 5xx, and its alarm on them rolls a deployment back,
//! so a 501 would let any anonymous client page the operators and undo a deploy by
//! sending made-up methods. A 4xx says the same to a client and costs nobody anything.
//!
//! Retrying is safe for a request only when sending it twice does what sending it once
//! does: the idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE), and the POSTs the WAS
//! deduplicates by `Idempotency-Key` (renting and returning, `was/src/http/rentals.rs`,
//! where `Key::from_request` is used). Any other POST carrying the header is not retried:
//! nothing behind it would recognise the second copy.

use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};

use crate::config::Config;
use crate::error::problem;

/// RFC 9110's methods and PATCH (the configuration refuses to list them as extra).
pub use crate::config::is_standard;

const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// The proxy's own answer to a method it does not forward; `None` for one it does.
pub fn refusal(config: &Config, method: &Method) -> Option<Response> {
    let forwarded = *method != Method::TRACE
        && *method != Method::CONNECT
        && (is_standard(method) || config.extra_methods.contains(method));
    if forwarded {
        return None;
    }
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "허용하지 않는 HTTP 메서드입니다. (This method is not allowed.)",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    Some(r)
}

/// The WAS's operations that deduplicate by `Idempotency-Key`, as paths under the API
/// prefix.
const DEDUPLICATED_POSTS: [&str; 2] = ["/rentals", "/rentals/current/return"];

/// Whether sending this request twice is harmless. `has_key`: it carries
/// `Idempotency-Key` after hop-by-hop headers were removed (a header the client named in
/// `Connection` is gone by then).
pub fn retry_safe(method: &Method, api_prefix: &str, path: &str, has_key: bool) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE => true,
        Method::POST if has_key => {
            let prefix = api_prefix.trim_end_matches('/');
            path.strip_prefix(prefix)
                .is_some_and(|rest| DEDUPLICATED_POSTS.contains(&rest))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_was_deduplicates_is_retried() {
        assert!(retry_safe(&Method::GET, "/api", "/api/tags", false));
        assert!(retry_safe(&Method::POST, "/api", "/api/rentals", true));
        assert!(retry_safe(
            &Method::POST,
            "/api",
            "/api/rentals/current/return",
            true
        ));
        assert!(!retry_safe(&Method::POST, "/api", "/api/rentals", false));
        assert!(!retry_safe(&Method::POST, "/api", "/api/auth/signup", true));
        assert!(!retry_safe(&Method::POST, "/api", "/api/rentals/", true));
        assert!(!retry_safe(
            &Method::PATCH,
            "/api",
            "/api/admin/users/1",
            true
        ));
        assert!(!retry_safe(&Method::TRACE, "/api", "/api/tags", true));
        assert!(retry_safe(&Method::POST, "/", "/rentals", true));
    }
}
