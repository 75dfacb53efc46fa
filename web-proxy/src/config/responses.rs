//! What the proxy answers itself or adds to answers: static files, redirects, security
//! headers and the Content-Security-Policy, compression, and the methods it forwards.

use http::Method;
use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::var;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "WEB_PROXY_STATIC_DIR",
        "unset",
        "Front-end directory (unset: non-API paths are 404)",
    ),
    Var::new(
        "WEB_PROXY_REDIRECT_HTTPS",
        "false",
        "Redirect plain HTTP to https://CANONICAL_HOST",
    ),
    Var::new(
        "WEB_PROXY_CANONICAL_HOST",
        "unset",
        "Host of the redirect target",
    ),
    Var::new(
        "WEB_PROXY_HSTS",
        "true",
        "Strict-Transport-Security on HTTPS responses",
    ),
    Var::new(
        "WEB_PROXY_SECURITY_HEADERS",
        "true",
        "nosniff, and CSP, Referrer-Policy, X-Frame-Options on HTML",
    ),
    Var::new(
        "WEB_PROXY_CSP",
        "a strict same-origin policy",
        "Content-Security-Policy of HTML pages",
    ),
    Var::new(
        "WEB_PROXY_KAKAO_MAPS",
        "false",
        "Widen the default CSP for the Kakao Maps SDK (with the WAS's KAKAO_MAP_KEY)",
    ),
    Var::new(
        "WEB_PROXY_UPLOAD_ORIGINS",
        "none",
        "Origins the console uploads photos to and shows them from (the WAS's photo bucket), added to the default CSP's connect-src and img-src",
    ),
    Var::new(
        "WEB_PROXY_COMPRESSION",
        "true",
        "gzip/br for compressible upstream responses",
    ),
    Var::new(
        "WEB_PROXY_EXTRA_METHODS",
        "none",
        "Comma-separated methods beyond RFC 9110's and PATCH to forward (others get 405)",
    ),
];

/// `WEB_PROXY_CSP`, else the default policy for the features configured.
pub(super) fn content_security_policy(s: &Settings<'_>) -> Result<String, ConfigError> {
    match s.raw(&var("CSP")) {
        Some(csp) => Ok(csp),
        None => Ok(default_csp(
            s.bool_or(&var("KAKAO_MAPS"), false)?,
            &upload_origins(s, &var("UPLOAD_ORIGINS"))?,
        )),
    }
}

/// The default Content-Security-Policy: this origin only, images from anywhere on HTTPS
/// (store photos are URLs). With Kakao Maps, the SDK's script hosts too (its loader and
/// the map's code) and its tiles; with upload origins (the photo bucket), the console
/// may send photos there (`connect-src`) and show them from there (`img-src`, for an
/// `http:` emulator; `https:` is allowed already). Nothing else is widened.
fn default_csp(kakao_maps: bool, upload_origins: &[String]) -> String {
    let (scripts, mut images) = if kakao_maps {
        (
            " https://dapi.kakao.com https://t1.daumcdn.net",
            " http://*.daumcdn.net".to_owned(),
        )
    } else {
        ("", String::new())
    };
    let mut connect = String::new();
    for origin in upload_origins {
        connect.push(' ');
        connect.push_str(origin);
        images.push(' ');
        images.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src 'self'{scripts}; img-src 'self' https: data:{images}; \
         connect-src 'self'{connect}; \
         style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// `WEB_PROXY_UPLOAD_ORIGINS`: comma-separated http(s) origins, normalised
/// (`https://bucket.s3.ap-northeast-2.amazonaws.com`); a path or anything that could
/// break out of the policy is refused.
fn upload_origins(s: &Settings<'_>, var: &str) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = s.raw(var) else {
        return Ok(Vec::new());
    };
    let mut origins = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let origin = Url::parse(item)
            .ok()
            .filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
            })
            .map(|u| u.origin().ascii_serialization())
            .ok_or_else(|| {
                ConfigError::new(
                    var,
                    format!("{item:?} is not an origin such as https://bucket.s3.ap-northeast-2.amazonaws.com"),
                )
            })?;
        origins.push(origin);
    }
    Ok(origins)
}

/// `WEB_PROXY_EXTRA_METHODS`: HTTP method tokens (RFC 9110 section 5.6.2), each beyond
/// the standard set (those need no listing; TRACE and CONNECT are never forwarded).
pub(super) fn extra_methods(s: &Settings<'_>, var: &str) -> Result<Vec<http::Method>, ConfigError> {
    let Some(raw) = s.raw(var) else {
        return Ok(Vec::new());
    };
    let mut methods = Vec::new();
    for token in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let method = http::Method::from_bytes(token.as_bytes())
            .map_err(|_| ConfigError::new(var, format!("{token:?} is not an HTTP method token")))?;
        if is_standard(&method) || method == http::Method::TRACE || method == http::Method::CONNECT
        {
            return Err(ConfigError::new(
                var,
                format!(
                    "{token} is a standard method (forwarded already) or one never forwarded (TRACE, CONNECT)"
                ),
            ));
        }
        methods.push(method);
    }
    Ok(methods)
}

/// RFC 9110's methods and PATCH, but for the two never forwarded.
pub fn is_standard(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::OPTIONS
            | Method::PATCH
            | Method::TRACE
            | Method::CONNECT
    )
}
