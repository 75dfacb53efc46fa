//! The WAS configuration: one typed struct, filled from the environment once at start.
//! Every variable is documented in README.md; a missing or malformed one stops the
//! process with a message naming it.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use shared::config::{ConfigError, Settings, Source, Var};
use url::Url;

use crate::dbauth::{AwsCredentialSource, AwsCredentials, DatabaseAuth};

/// Every environment variable the WAS reads, as `was --help` lists them (README.md's
/// "WAS configuration" says more about each).
pub const VARS: &[Var] = &[
    Var::new(
        "DATABASE_URL",
        "required, unless PGHOST is set",
        "PostgreSQL URL",
    ),
    Var::new(
        "PGHOST",
        "unset",
        "Without DATABASE_URL: libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT",
    ),
    Var::new(
        "DATABASE_AUTH",
        "password",
        "password, or rds-iam (RDS IAM tokens from the task role)",
    ),
    Var::new(
        "DATABASE_PASSWORD_FILE",
        "unset",
        "A file holding the database password, re-read at every refresh",
    ),
    Var::new(
        "DATABASE_CREDENTIALS_REFRESH",
        "30s",
        "How often the credential is re-read or re-minted",
    ),
    Var::new("DATABASE_MAX_CONNECTIONS", "10", "Pool size per replica"),
    Var::new(
        "DATABASE_TIMEOUT",
        "2s",
        "Wait for a pooled connection (then 503)",
    ),
    Var::new(
        "AWS_REGION",
        "required with rds-iam",
        "The database's region (AWS_DEFAULT_REGION also works)",
    ),
    Var::new("AWS_DEFAULT_REGION", "unset", "Fallback for AWS_REGION"),
    Var::new(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "set by ECS",
        "Where the task role's credentials are served (rds-iam)",
    ),
    Var::new(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "unset",
        "A full credentials URL instead of the relative one",
    ),
    Var::new(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "unset",
        "The token the full credentials URL wants",
    ),
    Var::new(
        "AWS_ACCESS_KEY_ID",
        "unset",
        "Static AWS credentials, before the container's (rds-iam)",
    ),
    Var::new(
        "AWS_SECRET_ACCESS_KEY",
        "required with AWS_ACCESS_KEY_ID",
        "Its secret",
    ),
    Var::new("AWS_SESSION_TOKEN", "unset", "Its session token"),
    Var::new(
        "WAS_APP_ROLE",
        "unset",
        "was migrate: create or update this least-privilege role",
    ),
    Var::new(
        "WAS_APP_ROLE_AUTH",
        "password",
        "was migrate: password or rds-iam login for the role",
    ),
    Var::new(
        "WAS_APP_ROLE_PASSWORD",
        "required with password",
        "was migrate: the role's password",
    ),
    Var::new("REDIS_URL", "required", "Redis URL (rediss:// for TLS)"),
    Var::new(
        "REDIS_PASSWORD",
        "unset",
        "Redis AUTH token, kept out of the URL",
    ),
    Var::new(
        "REDIS_CA_FILE",
        "system roots",
        "With rediss://: the only CA (PEM) trusted for Redis's certificate",
    ),
    Var::new("REDIS_POOL_SIZE", "4", "Redis connections per replica"),
    Var::new(
        "REDIS_TIMEOUT",
        "1s",
        "Bound on every Redis command (then 503)",
    ),
    Var::new(
        "BANK_ENCRYPTION_KEY",
        "required",
        "32-byte key (64 hex digits or base64) sealing bank account numbers",
    ),
    Var::new(
        "SERVER_HMAC_KEY",
        "required",
        "32-byte key (64 hex digits or base64) keying the hashes kept of request bodies and rate-limit subjects; not the bank key",
    ),
    Var::new(
        "SERVER_HMAC_KEY_PREVIOUS",
        "unset",
        "The key before a rotation, still accepted for stored idempotency hashes (drop after IDEMPOTENCY_TTL)",
    ),
    Var::new(
        "MAIL_TRANSPORT",
        "off",
        "smtp, ses (SES v2 through the task role), or off (mails are logged, not sent)",
    ),
    Var::new(
        "MAIL_FROM",
        "required unless off",
        "Sender, e.g. 우산대여 upbrella <no-reply@example.com>",
    ),
    Var::new(
        "SMTP_URL",
        "required with smtp",
        "smtp://host:port (plain, a local catcher), smtps://user:pass@host:465, or smtp://…?tls=required",
    ),
    Var::new("SES_REGION", "AWS_REGION", "Region of the SES endpoint"),
    Var::new(
        "SES_ENDPOINT",
        "https://email.{region}.amazonaws.com",
        "Override of the SES endpoint (rehearsals)",
    ),
    Var::new(
        "MAIL_QUEUE",
        "1000",
        "Mails waiting to be sent; beyond it new ones are dropped, counted and logged",
    ),
    Var::new(
        "EMAIL_VERIFY_TTL",
        "48h",
        "How long a verification link works",
    ),
    Var::new(
        "PASSWORD_RESET_TTL",
        "30m",
        "How long a password-reset link works (once)",
    ),
    Var::new(
        "REAUTH_WINDOW",
        "10m",
        "How recent a password (or Kakao login) must be to change the refund account or e-mail",
    ),
    Var::new(
        "KAKAO_MAP_KEY",
        "unset",
        "Kakao Maps JavaScript key; unset: the store list without a map",
    ),
    Var::new(
        "QR_SIGNING_KEY",
        "derived from BANK_ENCRYPTION_KEY",
        "32-byte key (64 hex digits or base64) signing the QR codes the console prints",
    ),
    Var::new(
        "QR_LEGACY_CODES",
        "refuse",
        "refuse, or accept the original service's unsigned QR URLs until QR_LEGACY_UNTIL",
    ),
    Var::new(
        "QR_LEGACY_UNTIL",
        "required with accept",
        "Last day (YYYY-MM-DD, Korea) the unsigned stickers work; refused after it",
    ),
    Var::new(
        "PUBLIC_URL",
        "from the request's Host",
        "Origin printed in QR codes (https://upbrella.example)",
    ),
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
    Var::new(
        "PASSWORD_HASH_CONCURRENCY",
        "cores, bounded by memory",
        "argon2 hashes run at once",
    ),
    Var::new(
        "PASSWORD_HASH_QUEUE",
        "8 × the above",
        "Requests that may wait for a hash (then 503)",
    ),
    Var::new(
        "RATE_LIMIT_LOGIN_FAILURES",
        "10/15m",
        "Wrong passwords per (e-mail, client address) before that address must wait (COUNT/PERIOD, or off)",
    ),
    Var::new(
        "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT",
        "100/1h",
        "Wrong passwords per e-mail from all addresses; beyond it only addresses without failures may try",
    ),
    Var::new(
        "RATE_LIMIT_LOGIN_PER_ADDRESS",
        "600/10m",
        "Login attempts per client address, sustained",
    ),
    Var::new(
        "RATE_LIMIT_LOGIN_BURST_PER_ADDRESS",
        "30/1m",
        "Login attempts per client address within a minute",
    ),
    Var::new(
        "RATE_LIMIT_MAIL_PER_ACCOUNT",
        "5/1h",
        "Verification and password-reset mails per account",
    ),
    Var::new(
        "RATE_LIMIT_MAIL_PER_ADDRESS",
        "30/1h",
        "Verification and password-reset requests per client address",
    ),
    Var::new(
        "RATE_LIMIT_SIGNUP_PER_ADDRESS",
        "100/1h",
        "Sign-ups per client address",
    ),
    Var::new(
        "RATE_LIMIT_KAKAO_PER_ADDRESS",
        "300/10m",
        "Kakao login callbacks per client address",
    ),
    Var::new(
        "RATE_LIMIT_LOCKER_PER_USER",
        "10/1h",
        "Rents that issue a locker password, per user",
    ),
    Var::new(
        "RATE_LIMIT_RENTAL_PER_USER",
        "20/1h",
        "Rents and returns (and their forms) per user",
    ),
    Var::new(
        "RATE_LIMIT_RENTAL_PER_ADDRESS",
        "120/1h",
        "Rents and returns (and their forms) per client address",
    ),
    Var::new(
        "IDEMPOTENCY_TTL",
        "24h",
        "How long an Idempotency-Key answer is kept",
    ),
    Var::new(
        "DEPOSIT_AMOUNT",
        "10000",
        "The deposit in won, shown to renters",
    ),
    Var::new(
        "DEPOSIT_UNPAID_DAYS",
        "3",
        "Days after a return with the deposit unpaid before new rents are refused",
    ),
    Var::new(
        "DEPOSIT_ACCOUNT",
        "unset",
        "Where renters send the deposit (bank, number, holder)",
    ),
    Var::new(
        "SESSION_IDLE_TIMEOUT",
        "30m",
        "Inactivity after which a session ends",
    ),
    Var::new(
        "SESSION_ABSOLUTE_TIMEOUT",
        "24h",
        "A session ends this long after login",
    ),
    Var::new(
        "SUPPORT_KAKAO_URL",
        "",
        "How renters reach the operators: a KakaoTalk channel's https:// chat link (shown in the footer, the guide and errors)",
    ),
    Var::new(
        "SUPPORT_PHONE",
        "",
        "How renters reach the operators: a phone number",
    ),
    Var::new(
        "SUPPORT_EMAIL",
        "",
        "How renters reach the operators: an e-mail address",
    ),
    Var::new(
        "RENTER_SESSION_IDLE_TIMEOUT",
        "30d",
        "Inactivity after which a renter's session ends (renters stay signed in on their own device; operators get SESSION_IDLE_TIMEOUT)",
    ),
    Var::new(
        "RENTER_SESSION_ABSOLUTE_TIMEOUT",
        "180d",
        "A renter's session ends this long after login",
    ),
    Var::new("SESSION_COOKIE_NAME", "upbrella_sid", "Session cookie name"),
    Var::new(
        "SESSION_COOKIE_SECURE",
        "false",
        "Secure cookie named __Host-… (behind HTTPS)",
    ),
    Var::new(
        "ALLOWED_ORIGINS",
        "none",
        "Extra origins allowed to make state-changing requests",
    ),
    Var::new(
        "RETURN_WEBHOOK_URL",
        "unset",
        "Slack-compatible webhook told of every return (a secret)",
    ),
    Var::new(
        "RETURN_WEBHOOK_TIMEOUT",
        "5s",
        "Timeout of each webhook attempt (5 attempts)",
    ),
    Var::new("KAKAO_CLIENT_ID", "unset", "Enables Kakao login"),
    Var::new(
        "KAKAO_CLIENT_SECRET",
        "unset",
        "Kakao client secret, if the app has one",
    ),
    Var::new(
        "KAKAO_REDIRECT_URI",
        "required with Kakao",
        "Our callback URL as registered at Kakao",
    ),
    Var::new(
        "KAKAO_AUTHORIZE_URL",
        "https://kauth.kakao.com/oauth/authorize",
        "Kakao authorize endpoint",
    ),
    Var::new(
        "KAKAO_TOKEN_URL",
        "https://kauth.kakao.com/oauth/token",
        "Kakao token endpoint",
    ),
    Var::new(
        "KAKAO_PROFILE_URL",
        "https://kapi.kakao.com/v2/user/me",
        "Kakao profile endpoint",
    ),
    Var::new(
        "KAKAO_TIMEOUT",
        "5s",
        "Timeout of each call to Kakao (login, address search)",
    ),
    Var::new(
        "KAKAO_REST_API_KEY",
        "KAKAO_CLIENT_ID",
        "Kakao REST API key for the console's address search (Kakao Local); unset: coordinates are typed",
    ),
    Var::new(
        "KAKAO_LOCAL_API_URL",
        "https://dapi.kakao.com",
        "Kakao Local API base (address search)",
    ),
    Var::new(
        "PHOTO_BUCKET",
        "unset",
        "S3 bucket store photos are uploaded to from the console (presigned PUT); unset: photos by URL only",
    ),
    Var::new("PHOTO_REGION", "AWS_REGION", "The photo bucket's region"),
    Var::new(
        "PHOTO_S3_ENDPOINT",
        "AWS (https://{bucket}.s3.{region}.amazonaws.com)",
        "An S3-compatible endpoint instead of AWS's (an emulator); path-style URLs",
    ),
    Var::new(
        "PHOTO_PUBLIC_BASE_URL",
        "the bucket's URL",
        "Where uploaded photos are read from (a CDN in front of the bucket), ending in /",
    ),
    Var::new(
        "KAKAO_SUCCESS_REDIRECT",
        "/",
        "Where the browser lands after Kakao login",
    ),
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

#[derive(Clone, Debug)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// The admin listener (metrics), if any.
    pub admin_addr: Option<SocketAddr>,
    pub instance_id: String,
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

/// What `was migrate` needs besides nothing else, and the WAS besides the rest.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `None`: connect with libpq's `PG*` variables (PGHOST, PGUSER, PGPASSWORD, …), as
    /// in ECS. A URL may carry a password, so it is kept as a secret (never in `Debug`
    /// output or logs).
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub timeout: Duration,
    /// How the pool's credential is obtained and kept fresh (see [`crate::dbauth`]).
    pub auth: DatabaseAuth,
    pub credentials_refresh: Duration,
    /// The role the WAS connects as, which `was migrate` creates or updates (as the
    /// schema owner) with only the privileges the WAS needs.
    pub app_role: Option<AppRole>,
}

