//! web-proxy configuration: environment variables (`WEB_PROXY_*`), optionally on top of a
//! TOML file named by `WEB_PROXY_CONFIG` whose keys are the variable names without the
//! prefix, in lower case (`upstreams = ["http://was:8080"]`). The environment wins.
//!
//! Each concern keeps its part of the variable table beside the code that reads it;
//! [`VARS`] is their union, in the order `web-proxy --help` lists them.

mod listener;
mod responses;
mod source;
#[cfg(test)]
mod tests;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use shared::config::{ConfigError, Settings, Source, Var};

pub use listener::TlsFiles;
pub use responses::is_standard;
pub use source::{Layered, parse_toml};
pub use upstream::{Forwarding, Upstream};

const PREFIX: &str = "WEB_PROXY_";

/// Read by the logging setup, or naming this proxy.
const PROCESS_VARS: &[Var] = &[
    Var::new(
        "WEB_PROXY_INSTANCE_ID",
        "web-proxy",
        "Name of this proxy (X-Upbrella-Proxy)",
    ),
    Var::new(
        "WEB_PROXY_EMF_INTERVAL",
        "60s",
        "How often the CloudWatch metrics line is printed on stdout; 0 = never",
    ),
    Var::new(
        "LOG_FORMAT",
        "json unless stdout is a terminal",
        "json or text",
    ),
    Var::new("RUST_LOG", "info", "Log filter"),
];

const TABLES: &[&[Var]] = &[
    source::VARS,
    upstream::VARS,
    listener::VARS,
    responses::VARS,
    PROCESS_VARS,
];
const ALL_VARS: [Var; shared::config::vars_len(TABLES)] = shared::config::concat_vars(TABLES);

