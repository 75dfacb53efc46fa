//! The listeners: addresses, TLS, timeouts and the limits on what clients may send.

use std::path::PathBuf;

use shared::config::{ConfigError, Settings, Var};

use super::var;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "WEB_PROXY_LISTEN_ADDR",
        "0.0.0.0:8000",
        "Main listener (HTTP/1.1 and h2c)",
    ),
    Var::new(
        "WEB_PROXY_ADMIN_ADDR",
        "127.0.0.1:9100",
        "Admin listener: /metrics, /health, /upstreams",
    ),
    Var::new(
        "WEB_PROXY_REQUEST_TIMEOUT",
        "60s",
        "All attempts of one request together (then 504)",
    ),
    Var::new(
        "WEB_PROXY_HEADER_READ_TIMEOUT",
        "10s",
        "Time a request head may take (slowloris)",
    ),
    Var::new(
        "WEB_PROXY_BODY_TIMEOUT",
        "10s",
        "A request body without progress this long gets 408",
    ),
    Var::new(
        "WEB_PROXY_IDLE_TIMEOUT",
        "75s",
        "An idle client connection is closed after this",
    ),
    Var::new(
        "WEB_PROXY_MAX_CONNECTIONS",
        "4096",
        "Open client connections at most",
    ),
    Var::new(
        "WEB_PROXY_MAX_CONNECTIONS_PER_IP",
        "0 (off)",
        "Open connections per peer address",
    ),
    Var::new(
        "WEB_PROXY_MAX_HEADER_BYTES",
        "16384",
        "Larger request heads get 431",
    ),
    Var::new(
        "WEB_PROXY_MAX_BODY_BYTES",
        "65536",
        "Larger request bodies get 413",
    ),
    Var::new(
        "WEB_PROXY_MAX_CONCURRENT",
        "4096",
        "Requests served at once (then 503)",
    ),
    Var::new(
        "WEB_PROXY_TRUSTED_HOPS",
        "0",
        "Proxies in front that append to X-Forwarded-For (1 behind an ALB)",
    ),
    Var::new(
        "WEB_PROXY_DRAIN_PERIOD",
        "15s",
        "After SIGTERM: /health is 503, requests still served",
    ),
    Var::new(
        "WEB_PROXY_SHUTDOWN_GRACE",
        "20s",
        "Then: time for in-flight requests",
    ),
    Var::new(
        "WEB_PROXY_TLS_CERT",
        "unset",
        "PEM certificate chain: terminate TLS",
    ),
    Var::new("WEB_PROXY_TLS_KEY", "unset", "PEM private key"),
];

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub(super) fn tls(s: &Settings<'_>) -> Result<Option<TlsFiles>, ConfigError> {
    match (s.raw(&var("TLS_CERT")), s.raw(&var("TLS_KEY"))) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::new(
            &var("TLS_CERT"),
            "set both WEB_PROXY_TLS_CERT and WEB_PROXY_TLS_KEY, or neither",
        )),
    }
}