impl DatabaseConfig {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let config = Self {
            url: match (s.raw("DATABASE_URL"), s.raw("PGHOST")) {
                (Some(url), _) => Some(SecretString::from(url)),
                (None, Some(_)) => None,
                (None, None) => {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "is required but not set (or set PGHOST, PGUSER, PGPASSWORD and PGDATABASE)",
                    ));
                }
            },
            max_connections: s.parse_or("DATABASE_MAX_CONNECTIONS", 10)?,
            timeout: s.duration_or("DATABASE_TIMEOUT", Duration::from_secs(2))?,
            auth: database_auth(&s)?,
            credentials_refresh: s
                .duration_or("DATABASE_CREDENTIALS_REFRESH", Duration::from_secs(30))?,
            app_role: app_role(&s)?,
        };
        if config.max_connections == 0 {
            return Err(ConfigError::new(
                "DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        if config.credentials_refresh < Duration::from_millis(10) {
            return Err(ConfigError::new(
                "DATABASE_CREDENTIALS_REFRESH",
                "must be at least 10ms",
            ));
        }
        Ok(config)
    }
}

/// The 32-byte bank-account key; its `Debug` never shows it.
#[derive(Clone)]
pub struct BankKey(pub [u8; 32]);

/// The original service's QR URLs (`/rent/form/{id}`, `/return/form?storeId=…`) carry no
/// signature of ours, so they prove nobody's presence. Refused by default; accepting
/// them is a migration mode with an end date, after which they are refused by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyCodes {
    Refuse,
    /// Accepted through this day (Korea), inclusive.
    AcceptUntil(time::Date),
}

