//! The WAS configuration: one typed struct, filled from the environment once at start.
//! Every variable is documented in docs/configuration.md; a missing or malformed one stops
//! the process with a message naming it.
//!
//! Each concern keeps its part of the variable table beside the code that reads it; [`VARS`]
//! is their union, in the order `was --help` lists them.

mod aws;
mod database;
mod kakao;
mod keys;
mod limits;
mod mail;
mod photos;
mod qr;
mod server;
mod service;
mod sessions;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use shared::config::{ConfigError, Settings, Source, Var};
use url::Url;

pub use database::{AppRole, AppRoleLogin, DatabaseConfig};
pub use kakao::{GeocodeConfig, KakaoConfig};
pub use keys::{BankKey, ServerKeys};
pub use limits::{HashingLimits, Rate, RateLimits};
pub use mail::{MailConfig, MailTransport};
pub use photos::PhotoConfig;
pub use qr::LegacyCodes;
pub use service::Support;

/// Read by the allocator and the logging setup, not by [`Config`].
const PROCESS_VARS: &[Var] = &[
    Var::new(
        "MIMALLOC_PURGE_DELAY",
        "0 in the image and the stack",
        "The allocator's delay before freed memory is returned",
    ),
    Var::new(
        "LOG_FORMAT",
        "json unless stdout is a terminal",
        "json or text",
    ),
    Var::new("RUST_LOG", "info,sqlx=warn,fred=warn", "Log filter"),
];

const TABLES: &[&[Var]] = &[
    database::VARS,
    aws::VARS,
    sessions::VARS,
    keys::VARS,
    mail::VARS,
    qr::VARS,
    server::VARS,
    limits::VARS,
    service::VARS,
    kakao::VARS,
    photos::VARS,
    PROCESS_VARS,
];
const ALL_VARS: [Var; shared::config::vars_len(TABLES)] = shared::config::concat_vars(TABLES);

