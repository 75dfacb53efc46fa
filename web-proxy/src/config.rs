//! web-proxy configuration: environment variables (`WEB_PROXY_*`), optionally on top of a
//! TOML file named by `WEB_PROXY_CONFIG` whose keys are the variable names without the
//! prefix, in lower case (`upstreams = ["http://was:8080"]`). The environment wins.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use shared::config::{ConfigError, Settings, Source, Var};
use url::Url;

const PREFIX: &str = "WEB_PROXY_";

/// Every environment variable web-proxy reads, as `web-proxy --help` lists them
/// (README.md's "web-proxy configuration" says more about each). In the TOML file the
/// same settings are the names without `WEB_PROXY_`, in lower case.
pub const VARS: &[Var] = &[
    Var::new(
        "WEB_PROXY_CONFIG",
        "unset",
        "A TOML file of these settings (the environment wins)",
    ),
    Var::new(
        "WEB_PROXY_UPSTREAMS",
        "required (unless only static)",
        "Comma-separated http://host:port of the WAS (or its ALB)",
    ),
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
        "WEB_PROXY_STATIC_DIR",
        "unset",
        "Front-end directory (unset: non-API paths are 404)",
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
        "WEB_PROXY_RETRY_BUFFER_BYTES",
        "65536",
        "Largest request body kept for a retry",
    ),
    Var::new(
        "WEB_PROXY_TRUSTED_HOPS",
        "0",
        "Proxies in front that append to X-Forwarded-For (1 behind an ALB)",
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
        "WEB_PROXY_EXTRA_METHODS",
        "none",
        "Comma-separated methods beyond RFC 9110's and PATCH to forward (others get 405)",
    ),
    Var::new(
        "WEB_PROXY_COMPRESSION",
        "true",
        "gzip/br for compressible upstream responses",
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
    Var::new(
        "WEB_PROXY_INSTANCE_ID",
        "web-proxy",
        "Name of this proxy (X-Upbrella-Proxy)",
    ),
    Var::new(
        "LOG_FORMAT",
        "json unless stdout is a terminal",
        "json or text",
    ),
    Var::new("RUST_LOG", "info", "Log filter"),
];

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The environment over a TOML file's values.
pub struct Layered {
    file: HashMap<String, String>,
}

impl Layered {
    /// Reads `WEB_PROXY_CONFIG` if set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = format!("{PREFIX}CONFIG");
        let file = match std::env::var(&var) {
            Ok(path) if !path.trim().is_empty() => {
                let text = std::fs::read_to_string(path.trim())
                    .map_err(|e| ConfigError::new(&var, format!("cannot read {path}: {e}")))?;
                parse_toml(&text).map_err(|e| ConfigError::new(&var, format!("{path}: {e}")))?
            }
            _ => HashMap::new(),
        };
        Ok(Self { file })
    }
}

impl Source for Layered {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.file.get(name).cloned())
    }
}

/// Flattens a TOML document into `WEB_PROXY_*` settings; arrays become comma lists.
pub fn parse_toml(text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(format!("{key}: array items must be strings, got {other}")),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => return Err(format!("{key}: unsupported value {other}")),
        };
        out.insert(format!("{PREFIX}{}", key.to_ascii_uppercase()), text);
    }
    Ok(out)
}

