//! The server itself: its listeners, timeouts and limits, the secret web-proxy proves
//! itself with, and the name and release it reports.

use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderName;
use shared::config::{ConfigError, Settings, Var};

pub(super) const VARS: &[Var] = &[
    Var::new("WAS_LISTEN_ADDR", "0.0.0.0:8080", "Listen address"),
    Var::new(
        "WAS_ADMIN_ADDR",
        "127.0.0.1:9101",
        "Admin listener: /metrics (Prometheus), /health; off for none",
    ),
    Var::new(
        "WAS_INSTANCE_ID",
        "hostname",
        "Name of this replica (X-Upbrella-Instance, logs)",
    ),
    Var::new(
        "WAS_EMF_INTERVAL",
        "60s",
        "How often the CloudWatch metrics line is printed on stdout; 0 = never",
    ),
    Var::new(
        "WAS_REQUEST_TIMEOUT",
        "30s",
        "A request taking longer is answered 503",
    ),
    Var::new(
        "WAS_HEADER_READ_TIMEOUT",
        "10s",
        "Time a request head may take (slowloris)",
    ),
    Var::new(
        "WAS_IDLE_TIMEOUT",
        "75s",
        "An idle connection is closed after this",
    ),
    Var::new("WAS_MAX_CONNECTIONS", "4096", "Open connections at most"),
    Var::new(
        "WAS_PROXY_SECRET",
        "unset",
        "web-proxy's shared secret; API requests without it get 403",
    ),
    Var::new(
        "WAS_PROXY_SECRET_ROTATING",
        "unset",
        "During a rotation, a second secret accepted besides WAS_PROXY_SECRET",
    ),
    Var::new(
        "UPBRELLA_RELEASE",
        "dev",
        "The release this replica runs (the image tag); /api/ready reports it",
    ),
    Var::new(
        "WAS_PROXY_SECRET_HEADER",
        "x-upbrella-proxy-secret",
        "The header carrying it",
    ),
    Var::new(
        "WAS_SHUTDOWN_GRACE",
        "20s",
        "After SIGTERM: time for in-flight requests",
    ),
    Var::new(
        "WAS_MIGRATE_ON_START",
        "false",
        "Run migrations at start (needs the schema owner)",
    ),
    Var::new(
        "WAS_ADMIN_PASSWORD",
        "required by was admin create",
        "The new admin's password (never on the command line)",
    ),
];

/// `WAS_ADMIN_ADDR`: the admin listener, on loopback unless moved; `off` for none.
pub(super) fn admin_addr(s: &Settings<'_>) -> Result<Option<SocketAddr>, ConfigError> {
    match s.raw("WAS_ADMIN_ADDR") {
        Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
        _ => Ok(Some(s.parse_or(
            "WAS_ADMIN_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 9101)),
        )?)),
    }
}

/// How often the CloudWatch metrics line is printed; `None` for never (0).
pub(super) fn emf_interval(s: &Settings<'_>) -> Result<Option<Duration>, ConfigError> {
    Ok(
        Some(s.duration_or("WAS_EMF_INTERVAL", shared::emf::DEFAULT_INTERVAL)?)
            .filter(|d| !d.is_zero()),
    )
}

pub(super) fn proxy_secret_header(s: &Settings<'_>) -> Result<HeaderName, ConfigError> {
    HeaderName::try_from(
        s.string_or("WAS_PROXY_SECRET_HEADER", "x-upbrella-proxy-secret")
            .to_ascii_lowercase(),
    )
    .map_err(|e| ConfigError::new("WAS_PROXY_SECRET_HEADER", e))
}

pub(super) fn default_instance_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("was-{}", std::process::id()))
}