impl LegacyCodes {
    /// Whether a code-less rent or return is accepted at `now`.
    pub fn accepted_at(self, now: time::OffsetDateTime) -> bool {
        match self {
            Self::Refuse => false,
            Self::AcceptUntil(last) => {
                let seoul = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
                now.to_offset(seoul).date() <= last
            }
        }
    }
}

fn legacy_codes(s: &Settings<'_>) -> Result<LegacyCodes, ConfigError> {
    match s.string_or("QR_LEGACY_CODES", "refuse").as_str() {
        "refuse" => Ok(LegacyCodes::Refuse),
        "accept" => {
            let Some(raw) = s.raw("QR_LEGACY_UNTIL") else {
                return Err(ConfigError::new(
                    "QR_LEGACY_UNTIL",
                    "is required with QR_LEGACY_CODES=accept: the last day (YYYY-MM-DD) the \
                     original stickers are accepted",
                ));
            };
            time::Date::parse(
                raw.trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map(LegacyCodes::AcceptUntil)
            .map_err(|_| ConfigError::new("QR_LEGACY_UNTIL", "must be a date, YYYY-MM-DD"))
        }
        _ => Err(ConfigError::new(
            "QR_LEGACY_CODES",
            "must be refuse or accept (with QR_LEGACY_UNTIL)",
        )),
    }
}

impl std::fmt::Debug for BankKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BankKey([REDACTED])")
    }
}

/// How many argon2 hashes run at once, and how many requests may wait for one. Each hash
/// takes 19 MiB for tens of milliseconds, so these bound both CPU and memory: a login
/// flood gets fast 503s instead of growing the process until the kernel kills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    pub concurrency: usize,
    pub queue: usize,
}

/// Rate limits shared by all replicas (counted in Redis). `None` turns one off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub login_failures: Option<Rate>,
    pub login_failures_per_account: Option<Rate>,
    pub login_per_address: Option<Rate>,
    pub login_burst_per_address: Option<Rate>,
    pub mail_per_account: Option<Rate>,
    pub mail_per_address: Option<Rate>,
    pub signup_per_address: Option<Rate>,
    pub kakao_per_address: Option<Rate>,
    pub locker_per_user: Option<Rate>,
    pub rental_per_user: Option<Rate>,
    pub rental_per_address: Option<Rate>,
}

/// `count` requests per `period`, all of which may come at once; after that one more
/// every `period / count` (a generic cell rate: a sliding window without its memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    /// `"10/15m"`, `"600/1h"`, or `off`.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (count, period) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected COUNT/PERIOD such as 10/15m, or off"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {count:?} is not a whole number"))?;
        let period = shared::config::parse_duration(period.trim())?;
        if count == 0 || period.is_zero() {
            return Err(format!(
                "{text:?}: count and period must be above zero (or say off)"
            ));
        }
        Ok(Some(Self { count, period }))
    }
}

#[derive(Clone, Debug)]
pub struct KakaoConfig {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub redirect_uri: Url,
    pub authorize_url: Url,
    pub token_url: Url,
    pub profile_url: Url,
    pub timeout: Duration,
    /// Where the browser lands after a successful Kakao login.
    pub success_redirect: String,
}

/// Kakao Local's address search (`GET {base}/v2/local/search/address.json`).
#[derive(Clone, Debug)]
pub struct GeocodeConfig {
    pub api_key: SecretString,
    pub base_url: Url,
    pub timeout: Duration,
}

/// Where the console's photo uploads go.
#[derive(Clone, Debug)]
pub struct PhotoConfig {
    pub bucket: String,
    pub region: String,
    /// `None`: AWS, with virtual-hosted URLs (`https://{bucket}.s3.{region}.amazonaws.com`);
    /// `Some`: an S3-compatible endpoint (an emulator), with path-style URLs.
    pub endpoint: Option<Url>,
    /// Prefix of every uploaded photo's public URL; ends with `/`.
    pub public_base_url: String,
    pub credentials: AwsCredentialSource,
}

/// `KAKAO_REST_API_KEY`, or else the login's client id, which at Kakao is the same app's
/// REST API key.
fn geocode_config(s: &Settings<'_>) -> Result<Option<GeocodeConfig>, ConfigError> {
    let Some(key) = s
        .raw("KAKAO_REST_API_KEY")
        .or_else(|| s.raw("KAKAO_CLIENT_ID"))
    else {
        return Ok(None);
    };
    let base_url = http_url(s, "KAKAO_LOCAL_API_URL", "https://dapi.kakao.com")?;
    Ok(Some(GeocodeConfig {
        api_key: SecretString::from(key),
        base_url,
        timeout: s.duration_or("KAKAO_TIMEOUT", Duration::from_secs(5))?,
    }))
}