/// Every environment variable the WAS reads, as `was --help` lists them
/// (docs/configuration.md's "WAS configuration" says more about each).
pub const VARS: &[Var] = &ALL_VARS;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// The admin listener (metrics), if any.
    pub admin_addr: Option<SocketAddr>,
    pub instance_id: String,
    /// How often the CloudWatch metrics line is printed (`WAS_EMF_INTERVAL`), if at all.
    pub emf_interval: Option<Duration>,
    pub database: DatabaseConfig,
    pub redis_url: SecretString,
    /// Kept apart from the URL so it can come from a secret (ElastiCache AUTH).
    pub redis_password: Option<SecretString>,
    /// With `rediss://`: the CA certificates (PEM) trusted for Redis instead of the
    /// system's roots.
    pub redis_ca_file: Option<std::path::PathBuf>,
    pub redis_pool_size: usize,
    pub redis_timeout: Duration,
    pub session_idle_timeout: Duration,
    /// A session ends this long after login however active it is, so a stolen cookie
    /// does not live forever.
    pub session_absolute_timeout: Duration,
    /// Renters' sessions: long, on their own device, so a return is one scan.
    pub renter_session_idle_timeout: Duration,
    pub renter_session_absolute_timeout: Duration,
    /// How renters reach the operators (shown in the footer, the guide and errors).
    pub support: Support,
    /// The cookie's name as configured; [`Config::session_cookie`] gives the name sent.
    pub session_cookie_name: String,
    pub session_cookie_secure: bool,
    pub bank_key: BankKey,
    /// Signs the QR codes the console prints (`domain::codes`).
    pub qr_key: BankKey,
    /// Whether the original service's unsigned QR URLs still rent and return.
    pub legacy_codes: LegacyCodes,
    /// The origin printed in QR codes; `None`: the request's own.
    pub public_url: Option<String>,
    /// Kakao Maps' JavaScript key (public by design: it is bound to the site's domain).
    pub kakao_map_key: Option<String>,
    pub allowed_origins: Vec<String>,
    pub kakao: Option<KakaoConfig>,
    /// Kakao's address search for the console, when a REST API key is configured.
    pub geocode: Option<GeocodeConfig>,
    /// Presigned photo uploads to S3, when a bucket is configured.
    pub photos: Option<PhotoConfig>,
    /// Operators' webhook, told of every return.
    pub return_webhook: Option<crate::notify::WebhookConfig>,
    /// The secret web-proxy adds to every request it forwards. When set, the WAS refuses
    /// API requests without it and trusts `X-Forwarded-For` only on requests with it.
    pub proxy_secret: Option<SecretString>,
    /// During a rotation, the other secret accepted: the next one until every web-proxy
    /// sends it, then the previous one until every web-proxy has stopped sending it.
    pub proxy_secret_rotating: Option<SecretString>,
    pub proxy_secret_header: HeaderName,
    /// The release this replica runs (the image tag), reported by `/api/ready`.
    pub release: String,
    pub password_hashing: HashingLimits,
    pub rate_limits: RateLimits,
    /// Keys the hashes kept of request bodies and rate-limit subjects.
    pub server_keys: ServerKeys,
    pub mail: MailConfig,
    pub email_verify_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub reauth_window: Duration,
    /// How long a stored `Idempotency-Key` response (which may hold a locker password)
    /// is kept.
    pub idempotency_ttl: Duration,
    /// The deposit a renter pays by bank transfer, in won.
    pub deposit_amount: u32,
    /// Days a returned rental's deposit may stay unpaid before the renter is refused new
    /// rentals.
    pub deposit_unpaid_days: u16,
    /// Where the deposit goes ("신한 110-123-456789 업브렐라"), shown on the rent page.
    pub deposit_account: Option<String>,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
    pub migrate_on_start: bool,
}

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let bank_key = keys::parse_key(
            "BANK_ENCRYPTION_KEY",
            &s.required_string("BANK_ENCRYPTION_KEY")?,
        )?;
        let config = Self {
            kakao: kakao::kakao_config(&s)?,
            return_webhook: service::return_webhook(&s)?,
            listen_addr: s.parse_or("WAS_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            admin_addr: server::admin_addr(&s)?,
            instance_id: s
                .raw("WAS_INSTANCE_ID")
                .unwrap_or_else(server::default_instance_id),
            emf_interval: server::emf_interval(&s)?,
            database: DatabaseConfig::from_source(source)?,
            redis_url: SecretString::from(s.required_string("REDIS_URL")?),
            redis_password: s.raw("REDIS_PASSWORD").map(SecretString::from),
            redis_ca_file: s.raw("REDIS_CA_FILE").map(std::path::PathBuf::from),
            redis_pool_size: s.parse_or("REDIS_POOL_SIZE", 4)?,
            redis_timeout: s.duration_or("REDIS_TIMEOUT", Duration::from_secs(1))?,
            session_idle_timeout: s.duration_or("SESSION_IDLE_TIMEOUT", MINUTE * 30)?,
            session_absolute_timeout: s.duration_or("SESSION_ABSOLUTE_TIMEOUT", HOUR * 24)?,
            renter_session_idle_timeout: s
                .duration_or("RENTER_SESSION_IDLE_TIMEOUT", HOUR * 24 * 30)?,
            renter_session_absolute_timeout: s
                .duration_or("RENTER_SESSION_ABSOLUTE_TIMEOUT", HOUR * 24 * 180)?,
            support: service::support(&s)?,
            session_cookie_name: s.string_or("SESSION_COOKIE_NAME", "upbrella_sid"),
            session_cookie_secure: s.bool_or("SESSION_COOKIE_SECURE", false)?,
            bank_key: BankKey(bank_key),
            qr_key: qr::qr_key(&s, &bank_key)?,
            legacy_codes: qr::legacy_codes(&s)?,
            kakao_map_key: s.raw("KAKAO_MAP_KEY"),
            public_url: qr::public_url(&s)?,
            allowed_origins: sessions::allowed_origins(&s),
            geocode: kakao::geocode_config(&s)?,
            photos: photos::photo_config(&s)?,
            proxy_secret: s.raw("WAS_PROXY_SECRET").map(SecretString::from),
            proxy_secret_rotating: s.raw("WAS_PROXY_SECRET_ROTATING").map(SecretString::from),
            release: s.string_or("UPBRELLA_RELEASE", "dev"),
            proxy_secret_header: server::proxy_secret_header(&s)?,
            password_hashing: limits::hashing_limits(&s)?,
            server_keys: keys::server_keys(&s)?,
            mail: mail::mail_config(&s)?,
            email_verify_ttl: s.duration_or("EMAIL_VERIFY_TTL", HOUR * 48)?,
            password_reset_ttl: s.duration_or("PASSWORD_RESET_TTL", MINUTE * 30)?,
            reauth_window: s.duration_or("REAUTH_WINDOW", MINUTE * 10)?,
            rate_limits: limits::rate_limits(&s)?,
            idempotency_ttl: s.duration_or("IDEMPOTENCY_TTL", HOUR * 24)?,
            deposit_amount: s.parse_or("DEPOSIT_AMOUNT", 10_000)?,
            deposit_unpaid_days: s.parse_or("DEPOSIT_UNPAID_DAYS", 3)?,
            deposit_account: s.raw("DEPOSIT_ACCOUNT"),
            request_timeout: s.duration_or("WAS_REQUEST_TIMEOUT", Duration::from_secs(30))?,
            header_read_timeout: s
                .duration_or("WAS_HEADER_READ_TIMEOUT", Duration::from_secs(10))?,
            idle_timeout: s.duration_or("WAS_IDLE_TIMEOUT", Duration::from_secs(75))?,
            max_connections: s.parse_or("WAS_MAX_CONNECTIONS", 4096)?,
            shutdown_grace: s.duration_or("WAS_SHUTDOWN_GRACE", Duration::from_secs(20))?,
            migrate_on_start: s.bool_or("WAS_MIGRATE_ON_START", false)?,
        };
        config.check()?;
        Ok(config)
    }

    /// The rules between variables, each error naming the one to change.
    fn check(&self) -> Result<(), ConfigError> {
        if !matches!(self.mail.transport, MailTransport::Off) && self.public_url.is_none() {
            return Err(ConfigError::new(
                "PUBLIC_URL",
                "is required to send mail (the links in it point there)",
            ));
        }
        if self.proxy_secret_rotating.is_some() && self.proxy_secret.is_none() {
            return Err(ConfigError::new(
                "WAS_PROXY_SECRET_ROTATING",
                "needs WAS_PROXY_SECRET (it is the second secret accepted during a rotation)",
            ));
        }
        if self.redis_ca_file.is_some() && !self.redis_url.expose_secret().starts_with("rediss://")
        {
            return Err(ConfigError::new(
                "REDIS_CA_FILE",
                "applies to TLS only: REDIS_URL must start with rediss://",
            ));
        }
        if self.redis_pool_size == 0 {
            return Err(ConfigError::new("REDIS_POOL_SIZE", "must be at least 1"));
        }
        if self.session_absolute_timeout < self.session_idle_timeout {
            return Err(ConfigError::new(
                "SESSION_ABSOLUTE_TIMEOUT",
                "must not be shorter than SESSION_IDLE_TIMEOUT",
            ));
        }
        if self.renter_session_absolute_timeout < self.renter_session_idle_timeout {
            return Err(ConfigError::new(
                "RENTER_SESSION_ABSOLUTE_TIMEOUT",
                "must not be shorter than RENTER_SESSION_IDLE_TIMEOUT",
            ));
        }
        if self.session_idle_timeout < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "SESSION_IDLE_TIMEOUT",
                "must be at least 1s",
            ));
        }
        Ok(())
    }

    /// The session cookie's name as sent. With `Secure`, it carries the `__Host-` prefix,
    /// which browsers accept only from HTTPS, with `Path=/` and no `Domain`: a sibling
    /// subdomain or a plain-HTTP page cannot plant or overwrite it.
    pub fn session_cookie(&self) -> String {
        if self.session_cookie_secure && !self.session_cookie_name.starts_with("__Host-") {
            format!("__Host-{}", self.session_cookie_name)
        } else {
            self.session_cookie_name.clone()
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// An http(s) URL with a host (`default` when unset and not empty).
fn http_url(s: &Settings<'_>, var: &str, default: &str) -> Result<Url, ConfigError> {
    let raw = match s.raw(var) {
        Some(v) => v,
        None if !default.is_empty() => default.to_owned(),
        None => return Err(ConfigError::new(var, "is required")),
    };
    Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ConfigError::new(var, format!("must be an http(s) URL, not {raw:?}")))
}

fn url(s: &Settings<'_>, var: &str, default: Option<&str>) -> Result<Url, ConfigError> {
    let raw = match (s.raw(var), default) {
        (Some(v), _) => v,
        (None, Some(d)) => d.to_owned(),
        (None, None) => {
            return Err(ConfigError::new(
                var,
                "is required when KAKAO_CLIENT_ID is set",
            ));
        }
    };
    Url::parse(&raw).map_err(|e| ConfigError::new(var, format!("invalid URL {raw:?}: {e}")))
}
