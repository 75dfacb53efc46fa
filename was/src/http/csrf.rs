//! Cross-site request forgery protection.
//!
//! The rule: a state-changing request (anything but GET, HEAD, OPTIONS) is refused with
//! 403 when the browser says it comes from another site. Browsers say so in
//! `Sec-Fetch-Site` (`cross-site` or `same-site` is refused; `same-origin` and `none`,
//! a typed URL or bookmark, pass). Older browsers send only `Origin`, which must then
//! name the same host as the request or one of `ALLOWED_ORIGINS`. A request with neither
//! header does not come from a browser form and passes (curl, server-to-server), which
//! is safe because a cross-site page cannot make a browser omit both. This is the
//! algorithm of Go's `http.CrossOriginProtection`; it needs no token, so the front-end
//! needs no CSRF plumbing. The session cookie's `SameSite=Lax` is a second fence.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::Error;
use crate::state::AppState;

pub async fn same_origin_only(
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
    if is_allowed(request.headers(), &state.config.allowed_origins) {
        Ok(next.run(request).await)
    } else {
        tracing::warn!("cross-origin state-changing request refused");
        Err(Error::forbidden(
            "cross-origin requests may not change state",
        ))
    }
}

fn is_allowed(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = header("origin").map(|o| o.trim_end_matches('/').to_ascii_lowercase());
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
    // `Origin: null` (sandboxed frames, some redirects) never matches a host.
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    let hosts = [header("x-forwarded-host"), header("host")];
    origin_host.is_some_and(|oh| hosts.iter().flatten().any(|h| h.eq_ignore_ascii_case(oh)))
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
                ("x-forwarded-host", "upbrella.example"),
                ("host", "internal-alb")
            ]),
            &[]
        ));
    }

    #[test]
    fn non_browser_clients_pass() {
        assert!(is_allowed(&headers(&[("host", "localhost:8000")]), &[]));
    }
}