/// Every environment variable web-proxy reads, as `web-proxy --help` lists them.
pub const VARS: &[Var] = &ALL_VARS;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub upstreams: Vec<Upstream>,
    pub api_prefix: String,
    pub static_dir: Option<PathBuf>,
    pub resolve_interval: Duration,
    pub health_path: String,
    pub health_interval: Duration,
    pub health_timeout: Duration,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub eject_base: Duration,
    pub eject_max: Duration,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub upstream_idle_timeout: Duration,
    pub upstream_max_idle: usize,
    pub max_header_bytes: usize,
    pub max_body_bytes: u64,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_ip: Option<usize>,
    pub max_concurrent: usize,
    pub retry_buffer_bytes: usize,
    /// `WEB_PROXY_FORWARDING`.
    pub forwarding: Forwarding,
    pub trusted_hops: usize,
    pub upstream_secret_header: http::HeaderName,
    /// Marked sensitive: `Debug` (and so any log of the configuration) shows
    /// `Sensitive`, never the value.
    pub upstream_secret: Option<http::HeaderValue>,
    pub redirect_https: bool,
    pub canonical_host: Option<String>,
    pub hsts: bool,
    pub security_headers: bool,
    pub content_security_policy: String,
    pub compression: bool,
    /// Methods beyond RFC 9110's set and PATCH that are forwarded (`WEB_PROXY_EXTRA_METHODS`).
    pub extra_methods: Vec<http::Method>,
    pub drain_period: Duration,
    pub shutdown_grace: Duration,
    pub tls: Option<TlsFiles>,
    pub instance_id: String,
    /// How often the CloudWatch metrics line is printed (`WEB_PROXY_EMF_INTERVAL`), if at all.
    pub emf_interval: Option<Duration>,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let d = |name: &str, default: Duration| s.duration_or(&var(name), default);
        let upstreams = upstream::upstreams(&s)?;
        let static_dir = s.raw(&var("STATIC_DIR")).map(PathBuf::from);
        if upstreams.is_empty() && static_dir.is_none() {
            return Err(ConfigError::new(
                &var("UPSTREAMS"),
                "set at least one upstream (or WEB_PROXY_STATIC_DIR)",
            ));
        }
        let api_prefix = upstream::api_prefix(&s)?;
        let upstream_secret_header = upstream::secret_header(&s)?;
        let tls = listener::tls(&s)?;
        let redirect_https = s.bool_or(&var("REDIRECT_HTTPS"), false)?;
        let canonical_host = s.raw(&var("CANONICAL_HOST"));
        if redirect_https && canonical_host.is_none() {
            return Err(ConfigError::new(
                &var("CANONICAL_HOST"),
                "is required when WEB_PROXY_REDIRECT_HTTPS is on (redirects never use the client's Host)",
            ));
        }
        let config = Self {
            listen_addr: s.parse_or(&var("LISTEN_ADDR"), SocketAddr::from(([0, 0, 0, 0], 8000)))?,
            admin_addr: s.parse_or(&var("ADMIN_ADDR"), SocketAddr::from(([127, 0, 0, 1], 9100)))?,
            upstreams,
            api_prefix,
            static_dir,
            resolve_interval: d("RESOLVE_INTERVAL", Duration::from_secs(5))?,
            health_path: s.string_or(&var("UPSTREAM_HEALTH_PATH"), "/health"),
            health_interval: d("HEALTH_INTERVAL", Duration::from_millis(500))?,
            health_timeout: d("HEALTH_TIMEOUT", Duration::from_millis(500))?,
            unhealthy_threshold: s.parse_or(&var("UNHEALTHY_THRESHOLD"), 2)?,
            healthy_threshold: s.parse_or(&var("HEALTHY_THRESHOLD"), 2)?,
            eject_base: d("EJECT_BASE", Duration::from_secs(1))?,
            eject_max: d("EJECT_MAX", Duration::from_secs(30))?,
            connect_timeout: d("CONNECT_TIMEOUT", Duration::from_secs(1))?,
            upstream_timeout: d("UPSTREAM_TIMEOUT", Duration::from_secs(30))?,
            request_timeout: d("REQUEST_TIMEOUT", Duration::from_secs(60))?,
            header_read_timeout: d("HEADER_READ_TIMEOUT", Duration::from_secs(10))?,
            idle_timeout: d("IDLE_TIMEOUT", Duration::from_secs(75))?,
            upstream_idle_timeout: d("UPSTREAM_IDLE_TIMEOUT", Duration::from_secs(50))?,
            upstream_max_idle: s.parse_or(&var("UPSTREAM_MAX_IDLE"), 64)?,
            max_header_bytes: s.parse_or(&var("MAX_HEADER_BYTES"), 16 * 1024)?,
            // The WAS refuses API bodies over 64 KiB; refusing them here is cheaper, and
            // avoids racing the WAS's early 413 (it closes while the body is still coming,
            // and the reset can swallow its answer).
            max_body_bytes: s.parse_or(&var("MAX_BODY_BYTES"), 64 * 1024)?,
            body_timeout: d("BODY_TIMEOUT", Duration::from_secs(10))?,
            max_connections: s.parse_or(&var("MAX_CONNECTIONS"), 4096)?,
            max_connections_per_ip: Some(s.parse_or(&var("MAX_CONNECTIONS_PER_IP"), 0usize)?)
                .filter(|n| *n > 0),
            max_concurrent: s.parse_or(&var("MAX_CONCURRENT"), 4096)?,
            retry_buffer_bytes: s.parse_or(&var("RETRY_BUFFER_BYTES"), 64 * 1024)?,
            forwarding: upstream::forwarding(&s)?,
            trusted_hops: s.parse_or(&var("TRUSTED_HOPS"), 0)?,
            upstream_secret_header,
            upstream_secret: upstream::secret(&s)?,
            redirect_https,
            canonical_host,
            hsts: s.bool_or(&var("HSTS"), true)?,
            security_headers: s.bool_or(&var("SECURITY_HEADERS"), true)?,
            content_security_policy: responses::content_security_policy(&s)?,
            compression: s.bool_or(&var("COMPRESSION"), true)?,
            extra_methods: responses::extra_methods(&s, &var("EXTRA_METHODS"))?,
            drain_period: d("DRAIN_PERIOD", Duration::from_secs(15))?,
            shutdown_grace: d("SHUTDOWN_GRACE", Duration::from_secs(20))?,
            tls,
            instance_id: s.string_or(&var("INSTANCE_ID"), "web-proxy"),
            emf_interval: Some(d("EMF_INTERVAL", shared::emf::DEFAULT_INTERVAL)?)
                .filter(|d| !d.is_zero()),
        };
        config.check()?;
        Ok(config)
    }

    /// The rules between settings, each error naming the variable to change.
    fn check(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 {
            return Err(ConfigError::new(
                &var("MAX_CONNECTIONS"),
                "must be at least 1",
            ));
        }
        if self.body_timeout.is_zero() {
            return Err(ConfigError::new(&var("BODY_TIMEOUT"), "must be above zero"));
        }
        if self.max_header_bytes < 8192 {
            return Err(ConfigError::new(
                &var("MAX_HEADER_BYTES"),
                "must be at least 8192",
            ));
        }
        if self.upstream_idle_timeout >= Duration::from_secs(60) {
            tracing::warn!(
                "WEB_PROXY_UPSTREAM_IDLE_TIMEOUT is not below the ALB's 60 s idle timeout; expect sporadic 502s"
            );
        }
        if self.unhealthy_threshold == 0 || self.healthy_threshold == 0 {
            return Err(ConfigError::new(
                &var("UNHEALTHY_THRESHOLD"),
                "thresholds must be at least 1",
            ));
        }
        Ok(())
    }
}

fn var(name: &str) -> String {
    format!("{PREFIX}{name}")
}