fn var(name: &str) -> String {
    format!("{PREFIX}{name}")
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

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let d = |name: &str, default: Duration| s.duration_or(&var(name), default);
        let upstreams = match s.raw(&var("UPSTREAMS")) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter(|u| !u.trim().is_empty())
                .map(parse_upstream)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::new(&var("UPSTREAMS"), e))?,
        };
        let static_dir = s.raw(&var("STATIC_DIR")).map(PathBuf::from);
        if upstreams.is_empty() && static_dir.is_none() {
            return Err(ConfigError::new(
                &var("UPSTREAMS"),
                "set at least one upstream (or WEB_PROXY_STATIC_DIR)",
            ));
        }
        let mut api_prefix = s.string_or(&var("API_PREFIX"), "/api");
        if !api_prefix.starts_with('/') {
            return Err(ConfigError::new(&var("API_PREFIX"), "must start with /"));
        }
        while api_prefix.len() > 1 && api_prefix.ends_with('/') {
            api_prefix.pop();
        }
        let secret_header = s.string_or(&var("UPSTREAM_SECRET_HEADER"), "x-upbrella-proxy-secret");
        let upstream_secret_header = http::HeaderName::try_from(secret_header.to_ascii_lowercase())
            .map_err(|e| ConfigError::new(&var("UPSTREAM_SECRET_HEADER"), e))?;
        let tls = match (s.raw(&var("TLS_CERT")), s.raw(&var("TLS_KEY"))) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    &var("TLS_CERT"),
                    "set both WEB_PROXY_TLS_CERT and WEB_PROXY_TLS_KEY, or neither",
                ));
            }
        };
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
            trusted_hops: s.parse_or(&var("TRUSTED_HOPS"), 0)?,
            upstream_secret_header,
            upstream_secret: s
                .raw(&var("UPSTREAM_SECRET"))
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
                .transpose()?,
            redirect_https,
            canonical_host,
            hsts: s.bool_or(&var("HSTS"), true)?,
            security_headers: s.bool_or(&var("SECURITY_HEADERS"), true)?,
            content_security_policy: match s.raw(&var("CSP")) {
                Some(csp) => csp,
                None => default_csp(
                    s.bool_or(&var("KAKAO_MAPS"), false)?,
                    &upload_origins(&s, &var("UPLOAD_ORIGINS"))?,
                ),
            },
            compression: s.bool_or(&var("COMPRESSION"), true)?,
            extra_methods: extra_methods(&s, &var("EXTRA_METHODS"))?,
            drain_period: d("DRAIN_PERIOD", Duration::from_secs(15))?,
            shutdown_grace: d("SHUTDOWN_GRACE", Duration::from_secs(20))?,
            tls,
            instance_id: s.string_or(&var("INSTANCE_ID"), "web-proxy"),
        };
        if config.max_connections == 0 {
            return Err(ConfigError::new(
                &var("MAX_CONNECTIONS"),
                "must be at least 1",
            ));
        }
        if config.body_timeout.is_zero() {
            return Err(ConfigError::new(&var("BODY_TIMEOUT"), "must be above zero"));
        }
        if config.max_header_bytes < 8192 {
            return Err(ConfigError::new(
                &var("MAX_HEADER_BYTES"),
                "must be at least 8192",
            ));
        }
        if config.upstream_idle_timeout >= Duration::from_secs(60) {
            tracing::warn!(
                "WEB_PROXY_UPSTREAM_IDLE_TIMEOUT is not below the ALB's 60 s idle timeout; expect sporadic 502s"
            );
        }
        if config.unhealthy_threshold == 0 || config.healthy_threshold == 0 {
            return Err(ConfigError::new(
                &var("UNHEALTHY_THRESHOLD"),
                "thresholds must be at least 1",
            ));
        }
        Ok(config)
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
fn extra_methods(s: &Settings<'_>, var: &str) -> Result<Vec<http::Method>, ConfigError> {
    let Some(raw) = s.raw(var) else {
        return Ok(Vec::new());
    };
    let mut methods = Vec::new();
    for token in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let method = http::Method::from_bytes(token.as_bytes())
            .map_err(|_| ConfigError::new(var, format!("{token:?} is not an HTTP method token")))?;
        if crate::methods::is_standard(&method)
            || method == http::Method::TRACE
            || method == http::Method::CONNECT
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn the_configuration_reads_only_variables_its_table_lists() {
        let branches = [
            env(&[("WEB_PROXY_UPSTREAMS", "http://127.0.0.1:1")]),
            env(&[
                ("WEB_PROXY_UPSTREAMS", "http://127.0.0.1:1"),
                ("WEB_PROXY_EXTRA_METHODS", "PROPFIND"),
                ("WEB_PROXY_UPLOAD_ORIGINS", "https://photos.example"),
                ("WEB_PROXY_REDIRECT_HTTPS", "true"),
                ("WEB_PROXY_CANONICAL_HOST", "upbrella.example"),
                ("WEB_PROXY_TLS_CERT", "/cert.pem"),
                ("WEB_PROXY_TLS_KEY", "/key.pem"),
            ]),
        ];
        let mut asked = std::collections::BTreeSet::new();
        for branch in &branches {
            let recording = shared::config::Recording::new(branch);
            Config::from_source(&recording).expect("valid configuration");
            asked.extend(recording.asked());
        }
        let (unlisted, unread) = shared::config::against_table(&asked, VARS);
        assert!(unlisted.is_empty(), "read but not in VARS: {unlisted:?}");
        // The file's name is read before the configuration; logging reads its own.
        assert_eq!(unread, ["WEB_PROXY_CONFIG", "LOG_FORMAT", "RUST_LOG"]);
    }

    #[test]
    fn readme_documents_exactly_the_variables_of_the_table() {
        let readme = include_str!("../../README.md");
        assert_eq!(
            shared::config::readme_documents(readme, "### web-proxy configuration", VARS),
            Ok(())
        );
    }

    #[test]
    fn upstreams_parse_and_defaults_suit_an_alb() {
        let c = Config::from_source(&env(&[(
            "WEB_PROXY_UPSTREAMS",
            "http://was-a:8080, http://127.0.0.1:8081,http://[::1]:9",
        )]))
        .unwrap();
        assert_eq!(c.upstreams.len(), 3);
        assert_eq!(
            c.upstreams[0],
            Upstream {
                host: "was-a".into(),
                port: 8080
            }
        );
        assert_eq!(c.upstreams[2].host, "::1");
        assert!(c.upstream_idle_timeout < Duration::from_secs(60));
        assert!(c.idle_timeout > Duration::from_secs(60));
        assert_eq!(c.api_prefix, "/api");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "https://x")])).unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_UPSTREAMS");
        let err = Config::from_source(&env(&[])).unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_UPSTREAMS");
        let err = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_REDIRECT_HTTPS", "true"),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_CANONICAL_HOST");
        let err = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_CONNECT_TIMEOUT", "soon"),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_CONNECT_TIMEOUT");
        for methods in ["GET", "TRACE", "BAD METHOD", "PROPFIND,(x)"] {
            let mut e = env(&[("WEB_PROXY_UPSTREAMS", "http://x")]);
            e.insert("WEB_PROXY_EXTRA_METHODS", methods);
            let err = Config::from_source(&e).unwrap_err();
            assert_eq!(err.var, "WEB_PROXY_EXTRA_METHODS", "{methods}");
        }
        let c = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_EXTRA_METHODS", "PROPFIND, PURGE"),
        ]))
        .unwrap();
        assert_eq!(c.extra_methods.len(), 2);
    }

    #[test]
    fn kakao_maps_widen_the_default_policy_for_kakao_only() {
        let plain = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "http://x")])).unwrap();
        assert!(!plain.content_security_policy.contains("kakao"));
        assert!(plain.content_security_policy.contains("script-src 'self';"));
        let maps = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_KAKAO_MAPS", "true"),
        ]))
        .unwrap();
        assert!(
            maps.content_security_policy
                .contains("script-src 'self' https://dapi.kakao.com https://t1.daumcdn.net;")
        );
        assert!(maps.content_security_policy.contains("default-src 'self';"));
        let own = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_KAKAO_MAPS", "true"),
            ("WEB_PROXY_CSP", "default-src 'none'"),
        ]))
        .unwrap();
        assert_eq!(
            own.content_security_policy, "default-src 'none'",
            "an explicit policy is kept as written"
        );
    }

    #[test]
    fn upload_origins_widen_connect_src_and_img_src_only() {
        let plain = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "http://x")])).unwrap();
        assert!(
            plain
                .content_security_policy
                .contains("connect-src 'self';")
        );
        let uploads = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            (
                "WEB_PROXY_UPLOAD_ORIGINS",
                "https://Photos.s3.ap-northeast-2.amazonaws.com/, http://127.0.0.1:5000",
            ),
        ]))
        .unwrap();
        let csp = &uploads.content_security_policy;
        assert!(
            csp.contains(
                "connect-src 'self' https://photos.s3.ap-northeast-2.amazonaws.com http://127.0.0.1:5000;"
            ),
            "{csp}"
        );
        assert!(
            csp.contains(
                "img-src 'self' https: data: https://photos.s3.ap-northeast-2.amazonaws.com http://127.0.0.1:5000;"
            ),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"), "{csp}");
        for bad in [
            "photos.example",
            "https://photos.example/path",
            "https://a.example; script-src *",
            "ftp://photos.example",
        ] {
            let err = Config::from_source(&env(&[
                ("WEB_PROXY_UPSTREAMS", "http://x"),
                ("WEB_PROXY_UPLOAD_ORIGINS", bad),
            ]))
            .unwrap_err();
            assert_eq!(err.var, "WEB_PROXY_UPLOAD_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn the_upstream_secret_never_shows_in_debug_output() {
        let c = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_UPSTREAM_SECRET", "proxy-secret-789"),
        ]))
        .unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("proxy-secret-789"), "{text}");
        assert!(c.upstream_secret.is_some());
    }

    #[test]
    fn toml_keys_map_to_variables() {
        let map = parse_toml(
            "upstreams = [\"http://a:1\", \"http://b:2\"]\nmax_concurrent = 10\nhsts = false\n",
        )
        .unwrap();
        assert_eq!(map["WEB_PROXY_UPSTREAMS"], "http://a:1,http://b:2");
        assert_eq!(map["WEB_PROXY_MAX_CONCURRENT"], "10");
        let c = Config::from_source(&map).unwrap();
        assert_eq!(c.max_concurrent, 10);
        assert!(!c.hsts);
    }
}
