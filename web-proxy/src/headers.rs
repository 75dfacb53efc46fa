//! Header rules of a proxy: hop-by-hop headers stop here; `X-Forwarded-*` tell the
//! upstream who the client is, trusting only as many proxies in front as configured.

use std::fmt::Write as _;
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
/// obsolete `Proxy-Connection` and `Keep-Alive`.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The options of every `Connection` header of a message, in order, trimmed.
pub fn connection_options(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// Whether a message's `Connection` headers name `option` (compared without case).
pub fn connection_says(headers: &HeaderMap, option: &str) -> bool {
    connection_options(headers).any(|o| o.eq_ignore_ascii_case(option))
}

/// Removes hop-by-hop headers, including every header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = connection_options(headers)
        .filter_map(|option| HeaderName::from_bytes(option.as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// The protocol a request asks to switch to (`Connection: upgrade` + `Upgrade: x`).
pub fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    if connection_says(headers, "upgrade") {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    }
}

/// Whether a request path has a `.` or `..` segment, written plainly or percent-encoded
/// (`%2e`). The proxy routes by prefix and forwards the path as it came, so
/// `/api/../admin` or `/api/%2e%2e/x` would reach the upstream naming something other
/// than what the prefix promised; no client of ours sends such paths, so they are
/// refused rather than normalised.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(is_dot_segment)
}

/// `.` or `..`, each dot written plainly or as `%2e` / `%2E`. Read in place: this runs on
/// every forwarded request.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    matches!(dots, 1 | 2)
}

/// What the proxy tells the upstream about the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The client as far as trusted information goes.
    pub client_ip: IpAddr,
    /// The forwarded-for chain to send on: trusted entries, then our peer.
    pub xff: String,
    /// `http` or `https` as the client used it.
    pub proto: &'static str,
    pub host: Option<HeaderValue>,
}

impl Forwarded {
    pub fn https(&self) -> bool {
        self.proto == "https"
    }
}

/// `trusted_hops` is how many proxies in front of us append to `X-Forwarded-For` (1 behind
/// an ALB). Entries left of those were written by the client and are dropped, so a
/// client cannot pass off a made-up address as its own.
///
/// Computed once per request (the edge hands it to the redirect, the security headers
/// and the forwarding), building the chain in one string.
pub fn forwarded(headers: &HeaderMap, peer: IpAddr, trusted_hops: usize, tls: bool) -> Forwarded {
    let entries = || {
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let skip = if trusted_hops == 0 {
        0
    } else {
        entries().count().saturating_sub(trusted_hops)
    };
    let mut xff = String::new();
    let mut client_ip = None;
    for entry in entries().skip(skip).take(trusted_hops) {
        if xff.is_empty() {
            client_ip = entry.parse::<IpAddr>().ok();
        }
        xff.push_str(entry);
        xff.push_str(", ");
    }
    let _ = write!(xff, "{peer}");
    let trusted_https = (trusted_hops > 0)
        .then(|| headers.get(&X_FORWARDED_PROTO))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .and_then(|p| {
            if p.eq_ignore_ascii_case("https") {
                Some(true)
            } else if p.eq_ignore_ascii_case("http") {
                Some(false)
            } else {
                None
            }
        });
    let https = trusted_https.unwrap_or(tls);
    // The client's own `Host`, never a forwarded one: the ALB does not set
    // `X-Forwarded-Host`, so any value of it came from the client.
    let host = headers.get(header::HOST).cloned();
    Forwarded {
        client_ip: client_ip.unwrap_or(peer),
        xff,
        proto: if https { "https" } else { "http" },
        host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    #[test]
    fn without_trusted_hops_a_spoofed_xff_is_dropped() {
        let f = forwarded(
            &h(&[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-proto", "https"),
            ]),
            PEER,
            0,
            false,
        );
        assert_eq!(f.client_ip, PEER);
        assert_eq!(f.xff, "10.0.0.9");
        assert_eq!(f.proto, "http", "the client cannot claim https either");
    }

    #[test]
    fn behind_one_trusted_proxy_its_entry_is_the_client() {
        let f = forwarded(
            &h(&[
                ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
                ("x-forwarded-proto", "https"),
                ("host", "internal"),
            ]),
            PEER,
            1,
            false,
        );
        assert_eq!(f.client_ip, "203.0.113.7".parse::<IpAddr>().unwrap());
        assert_eq!(f.xff, "203.0.113.7, 10.0.0.9");
        assert_eq!(f.proto, "https");
        assert_eq!(f.host.unwrap(), "internal");
    }

    #[test]
    fn multiple_xff_headers_are_one_list() {
        let f = forwarded(
            &h(&[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.1, 203.0.113.7"),
            ]),
            PEER,
            2,
            true,
        );
        assert_eq!(f.xff, "198.51.100.1, 203.0.113.7, 10.0.0.9");
        assert_eq!(f.client_ip, "198.51.100.1".parse::<IpAddr>().unwrap());
        assert_eq!(f.proto, "https");
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut m = h(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut m);
        assert_eq!(m.len(), 1);
        assert!(m.contains_key("x-kept"));
    }

    #[test]
    fn dot_segments_are_found_in_any_spelling() {
        for path in [
            "/api/..",
            "/api/../index.html",
            "/api/./tags",
            "/api/%2e%2e/admin",
            "/api/%2E%2e/",
            "/api/.%2e",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/api/tags",
            "/api/stores/1",
            "/api/..x",
            "/api/.well-known",
            "/api/...",
            "/api/%2e%2e%2e",
            "/api/%2",
            "/api/%2f",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }

    #[test]
    fn upgrade_needs_both_headers() {
        assert!(
            upgrade_protocol(&h(&[
                ("connection", "keep-alive, Upgrade"),
                ("upgrade", "websocket")
            ]))
            .is_some()
        );
        assert!(upgrade_protocol(&h(&[("upgrade", "websocket")])).is_none());
    }
}
