//! The checks of a request's head that come before any application code.

use axum::body::Body;
use axum::response::IntoResponse;
use http::{HeaderValue, Response, StatusCode, Version, header};

/// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without `Host`, and to
/// any request with more than one `Host` line or an invalid one. Two differing hosts are
/// how routing confusion starts (one hop reads the first, another the last). (hyper
/// already settles the other classic, `Content-Length` with `Transfer-Encoding`: it reads
/// the body as chunked, drops the length and closes the connection afterwards, as
/// RFC 9112 §6.3 asks.)
pub(super) fn check_head<B>(req: &hyper::Request<B>) -> Result<(), &'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    match first {
        None if req.version() == Version::HTTP_11 => Err("missing Host header"),
        None => Ok(()),
        Some(value) if is_valid_host(value) => Ok(()),
        Some(_) => Err("invalid Host header"),
    }
}

/// `uri-host [ ":" port ]`: a registered name, an IPv4 address or a bracketed IPv6
/// address, then an optional port of digits.
fn is_valid_host(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 {
        return false;
    }
    let (host, port) = if bytes[0] == b'[' {
        let Some(end) = bytes.iter().position(|&b| b == b']') else {
            return false;
        };
        let inside = &bytes[1..end];
        if !inside
            .iter()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        {
            return false;
        }
        match &bytes[end + 1..] {
            [] => (&bytes[..=end], None),
            [b':', port @ ..] => (&bytes[..=end], Some(port)),
            _ => return false,
        }
    } else {
        match bytes.iter().rposition(|&b| b == b':') {
            Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
            None => (bytes, None),
        }
    };
    let host_ok = host.starts_with(b"[")
        || (!host.is_empty()
            && host
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

pub(super) fn bad_request(problem: &'static str) -> Response<Body> {
    let body = format!(
        r#"{{"type":"about:blank","title":"Bad Request","status":400,"detail":"{problem}"}}"#
    );
    let mut response = (StatusCode::BAD_REQUEST, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