fn photo_config(s: &Settings<'_>) -> Result<Option<PhotoConfig>, ConfigError> {
    let Some(bucket) = s.raw("PHOTO_BUCKET") else {
        return Ok(None);
    };
    // S3's bucket naming rules, so the name can go into a host name and a path as is.
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(ConfigError::new(
            "PHOTO_BUCKET",
            "must be an S3 bucket name (3-63 characters: a-z, 0-9, '-', '.')",
        ));
    }
    let region = s
        .raw("PHOTO_REGION")
        .or_else(|| s.raw("AWS_REGION"))
        .or_else(|| s.raw("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            ConfigError::new(
                "PHOTO_REGION",
                "is required with PHOTO_BUCKET (or AWS_REGION)",
            )
        })?;
    let endpoint = match s.raw("PHOTO_S3_ENDPOINT") {
        None => None,
        Some(_) => Some(http_url(s, "PHOTO_S3_ENDPOINT", "")?),
    };
    let default_base = match &endpoint {
        Some(e) => format!("{}/{bucket}/", e.as_str().trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
    };
    let public_base_url = match s.raw("PHOTO_PUBLIC_BASE_URL") {
        None => default_base,
        Some(_) => {
            let url = http_url(s, "PHOTO_PUBLIC_BASE_URL", "")?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(ConfigError::new(
                    "PHOTO_PUBLIC_BASE_URL",
                    "must be a URL prefix without ?query or #fragment",
                ));
            }
            format!("{}/", url.as_str().trim_end_matches('/'))
        }
    };
    let credentials = aws_credential_source(s).map_err(|e| {
        ConfigError::new(
            &e.var,
            "PHOTO_BUCKET needs AWS credentials to sign uploads: run as an ECS task with a \
             task role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    })?;
    Ok(Some(PhotoConfig {
        bucket,
        region,
        endpoint,
        public_base_url,
        credentials,
    }))
}

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

impl Config {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let bank_key = parse_key(
            "BANK_ENCRYPTION_KEY",
            &s.required_string("BANK_ENCRYPTION_KEY")?,
        )?;
        let kakao = match s.raw("KAKAO_CLIENT_ID") {
            None => None,
            Some(client_id) => Some(KakaoConfig {
                client_id,
                client_secret: s.raw("KAKAO_CLIENT_SECRET").map(SecretString::from),
                redirect_uri: url(&s, "KAKAO_REDIRECT_URI", None)?,
                authorize_url: url(
                    &s,
                    "KAKAO_AUTHORIZE_URL",
                    Some("https://kauth.kakao.com/oauth/authorize"),
                )?,
                token_url: url(
                    &s,
                    "KAKAO_TOKEN_URL",
                    Some("https://kauth.kakao.com/oauth/token"),
                )?,
                profile_url: url(
                    &s,
                    "KAKAO_PROFILE_URL",
                    Some("https://kapi.kakao.com/v2/user/me"),
                )?,
                timeout: s.duration_or("KAKAO_TIMEOUT", Duration::from_secs(5))?,
                success_redirect: s.string_or("KAKAO_SUCCESS_REDIRECT", "/"),
            }),
        };
        let return_webhook = match s.raw("RETURN_WEBHOOK_URL") {
            None => None,
            Some(raw) => {
                let parsed = Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"));
                if parsed.is_none() {
                    // The value is a secret: never echoed back.
                    return Err(ConfigError::new(
                        "RETURN_WEBHOOK_URL",
                        "must be an http(s) URL",
                    ));
                }
                Some(crate::notify::WebhookConfig {
                    url: SecretString::from(raw),
                    timeout: s.duration_or("RETURN_WEBHOOK_TIMEOUT", Duration::from_secs(5))?,
                })
            }
        };
        let config = Self {
            return_webhook,
            listen_addr: s.parse_or("WAS_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            admin_addr: match s.raw("WAS_ADMIN_ADDR") {
                Some(v) if v.eq_ignore_ascii_case("off") => None,
                _ => Some(s.parse_or("WAS_ADMIN_ADDR", SocketAddr::from(([127, 0, 0, 1], 9101)))?),
            },
            instance_id: s.raw("WAS_INSTANCE_ID").unwrap_or_else(default_instance_id),
            database: DatabaseConfig::from_source(source)?,
            redis_url: SecretString::from(s.required_string("REDIS_URL")?),
            redis_password: s.raw("REDIS_PASSWORD").map(SecretString::from),
            redis_ca_file: s.raw("REDIS_CA_FILE").map(std::path::PathBuf::from),
            redis_pool_size: s.parse_or("REDIS_POOL_SIZE", 4)?,
            redis_timeout: s.duration_or("REDIS_TIMEOUT", Duration::from_secs(1))?,
            session_idle_timeout: s
                .duration_or("SESSION_IDLE_TIMEOUT", Duration::from_secs(30 * 60))?,
            session_absolute_timeout: s
                .duration_or("SESSION_ABSOLUTE_TIMEOUT", Duration::from_secs(24 * 3600))?,
            renter_session_idle_timeout: s.duration_or(
                "RENTER_SESSION_IDLE_TIMEOUT",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            renter_session_absolute_timeout: s.duration_or(
                "RENTER_SESSION_ABSOLUTE_TIMEOUT",
                Duration::from_secs(180 * 24 * 3600),
            )?,
            support: Support {
                kakao_url: match s.raw("SUPPORT_KAKAO_URL") {
                    Some(url) if url.starts_with("https://") => Some(url),
                    Some(_) => {
                        return Err(ConfigError::new(
                            "SUPPORT_KAKAO_URL",
                            "must be an https:// link (a KakaoTalk channel's chat link)",
                        ));
                    }
                    None => None,
                },
                phone: s.raw("SUPPORT_PHONE"),
                email: s.raw("SUPPORT_EMAIL"),
            },
            session_cookie_name: s.string_or("SESSION_COOKIE_NAME", "upbrella_sid"),
            session_cookie_secure: s.bool_or("SESSION_COOKIE_SECURE", false)?,
            bank_key: BankKey(bank_key),
            qr_key: BankKey(match s.raw("QR_SIGNING_KEY") {
                Some(text) => parse_key("QR_SIGNING_KEY", &text)?,
                None => crate::domain::codes::derive_key(&bank_key),
            }),
            legacy_codes: legacy_codes(&s)?,
            kakao_map_key: s.raw("KAKAO_MAP_KEY"),
            public_url: match s.raw("PUBLIC_URL") {
                None => None,
                Some(raw) => Some(
                    Url::parse(&raw)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .map(|u| u.origin().ascii_serialization())
                        .ok_or_else(|| {
                            ConfigError::new("PUBLIC_URL", "must be an http(s) origin")
                        })?,
                ),
            },
            allowed_origins: s
                .raw("ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            kakao,
            geocode: geocode_config(&s)?,
            photos: photo_config(&s)?,
            proxy_secret: s.raw("WAS_PROXY_SECRET").map(SecretString::from),
            proxy_secret_rotating: s.raw("WAS_PROXY_SECRET_ROTATING").map(SecretString::from),
            release: s.string_or("UPBRELLA_RELEASE", "dev"),
            proxy_secret_header: HeaderName::try_from(
                s.string_or("WAS_PROXY_SECRET_HEADER", "x-upbrella-proxy-secret")
                    .to_ascii_lowercase(),
            )
            .map_err(|e| ConfigError::new("WAS_PROXY_SECRET_HEADER", e))?,
            password_hashing: hashing_limits(&s)?,
            server_keys: ServerKeys {
                current: parse_key("SERVER_HMAC_KEY", &s.required_string("SERVER_HMAC_KEY")?)?,
                previous: match s.raw("SERVER_HMAC_KEY_PREVIOUS") {
                    Some(text) => Some(parse_key("SERVER_HMAC_KEY_PREVIOUS", &text)?),
                    None => None,
                },
            },
            mail: mail_config(&s)?,
            email_verify_ttl: s.duration_or("EMAIL_VERIFY_TTL", Duration::from_secs(48 * 3600))?,
            password_reset_ttl: s
                .duration_or("PASSWORD_RESET_TTL", Duration::from_secs(30 * 60))?,
            reauth_window: s.duration_or("REAUTH_WINDOW", Duration::from_secs(10 * 60))?,
            rate_limits: RateLimits {
                login_failures: rate(&s, "RATE_LIMIT_LOGIN_FAILURES", "10/15m")?,
                login_failures_per_account: rate(
                    &s,
                    "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT",
                    "100/1h",
                )?,
                login_per_address: rate(&s, "RATE_LIMIT_LOGIN_PER_ADDRESS", "600/10m")?,
                login_burst_per_address: rate(&s, "RATE_LIMIT_LOGIN_BURST_PER_ADDRESS", "30/1m")?,
                mail_per_account: rate(&s, "RATE_LIMIT_MAIL_PER_ACCOUNT", "5/1h")?,
                mail_per_address: rate(&s, "RATE_LIMIT_MAIL_PER_ADDRESS", "30/1h")?,
                signup_per_address: rate(&s, "RATE_LIMIT_SIGNUP_PER_ADDRESS", "100/1h")?,
                kakao_per_address: rate(&s, "RATE_LIMIT_KAKAO_PER_ADDRESS", "300/10m")?,
                locker_per_user: rate(&s, "RATE_LIMIT_LOCKER_PER_USER", "10/1h")?,
                rental_per_user: rate(&s, "RATE_LIMIT_RENTAL_PER_USER", "20/1h")?,
                rental_per_address: rate(&s, "RATE_LIMIT_RENTAL_PER_ADDRESS", "120/1h")?,
            },
            idempotency_ttl: s.duration_or("IDEMPOTENCY_TTL", Duration::from_secs(24 * 3600))?,
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
        if !matches!(config.mail.transport, MailTransport::Off) && config.public_url.is_none() {
            return Err(ConfigError::new(
                "PUBLIC_URL",
                "is required to send mail (the links in it point there)",
            ));
        }
        if config.proxy_secret_rotating.is_some() && config.proxy_secret.is_none() {
            return Err(ConfigError::new(
                "WAS_PROXY_SECRET_ROTATING",
                "needs WAS_PROXY_SECRET (it is the second secret accepted during a rotation)",
            ));
        }
        if config.redis_ca_file.is_some()
            && !config.redis_url.expose_secret().starts_with("rediss://")
        {
            return Err(ConfigError::new(
                "REDIS_CA_FILE",
                "applies to TLS only: REDIS_URL must start with rediss://",
            ));
        }
        if config.redis_pool_size == 0 {
            return Err(ConfigError::new("REDIS_POOL_SIZE", "must be at least 1"));
        }
        if config.session_absolute_timeout < config.session_idle_timeout {
            return Err(ConfigError::new(
                "SESSION_ABSOLUTE_TIMEOUT",
                "must not be shorter than SESSION_IDLE_TIMEOUT",
            ));
        }
        if config.renter_session_absolute_timeout < config.renter_session_idle_timeout {
            return Err(ConfigError::new(
                "RENTER_SESSION_ABSOLUTE_TIMEOUT",
                "must not be shorter than RENTER_SESSION_IDLE_TIMEOUT",
            ));
        }
        if config.session_idle_timeout < Duration::from_secs(1) {
            return Err(ConfigError::new(
                "SESSION_IDLE_TIMEOUT",
                "must be at least 1s",
            ));
        }
        Ok(config)
    }
}

/// How renters reach the operators; any may be missing.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Support {
    /// A KakaoTalk channel's chat link.
    pub kakao_url: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Config {
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

/// The role `was migrate` provisions for the WAS (`WAS_APP_ROLE`).
#[derive(Clone, Debug)]
pub struct AppRole {
    pub name: String,
    pub login: AppRoleLogin,
}

#[derive(Clone, Debug)]
pub enum AppRoleLogin {
    /// `WAS_APP_ROLE_PASSWORD`: set as the role's password on every run, so changing
    /// the secret and running `was migrate` rotates it.
    Password(SecretString),
    /// RDS IAM authentication: the role gets `rds_iam` and has no password at all.
    RdsIam,
}

fn database_auth(s: &Settings<'_>) -> Result<DatabaseAuth, ConfigError> {
    let file = s.raw("DATABASE_PASSWORD_FILE");
    match s.string_or("DATABASE_AUTH", "password").as_str() {
        "password" => Ok(file.map_or(DatabaseAuth::Static, |f| {
            DatabaseAuth::PasswordFile(f.into())
        })),
        "rds-iam" => {
            if file.is_some() {
                return Err(ConfigError::new(
                    "DATABASE_PASSWORD_FILE",
                    "cannot be used with DATABASE_AUTH=rds-iam",
                ));
            }
            let region = s
                .raw("AWS_REGION")
                .or_else(|| s.raw("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    ConfigError::new("AWS_REGION", "is required with DATABASE_AUTH=rds-iam")
                })?;
            Ok(DatabaseAuth::RdsIam {
                region,
                credentials: aws_credential_source(s)?,
            })
        }
        other => Err(ConfigError::new(
            "DATABASE_AUTH",
            format!("must be password or rds-iam, not {other:?}"),
        )),
    }
}

/// The AWS SDKs' order: keys in the environment, then the container credentials
/// endpoint that ECS provides for the task role.
fn aws_credential_source(s: &Settings<'_>) -> Result<AwsCredentialSource, ConfigError> {
    if let Some(access_key_id) = s.raw("AWS_ACCESS_KEY_ID") {
        let secret = s.raw("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            ConfigError::new(
                "AWS_SECRET_ACCESS_KEY",
                "is required with AWS_ACCESS_KEY_ID",
            )
        })?;
        return Ok(AwsCredentialSource::Static(AwsCredentials {
            access_key_id,
            secret_access_key: SecretString::from(secret),
            session_token: s.raw("AWS_SESSION_TOKEN").map(SecretString::from),
            expires: None,
        }));
    }
    if let Some(relative) = s.raw("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(AwsCredentialSource::Endpoint {
            url: format!("http://169.254.170.2{relative}"),
            authorization: None,
        });
    }
    if let Some(full) = s.raw("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        Url::parse(&full).map_err(|e| {
            ConfigError::new(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("invalid URL: {e}"),
            )
        })?;
        return Ok(AwsCredentialSource::Endpoint {
            url: full,
            authorization: s
                .raw("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(SecretString::from),
        });
    }
    Err(ConfigError::new(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "DATABASE_AUTH=rds-iam needs AWS credentials: run as an ECS task with a task role, \
         or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ))
}

fn app_role(s: &Settings<'_>) -> Result<Option<AppRole>, ConfigError> {
    let Some(name) = s.raw("WAS_APP_ROLE") else {
        return Ok(None);
    };
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ConfigError::new(
            "WAS_APP_ROLE",
            "must be a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)",
        ));
    }
    let login = match s.string_or("WAS_APP_ROLE_AUTH", "password").as_str() {
        "password" => AppRoleLogin::Password(SecretString::from(
            s.required_string("WAS_APP_ROLE_PASSWORD")?,
        )),
        "rds-iam" => AppRoleLogin::RdsIam,
        other => {
            return Err(ConfigError::new(
                "WAS_APP_ROLE_AUTH",
                format!("must be password or rds-iam, not {other:?}"),
            ));
        }
    };
    Ok(Some(AppRole { name, login }))
}

