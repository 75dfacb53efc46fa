//! Where a request comes from: web-proxy's shared secret, and the client's address.
//!
//! In AWS the WAS sits behind the internal ALB, which anything in the VPC can reach. When
//! `WAS_PROXY_SECRET` is set, an API request without web-proxy's secret header is refused,
//! so nobody can skip the proxy's limits or forge the forwarding headers it sets. Only on
//! requests that carry the secret is `X-Forwarded-For` believed: its first entry is the
//! client as web-proxy determined it (web-proxy drops entries the client wrote itself).
//! Otherwise the client is the TCP peer. The health and readiness probes are exempt: the
//! load balancer's checks do not carry the secret. During a rotation a second secret is
//! accepted too (`WAS_PROXY_SECRET_ROTATING`, README "Rotating credentials").

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use secrecy::ExposeSecret;

use crate::error::Error;
use crate::state::AppState;

/// The client's address, for rate limits and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Refuses an API request without web-proxy's secret (when one is set), records the
/// client's address in the request's extensions, and removes the secret header.
/// Part of [`crate::http::observe::edge`].
pub fn client_address(state: &AppState, request: &mut Request) -> Result<(), Error> {
    let config = &state.config;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let via_proxy = match &config.proxy_secret {
        None => false,
        Some(secret) => {
            let given = request.headers().get(&config.proxy_secret_header);
            // Both are compared every time, so timing does not tell which one matched.
            let valid = given.is_some_and(|v| {
                let current = constant_time_eq(v.as_bytes(), secret.expose_secret().as_bytes());
                let rotating = config
                    .proxy_secret_rotating
                    .as_ref()
                    .is_some_and(|r| constant_time_eq(v.as_bytes(), r.expose_secret().as_bytes()));
                current | rotating
            });
            if !valid && !matches!(request.uri().path(), "/health" | "/ready") {
                tracing::warn!(?peer, "request without the proxy secret refused");
                return Err(Error::forbidden(
                    "not_through_proxy",
                    "web-proxy를 거치지 않은 요청은 받지 않습니다.",
                ));
            }
            valid
        }
    };
    let forwarded = via_proxy
        .then(|| request.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|first| first.trim().parse::<IpAddr>().ok());
    let client = forwarded
        .or(peer)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    request.extensions_mut().insert(ClientAddr(client));
    // Handlers and logs have no use for the secret.
    request.headers_mut().remove(&config.proxy_secret_header);
    Ok(())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| Error::internal("client address layer missing"))
    }
}

/// Compares without stopping at the first difference, so response timing does not
/// reveal how much of a guessed secret was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
