//! Cross-site request forgery protection.
//!
//! The rule: a state-changing request (anything but GET, HEAD, OPTIONS) is refused with
//! 403 when the browser says it comes from another site. Browsers say so in
//! `Sec-Fetch-Site` (`cross-site` or `same-site` is refused; `same-origin` and `none`,
//! a typed URL or bookmark, pass). Older browsers send only `Origin`, which must then
//! name the same scheme and host as the request or one of `ALLOWED_ORIGINS`;
//! `Origin: null` is always refused. A request with neither
//! header does not come from a browser form and passes (curl, server-to-server), which
//! is safe because a cross-site page cannot make a browser omit both. This is the
//! algorithm of Go's `http.CrossOriginProtection`; it needs no token, so the front-end
//! needs no CSRF plumbing. The session cookie's `SameSite=Lax` is a second fence.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::Error;
use crate::http::public;
use crate::state::AppState;

/// Middleware for the API's routes: GET, HEAD and OPTIONS pass untouched; any other
/// request is refused when it comes from another site (above), and once it succeeded the
/// public reads kept in memory learn what it changed ([`public::change_of`]).
pub async fn writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(next.run(request).await);
    }
    if !is_allowed(request.headers(), &state.config.allowed_origins) {
        tracing::warn!("cross-origin state-changing request refused");
        return Err(Error::forbidden(
            "cross_origin",
            "다른 사이트에서 보낸 요청은 처리하지 않습니다.",
        ));
    }
    let change = public::change_of(request.uri().path());
    let response = next.run(request).await;
    if let Some(change) = change
        && response.status().is_success()
    {
        state.public.changed(change);
    }
    Ok(response)
}

fn is_allowed(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = header("origin").map(|o| o.trim_end_matches('/').to_ascii_lowercase());
    // `Origin: null` (sandboxed frames, data: URLs, some redirects) names no site at all;
    // nothing legitimate of ours sends it.
    if origin.as_deref() == Some("null") {
        return false;
    }
    let trusted = origin
        .as_deref()
        .is_some_and(|o| allowed_origins.iter().any(|a| a == o));
    match header("sec-fetch-site") {
        Some("same-origin" | "none") => return true,
        Some(_) => return trusted,
        None => {}
    }
    let Some(origin) = origin else {
        return true;
    };
    if trusted {
        return true;
    }
    // Scheme and host must both match what the client used: `http://` pages of the same
    // host (a network attacker can inject those) must not act on the `https://` site.
    // A browser cannot set these headers, so they are safe to compare with: web-proxy
    // sets `X-Forwarded-Proto` and `X-Forwarded-Host` from the client's connection.
    let scheme = header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map_or("http", str::trim);
    let host = header("x-forwarded-host").or(header("host"));
    host.is_some_and(|h| origin == format!("{}://{}", scheme, h.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_allowed(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &[]
        ));
        assert!(is_allowed(&headers(&[("sec-fetch-site", "none")]), &[]));
        assert!(!is_allowed(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example")
            ]),
            &[]
        ));
        assert!(!is_allowed(
            &headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://a.upbrella.example")
            ]),
            &[]
        ));
        let trusted = vec!["https://a.upbrella.example".to_owned()];
        assert!(is_allowed(
            &headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://a.upbrella.example")
            ]),
            &trusted
        ));
    }

    #[test]
    fn origin_must_match_the_host_without_fetch_metadata() {
        assert!(is_allowed(
            &headers(&[
                ("origin", "http://localhost:8000"),
                ("host", "localhost:8000")
            ]),
            &[]
        ));
        assert!(!is_allowed(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "localhost:8000")
            ]),
            &[]
        ));
        assert!(!is_allowed(
            &headers(&[("origin", "null"), ("host", "localhost:8000")]),
            &[]
        ));
        assert!(is_allowed(
            &headers(&[
                ("origin", "https://upbrella.example"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "upbrella.example"),
                ("host", "internal-alb")
            ]),
            &[]
        ));
    }

    #[test]
    fn the_scheme_must_match_too() {
        assert!(!is_allowed(
            &headers(&[
                ("origin", "http://upbrella.example"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "upbrella.example"),
            ]),
            &[]
        ));
        assert!(!is_allowed(
            &headers(&[
                ("origin", "https://localhost:8000"),
                ("host", "localhost:8000")
            ]),
            &[]
        ));
    }

    #[test]
    fn a_null_origin_is_refused_even_with_fetch_metadata() {
        assert!(!is_allowed(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            &[]
        ));
    }

    #[test]
    fn non_browser_clients_pass() {
        assert!(is_allowed(&headers(&[("host", "localhost:8000")]), &[]));
    }
}