/// The server's own keys for hashes it keeps (`SERVER_HMAC_KEY`, and the one before a
/// rotation).
#[derive(Clone)]
pub struct ServerKeys {
    pub current: [u8; 32],
    pub previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(..)")
    }
}

/// How mail leaves the service (`MAIL_TRANSPORT`).
#[derive(Clone, Debug)]
pub enum MailTransport {
    /// Mails are logged (without their links) and not sent.
    Off,
    Smtp {
        url: SecretString,
    },
    /// SES v2 `SendEmail`, signed with the task role's credentials.
    Ses {
        region: String,
        endpoint: Url,
        credentials: AwsCredentialSource,
    },
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    pub queue: usize,
}

fn mail_config(s: &Settings<'_>) -> Result<MailConfig, ConfigError> {
    let transport = match s.string_or("MAIL_TRANSPORT", "off").as_str() {
        "off" => MailTransport::Off,
        "smtp" => {
            let url = s.required_string("SMTP_URL")?;
            let parsed = Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some());
            if parsed.is_none() {
                // May carry a password: never echoed back.
                return Err(ConfigError::new(
                    "SMTP_URL",
                    "must be smtp://host:port or smtps://user:pass@host:port",
                ));
            }
            MailTransport::Smtp {
                url: SecretString::from(url),
            }
        }
        "ses" => {
            let region = s
                .raw("SES_REGION")
                .or_else(|| s.raw("AWS_REGION"))
                .or_else(|| s.raw("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    ConfigError::new(
                        "SES_REGION",
                        "is required with MAIL_TRANSPORT=ses (or AWS_REGION)",
                    )
                })?;
            let endpoint = url(
                s,
                "SES_ENDPOINT",
                Some(&format!("https://email.{region}.amazonaws.com")),
            )?;
            MailTransport::Ses {
                region,
                endpoint,
                credentials: aws_credential_source(s)?,
            }
        }
        other => {
            return Err(ConfigError::new(
                "MAIL_TRANSPORT",
                format!("must be smtp, ses or off, not {other:?}"),
            ));
        }
    };
    let from = match (&transport, s.raw("MAIL_FROM")) {
        (_, Some(from)) => {
            if !from.contains('@') || from.contains(['\r', '\n']) {
                return Err(ConfigError::new(
                    "MAIL_FROM",
                    "must be an address, e.g. 우산대여 <no-reply@example.com>",
                ));
            }
            from
        }
        (MailTransport::Off, None) => "upbrella <no-reply@localhost>".to_owned(),
        (_, None) => return Err(ConfigError::new("MAIL_FROM", "is required to send mail")),
    };
    let queue = s.parse_or("MAIL_QUEUE", 1000)?;
    if queue == 0 {
        return Err(ConfigError::new("MAIL_QUEUE", "must be at least 1"));
    }
    Ok(MailConfig {
        transport,
        from,
        queue,
    })
}

