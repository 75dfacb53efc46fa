//! The upstreams (the WAS): where they are, how their health is checked, how they are
//! connected to, and the secret that proves a request came through this proxy.

use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::var;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "WEB_PROXY_UPSTREAMS",
        "required (unless only static)",
        "Comma-separated http://host:port of the WAS (or its ALB)",
    ),
    Var::new(
        "WEB_PROXY_API_PREFIX",
        "/api",
        "Paths forwarded to the upstreams",
    ),
    Var::new(
        "WEB_PROXY_RESOLVE_INTERVAL",
        "5s",
        "How often hostname targets are re-resolved",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_HEALTH_PATH",
        "/health",
        "Path of the active health check",
    ),
    Var::new(
        "WEB_PROXY_HEALTH_INTERVAL",
        "500ms",
        "Active check interval",
    ),
    Var::new("WEB_PROXY_HEALTH_TIMEOUT", "500ms", "Active check timeout"),
    Var::new(
        "WEB_PROXY_UNHEALTHY_THRESHOLD",
        "2",
        "Failed checks in a row that eject an address",
    ),
    Var::new(
        "WEB_PROXY_HEALTHY_THRESHOLD",
        "2",
        "Good checks in a row that re-admit it",
    ),
    Var::new(
        "WEB_PROXY_EJECT_BASE",
        "1s",
        "First ejection backoff (doubles per ejection)",
    ),
    Var::new("WEB_PROXY_EJECT_MAX", "30s", "Longest ejection backoff"),
    Var::new(
        "WEB_PROXY_CONNECT_TIMEOUT",
        "1s",
        "Connecting to an upstream",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_TIMEOUT",
        "30s",
        "Waiting for an upstream's response head (then 504)",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_IDLE_TIMEOUT",
        "50s",
        "Idle pooled connections to upstreams",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_MAX_IDLE",
        "64",
        "Idle pooled connections per upstream address",
    ),
    Var::new(
        "WEB_PROXY_FORWARDING",
        "lean",
        "How API requests reach the upstreams: lean (HTTP/1.1 in the request's own task; streaming bodies and upgrades still go through hyper) or hyper (its pooled client for everything)",
    ),
    Var::new(
        "WEB_PROXY_RETRY_BUFFER_BYTES",
        "65536",
        "Largest request body kept for a retry",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_SECRET_HEADER",
        "x-upbrella-proxy-secret",
        "Header carrying the shared secret upstream",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAM_SECRET",
        "unset",
        "The shared secret (the WAS's WAS_PROXY_SECRET)",
    ),
];

/// How API requests reach the upstreams (`WEB_PROXY_FORWARDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    /// hyper's pooled client, for every request.
    Hyper,
    /// [`crate::lean`] for requests whose body is known in advance and that ask for no
    /// upgrade; hyper's client for the rest.
    Lean,
}

impl Forwarding {
    pub fn is_lean(self) -> bool {
        self == Forwarding::Lean
    }
}

pub(super) fn forwarding(s: &Settings<'_>) -> Result<Forwarding, ConfigError> {
    match s.string_or(&var("FORWARDING"), "lean").as_str() {
        "hyper" => Ok(Forwarding::Hyper),
        "lean" => Ok(Forwarding::Lean),
        other => Err(ConfigError::new(
            &var("FORWARDING"),
            format!("{other:?} is neither hyper nor lean"),
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

pub(super) fn upstreams(s: &Settings<'_>) -> Result<Vec<Upstream>, ConfigError> {
    match s.raw(&var("UPSTREAMS")) {
        None => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .filter(|u| !u.trim().is_empty())
            .map(parse_upstream)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::new(&var("UPSTREAMS"), e)),
    }
}

fn parse_upstream(raw: &str) -> Result<Upstream, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{raw:?}: only http:// upstreams are supported (TLS ends at the load balancer)"
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "{raw:?}: an upstream is scheme://host:port, without a path"
        ));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => h.to_string(),
        None => return Err(format!("{raw:?} has no host")),
    };
    Ok(Upstream {
        host,
        port: url.port().unwrap_or(80),
    })
}

/// `WEB_PROXY_API_PREFIX`: starts with `/`, without a trailing one.
pub(super) fn api_prefix(s: &Settings<'_>) -> Result<String, ConfigError> {
    let mut api_prefix = s.string_or(&var("API_PREFIX"), "/api");
    if !api_prefix.starts_with('/') {
        return Err(ConfigError::new(&var("API_PREFIX"), "must start with /"));
    }
    while api_prefix.len() > 1 && api_prefix.ends_with('/') {
        api_prefix.pop();
    }
    Ok(api_prefix)
}

pub(super) fn secret_header(s: &Settings<'_>) -> Result<http::HeaderName, ConfigError> {
    let name = s.string_or(&var("UPSTREAM_SECRET_HEADER"), "x-upbrella-proxy-secret");
    http::HeaderName::try_from(name.to_ascii_lowercase())
        .map_err(|e| ConfigError::new(&var("UPSTREAM_SECRET_HEADER"), e))
}

/// `WEB_PROXY_UPSTREAM_SECRET` as a header value marked sensitive: `Debug` (and so any
/// log of the configuration) shows `Sensitive`, never the value.
pub(super) fn secret(s: &Settings<'_>) -> Result<Option<http::HeaderValue>, ConfigError> {
    s.raw(&var("UPSTREAM_SECRET"))
        .map(|secret| {
            let mut value = http::HeaderValue::try_from(secret).map_err(|_| {
                ConfigError::new(
                    &var("UPSTREAM_SECRET"),
                    "must be visible ASCII (it is sent as a header)",
                )
            })?;
            value.set_sensitive(true);
            Ok(value)
        })
        .transpose()
}
