//! Conditional GETs: a strong `ETag` over the body, `304 Not Modified` when the client
//! already holds it, and `Cache-Control: no-cache`, so browsers and proxies revalidate
//! every time (rentable counts change by the minute) but receive a body only when it
//! changed. The public reads kept in memory (`public_reads`) do this themselves with a
//! tag computed once, when the answer was made; [`conditional`] tags the public answer
//! made per request (where an umbrella is) on its way out, and passes through one that
//! already carries a tag.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Public answers are small; one larger than this is passed through untagged.
const MAX_TAGGED_BYTES: usize = 1 << 20;

/// Whether an `If-None-Match` value names `etag` (or is `*`).
pub fn names(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

fn matches(if_none_match: &HeaderValue, etag: &str) -> bool {
    if_none_match.to_str().is_ok_and(|v| names(v, etag))
}

/// A strong tag for `body`: 128 bits of its SHA-256.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
    HeaderValue::from_str(&etag).expect("base64url and quotes are valid in a header")
}

pub async fn conditional(request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::ETAG) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TAGGED_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return crate::error::Error::internal(format!("reading a public answer: {e}"))
                .into_response();
        }
    };
    let value = etag_of(&bytes);
    let fresh = if_none_match.is_some_and(|v| matches(&v, value.to_str().unwrap_or_default()));
    parts.headers.insert(header::ETAG, value);
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if fresh {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_forms_match() {
        let tag = "\"abc\"";
        for v in ["\"abc\"", "\"x\", \"abc\"", "W/\"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(v), tag), "{v}");
        }
        for v in ["\"abcd\"", "abc", ""] {
            assert!(!matches(&HeaderValue::from_static(v), tag), "{v}");
        }
    }
}