fn rate(s: &Settings<'_>, var: &str, default: &str) -> Result<Option<Rate>, ConfigError> {
    Rate::parse(&s.string_or(var, default)).map_err(|e| ConfigError::new(var, e))
}

/// Defaults sized to the machine: one hash per core, and no more at once than a quarter
/// of the container's memory limit (cgroup v2 `memory.max`) can hold at 19 MiB each.
fn hashing_limits(s: &Settings<'_>) -> Result<HashingLimits, ConfigError> {
    const HASH_BYTES: u64 = 19 * 1024 * 1024;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let by_memory = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|m| m.trim().parse::<u64>().ok())
        .map_or(usize::MAX, |limit| {
            usize::try_from(limit / 4 / HASH_BYTES).unwrap_or(usize::MAX)
        });
    let default = cores.min(by_memory).max(1);
    let concurrency = s.parse_or("PASSWORD_HASH_CONCURRENCY", default)?;
    if concurrency == 0 {
        return Err(ConfigError::new(
            "PASSWORD_HASH_CONCURRENCY",
            "must be at least 1",
        ));
    }
    let queue = s.parse_or("PASSWORD_HASH_QUEUE", concurrency * 8)?;
    Ok(HashingLimits { concurrency, queue })
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

/// The bank-account key: 32 bytes, as 64 hex digits or standard base64.
fn parse_key(var: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| ConfigError::new(var, e))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| ConfigError::new(var, "expected 32 bytes as 64 hex digits or base64"))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| ConfigError::new(var, format!("expected 32 bytes, got {}", b.len())))
}

fn default_instance_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("was-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Configurations that between them take every branch that reads a variable.
    fn every_branch() -> Vec<HashMap<&'static str, &'static str>> {
        let mut kakao = base();
        kakao.extend([
            ("KAKAO_CLIENT_ID", "id"),
            (
                "KAKAO_REDIRECT_URI",
                "https://example.test/api/auth/kakao/callback",
            ),
            ("RETURN_WEBHOOK_URL", "http://127.0.0.1:1/hook"),
            (
                "QR_SIGNING_KEY",
                "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
            ),
            ("QR_LEGACY_CODES", "accept"),
            ("QR_LEGACY_UNTIL", "2026-12-31"),
            ("PUBLIC_URL", "https://upbrella.example"),
        ]);
        let mut iam_static = base();
        iam_static.extend([
            ("DATABASE_AUTH", "rds-iam"),
            ("AWS_REGION", "ap-northeast-2"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]);
        let mut iam_full = base();
        iam_full.extend([
            ("DATABASE_AUTH", "rds-iam"),
            ("AWS_DEFAULT_REGION", "ap-northeast-2"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:1/creds",
            ),
        ]);
        let mut file_role = base();
        file_role.extend([
            ("DATABASE_PASSWORD_FILE", "/run/secrets/db"),
            ("WAS_APP_ROLE", "upbrella_app"),
            ("WAS_APP_ROLE_PASSWORD", "pw"),
        ]);
        let mut pg = base();
        pg.remove("DATABASE_URL");
        pg.insert("PGHOST", "db.internal");
        let mut smtp = base();
        smtp.extend([
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", "smtp://127.0.0.1:1025"),
            ("PUBLIC_URL", "https://upbrella.example"),
            ("MAIL_FROM", "우산대여 <no-reply@example.com>"),
            ("MAIL_QUEUE", "10"),
            (
                "SERVER_HMAC_KEY_PREVIOUS",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
            ("EMAIL_VERIFY_TTL", "1h"),
            ("PASSWORD_RESET_TTL", "10m"),
            ("REAUTH_WINDOW", "5m"),
        ]);
        let mut ses = base();
        ses.extend([
            ("MAIL_TRANSPORT", "ses"),
            ("MAIL_FROM", "no-reply@example.com"),
            ("PUBLIC_URL", "https://upbrella.example"),
            ("SES_REGION", "ap-northeast-2"),
            ("SES_ENDPOINT", "http://127.0.0.1:5000"),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/x",
            ),
        ]);
        let mut photos = base();
        photos.extend([
            ("PHOTO_BUCKET", "upbrella-photos"),
            ("PHOTO_REGION", "ap-northeast-2"),
            ("PHOTO_S3_ENDPOINT", "http://127.0.0.1:5000"),
            ("PHOTO_PUBLIC_BASE_URL", "https://photos.example"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("KAKAO_REST_API_KEY", "rest-key"),
            ("KAKAO_LOCAL_API_URL", "http://127.0.0.1:1"),
        ]);
        vec![
            base(),
            photos,
            kakao,
            iam_static,
            iam_full,
            file_role,
            pg,
            smtp,
            ses,
        ]
    }

    #[test]
    fn the_configuration_reads_only_variables_its_table_lists() {
        let mut asked = std::collections::BTreeSet::new();
        for env in every_branch() {
            let recording = shared::config::Recording::new(&env);
            Config::from_source(&recording).expect("valid configuration");
            DatabaseConfig::from_source(&recording).expect("valid database configuration");
            asked.extend(recording.asked());
        }
        let (unlisted, unread) = shared::config::against_table(&asked, VARS);
        assert!(unlisted.is_empty(), "read but not in VARS: {unlisted:?}");
        // The rest are read by `was admin create`, the allocator and the logging setup.
        assert_eq!(
            unread,
            [
                "WAS_ADMIN_PASSWORD",
                "MIMALLOC_PURGE_DELAY",
                "LOG_FORMAT",
                "RUST_LOG"
            ]
        );
    }

    #[test]
    fn readme_documents_exactly_the_variables_of_the_table() {
        let readme = include_str!("../../README.md");
        assert_eq!(
            shared::config::readme_documents(readme, "### WAS configuration", VARS),
            Ok(())
        );
    }

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("DATABASE_URL", "postgres://localhost/upbrella"),
            ("REDIS_URL", "redis://localhost:6379"),
            (
                "BANK_ENCRYPTION_KEY",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            ),
            (
                "SERVER_HMAC_KEY",
                "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
            ),
        ])
    }

    #[test]
    fn qr_settings_are_checked() {
        let c = Config::from_source(&base()).expect("valid config");
        assert_eq!(
            c.legacy_codes,
            LegacyCodes::Refuse,
            "a new deployment refuses code-less rents and returns"
        );
        assert_ne!(
            c.qr_key.0, c.bank_key.0,
            "the QR key is derived, not the bank key"
        );
        for (var, value) in [
            ("QR_LEGACY_CODES", "maybe"),
            ("PUBLIC_URL", "upbrella.example"),
            ("PUBLIC_URL", "ftp://upbrella.example"),
            ("QR_SIGNING_KEY", "short"),
        ] {
            let mut env = base();
            env.insert(var, value);
            let err = Config::from_source(&env).expect_err(value);
            assert_eq!(err.var, var);
        }
        // Accepting the original stickers needs an end date, which is checked.
        let mut env = base();
        env.insert("QR_LEGACY_CODES", "accept");
        assert_eq!(
            Config::from_source(&env).unwrap_err().var,
            "QR_LEGACY_UNTIL"
        );
        env.insert("QR_LEGACY_UNTIL", "2026-13-01");
        assert_eq!(
            Config::from_source(&env).unwrap_err().var,
            "QR_LEGACY_UNTIL"
        );
        env.insert("QR_LEGACY_UNTIL", "2026-12-31");
        let mode = Config::from_source(&env)
            .expect("valid config")
            .legacy_codes;
        // The last day counts in Korea: 2026-12-31 23:59 KST is 14:59 UTC.
        let at = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        };
        assert!(mode.accepted_at(at("2026-12-31T14:59:00Z")));
        assert!(!mode.accepted_at(at("2026-12-31T15:00:00Z")));
        assert!(!LegacyCodes::Refuse.accepted_at(at("2000-01-01T00:00:00Z")));

        let mut env = base();
        env.insert("PUBLIC_URL", "https://Upbrella.example/ignored/path");
        let c = Config::from_source(&env).expect("valid config");
        assert_eq!(c.public_url.as_deref(), Some("https://upbrella.example"));
    }

    #[test]
    fn the_admin_listener_is_on_loopback_unless_moved_or_turned_off() {
        let c = Config::from_source(&base()).expect("valid config");
        assert_eq!(c.admin_addr, Some(SocketAddr::from(([127, 0, 0, 1], 9101))));
        for (value, expected) in [
            ("off", None),
            ("OFF", None),
            ("0.0.0.0:9200", Some(SocketAddr::from(([0, 0, 0, 0], 9200)))),
        ] {
            let mut env = base();
            env.insert("WAS_ADMIN_ADDR", value);
            let c = Config::from_source(&env).expect(value);
            assert_eq!(c.admin_addr, expected, "{value}");
        }
        let mut env = base();
        env.insert("WAS_ADMIN_ADDR", "loopback");
        let err = Config::from_source(&env).expect_err("not an address");
        assert_eq!(err.var, "WAS_ADMIN_ADDR");
    }

    #[test]
    fn minimal_environment_gives_local_defaults() {
        let c = Config::from_source(&base()).expect("valid config");
        assert_eq!(c.listen_addr.port(), 8080);
        assert_eq!(c.session_idle_timeout, Duration::from_secs(1800));
        assert!(!c.session_cookie_secure);
        assert!(c.kakao.is_none());
        assert_eq!(c.bank_key.0[31], 0x1f);
        assert_eq!(c.session_cookie(), "upbrella_sid");
        assert!(c.proxy_secret.is_none());
        assert!(c.password_hashing.concurrency >= 1);
    }

    #[test]
    fn missing_database_url_is_named() {
        let mut env = base();
        env.remove("DATABASE_URL");
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn pg_variables_can_replace_database_url() {
        let mut env = base();
        env.remove("DATABASE_URL");
        env.insert("PGHOST", "db.internal");
        let c = Config::from_source(&env).expect("valid");
        assert!(c.database.url.is_none());
    }

    #[test]
    fn migrate_needs_only_the_database_settings() {
        let env = HashMap::from([
            ("PGHOST", "db.internal"),
            ("WAS_APP_ROLE", "upbrella_app"),
            ("WAS_APP_ROLE_AUTH", "rds-iam"),
        ]);
        let c = DatabaseConfig::from_source(&env).expect("no Redis or bank key needed");
        let role = c.app_role.expect("role");
        assert_eq!(role.name, "upbrella_app");
        assert!(matches!(role.login, AppRoleLogin::RdsIam));
        assert!(matches!(c.auth, DatabaseAuth::Static));
    }

    #[test]
    fn a_rotating_proxy_secret_and_a_redis_ca_need_what_they_go_with() {
        for (settings, var) in [
            (
                &[("WAS_PROXY_SECRET_ROTATING", "next")][..],
                "WAS_PROXY_SECRET_ROTATING",
            ),
            (&[("REDIS_CA_FILE", "/etc/ca.pem")][..], "REDIS_CA_FILE"),
        ] {
            let mut env = base();
            env.extend(settings.iter().copied());
            let err = Config::from_source(&env).unwrap_err();
            assert_eq!(err.var, var, "{settings:?}: {err}");
        }
        let mut env = base();
        env.extend([
            ("WAS_PROXY_SECRET", "current"),
            ("WAS_PROXY_SECRET_ROTATING", "next"),
            ("REDIS_URL", "rediss://redis.example:6379"),
            ("REDIS_CA_FILE", "/etc/ca.pem"),
        ]);
        let c = Config::from_source(&env).expect("valid together");
        assert!(c.proxy_secret_rotating.is_some());
        assert_eq!(
            c.redis_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(c.release, "dev");
    }

    #[test]
    fn database_auth_settings_are_checked() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("WAS_APP_ROLE", "app; DROP TABLE users")], "WAS_APP_ROLE"),
            (&[("WAS_APP_ROLE", "Upbrella")], "WAS_APP_ROLE"),
            (&[("WAS_APP_ROLE", "upbrella_app")], "WAS_APP_ROLE_PASSWORD"),
            (&[("DATABASE_AUTH", "kerberos")], "DATABASE_AUTH"),
            (&[("DATABASE_AUTH", "rds-iam")], "AWS_REGION"),
            (
                &[
                    ("DATABASE_AUTH", "rds-iam"),
                    ("AWS_REGION", "ap-northeast-2"),
                    ("DATABASE_PASSWORD_FILE", "/run/pw"),
                ],
                "DATABASE_PASSWORD_FILE",
            ),
        ];
        for (settings, var) in cases {
            let mut env = base();
            env.extend(settings.iter().copied());
            let err = Config::from_source(&env).unwrap_err();
            assert_eq!(err.var, var, "{settings:?}: {err}");
        }
    }

    #[test]
    fn rds_iam_takes_the_ecs_task_role_endpoint() {
        let mut env = base();
        env.extend([
            ("DATABASE_AUTH", "rds-iam"),
            ("AWS_REGION", "ap-northeast-2"),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/abc",
            ),
        ]);
        let c = Config::from_source(&env).expect("valid");
        let DatabaseAuth::RdsIam {
            region,
            credentials,
        } = c.database.auth
        else {
            panic!("not rds-iam");
        };
        assert_eq!(region, "ap-northeast-2");
        assert!(
            matches!(credentials, AwsCredentialSource::Endpoint { ref url, .. } if url == "http://169.254.170.2/v2/credentials/abc")
        );
        env.remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        let err = Config::from_source(&env).unwrap_err();
        assert!(err.problem.contains("task role"), "{err}");
    }

    #[test]
    fn short_key_is_rejected_with_its_length() {
        let mut env = base();
        env.insert("BANK_ENCRYPTION_KEY", "c2hvcnQ=");
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, "BANK_ENCRYPTION_KEY");
        assert!(err.problem.contains("got 5"), "{}", err.problem);
    }

    #[test]
    fn kakao_needs_a_redirect_uri() {
        let mut env = base();
        env.insert("KAKAO_CLIENT_ID", "abc");
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, "KAKAO_REDIRECT_URI");
        env.insert(
            "KAKAO_REDIRECT_URI",
            "http://localhost:8080/api/auth/kakao/callback",
        );
        let c = Config::from_source(&env).expect("valid");
        let k = c.kakao.expect("kakao on");
        assert_eq!(k.token_url.as_str(), "https://kauth.kakao.com/oauth/token");
    }

    #[test]
    fn allowed_origins_are_normalised() {
        let mut env = base();
        env.insert(
            "ALLOWED_ORIGINS",
            "https://Upbrella.example/, http://localhost:8000",
        );
        let c = Config::from_source(&env).expect("valid");
        assert_eq!(
            c.allowed_origins,
            vec!["https://upbrella.example", "http://localhost:8000"]
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut env = base();
        env.insert("DATABASE_URL", "postgres://was:pg-pass-123@db/upbrella");
        env.insert("REDIS_PASSWORD", "redis-pass-456");
        env.insert("WAS_PROXY_SECRET", "proxy-secret-789");
        env.insert("KAKAO_CLIENT_ID", "abc");
        env.insert("KAKAO_CLIENT_SECRET", "kakao-secret-000");
        env.insert("KAKAO_REDIRECT_URI", "http://localhost/cb");
        let text = format!("{:?}", Config::from_source(&env).expect("valid"));
        for secret in [
            "pg-pass-123",
            "redis-pass-456",
            "proxy-secret-789",
            "kakao-secret-000",
            "30, 31",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("REDACTED"), "{text}");
    }

    #[test]
    fn a_secure_cookie_gets_the_host_prefix() {
        let mut env = base();
        env.insert("SESSION_COOKIE_SECURE", "true");
        let c = Config::from_source(&env).expect("valid");
        assert_eq!(c.session_cookie(), "__Host-upbrella_sid");
    }

    #[test]
    fn mail_settings_are_checked_and_name_their_variable() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (
                &[
                    ("MAIL_TRANSPORT", "smtp"),
                    ("SMTP_URL", "smtp://mail:25"),
                    ("MAIL_FROM", "a@b.c"),
                ],
                "PUBLIC_URL",
            ),
            (&[("MAIL_TRANSPORT", "sendmail")], "MAIL_TRANSPORT"),
            (&[("MAIL_TRANSPORT", "smtp")], "SMTP_URL"),
            (
                &[("MAIL_TRANSPORT", "smtp"), ("SMTP_URL", "http://mail:25")],
                "SMTP_URL",
            ),
            (
                &[
                    ("MAIL_TRANSPORT", "smtp"),
                    ("SMTP_URL", "smtp://mail:25"),
                    ("PUBLIC_URL", "https://u.example"),
                ],
                "MAIL_FROM",
            ),
            (
                &[
                    ("MAIL_TRANSPORT", "smtp"),
                    ("SMTP_URL", "smtp://mail:25"),
                    ("MAIL_FROM", "no address here"),
                ],
                "MAIL_FROM",
            ),
            (
                &[("MAIL_TRANSPORT", "ses"), ("MAIL_FROM", "a@b.c")],
                "SES_REGION",
            ),
            (&[("SERVER_HMAC_KEY", "short")], "SERVER_HMAC_KEY"),
        ];
        for (set, var) in cases {
            let mut env = base();
            env.extend(set.iter().copied());
            let err = Config::from_source(&env).unwrap_err();
            assert_eq!(err.var, var, "{set:?}");
        }
        let mut env = base();
        env.remove("SERVER_HMAC_KEY");
        assert_eq!(
            Config::from_source(&env).unwrap_err().var,
            "SERVER_HMAC_KEY"
        );
        // A password in the SMTP URL never shows.
        let mut env = base();
        env.extend([
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", "smtps://user:hunter2@mail.example:465"),
            ("MAIL_FROM", "a@example.com"),
            ("PUBLIC_URL", "https://upbrella.example"),
        ]);
        let config = Config::from_source(&env).expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn rates_parse_and_name_their_variable() {
        assert_eq!(
            Rate::parse("10/15m"),
            Ok(Some(Rate {
                count: 10,
                period: Duration::from_secs(900)
            }))
        );
        assert_eq!(Rate::parse("OFF"), Ok(None));
        assert!(Rate::parse("0/1m").is_err());
        assert!(Rate::parse("ten/1m").is_err());
        let mut env = base();
        env.insert("RATE_LIMIT_SIGNUP_PER_ADDRESS", "lots");
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, "RATE_LIMIT_SIGNUP_PER_ADDRESS");
    }

    #[test]
    fn address_search_takes_its_own_key_or_the_logins() {
        assert!(
            Config::from_source(&base())
                .expect("valid")
                .geocode
                .is_none()
        );
        let mut env = base();
        env.extend([
            ("KAKAO_CLIENT_ID", "login-rest-key"),
            ("KAKAO_REDIRECT_URI", "http://localhost/cb"),
        ]);
        let g = Config::from_source(&env)
            .expect("valid")
            .geocode
            .expect("the login's REST key searches addresses too");
        assert_eq!(g.api_key.expose_secret(), "login-rest-key");
        assert_eq!(g.base_url.as_str(), "https://dapi.kakao.com/");
        env.insert("KAKAO_REST_API_KEY", "own-key");
        env.insert("KAKAO_LOCAL_API_URL", "kakao");
        assert_eq!(
            Config::from_source(&env).unwrap_err().var,
            "KAKAO_LOCAL_API_URL"
        );
        env.remove("KAKAO_LOCAL_API_URL");
        let g = Config::from_source(&env)
            .expect("valid")
            .geocode
            .expect("on");
        assert_eq!(g.api_key.expose_secret(), "own-key");
    }

    #[test]
    fn photo_uploads_need_a_valid_bucket_a_region_and_credentials() {
        assert!(
            Config::from_source(&base())
                .expect("valid")
                .photos
                .is_none()
        );
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut env = base();
            env.insert("PHOTO_BUCKET", "upbrella-photos");
            env.extend(extra.iter().copied());
            Config::from_source(&env)
        };
        assert_eq!(with(&[]).unwrap_err().var, "PHOTO_REGION");
        let aws = [
            ("AWS_REGION", "ap-northeast-2"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        let p = with(&aws).expect("valid").photos.expect("on");
        assert_eq!(p.region, "ap-northeast-2");
        assert!(p.endpoint.is_none());
        assert_eq!(
            p.public_base_url,
            "https://upbrella-photos.s3.ap-northeast-2.amazonaws.com/"
        );
        let mut emulator = aws.to_vec();
        emulator.push(("PHOTO_S3_ENDPOINT", "http://127.0.0.1:5000/"));
        let p = with(&emulator).expect("valid").photos.expect("on");
        assert_eq!(p.public_base_url, "http://127.0.0.1:5000/upbrella-photos/");
        let mut cdn = aws.to_vec();
        cdn.push(("PHOTO_PUBLIC_BASE_URL", "https://photos.example/stores"));
        let p = with(&cdn).expect("valid").photos.expect("on");
        assert_eq!(p.public_base_url, "https://photos.example/stores/");
        for (var, value) in [
            ("PHOTO_BUCKET", "Upbrella_Photos"),
            ("PHOTO_S3_ENDPOINT", "s3.local"),
            ("PHOTO_PUBLIC_BASE_URL", "ftp://photos.example"),
            ("PHOTO_PUBLIC_BASE_URL", "https://photos.example/?a=b"),
        ] {
            let mut settings = aws.to_vec();
            settings.push((var, value));
            assert_eq!(with(&settings).unwrap_err().var, var, "{value}");
        }
        let err = with(&[("AWS_REGION", "ap-northeast-2")]).unwrap_err();
        assert!(err.problem.contains("PHOTO_BUCKET"), "{err}");
    }

    #[test]
    fn absolute_lifetime_cannot_be_shorter_than_idle() {
        let mut env = base();
        env.insert("SESSION_ABSOLUTE_TIMEOUT", "10m");
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, "SESSION_ABSOLUTE_TIMEOUT");
    }
}
