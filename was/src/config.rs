//! The WAS configuration: one typed struct, filled from the environment once at start.
//! Every variable is documented in README.md; a missing or malformed one stops the
//! process with a message naming it.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use shared::config::{ConfigError, Settings, Source};
use url::Url;

#[derive(Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub instance_id: String,
    /// `None`: connect with libpq's `PG*` variables (PGHOST, PGUSER, PGPASSWORD, …), as
    /// ECS does with RDS-managed credentials.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    pub database_timeout: Duration,
    pub redis_url: String,
    /// Kept apart from the URL so it can come from a secret (ElastiCache AUTH).
    pub redis_password: Option<String>,
    pub redis_pool_size: usize,
    pub redis_timeout: Duration,
    pub session_idle_timeout: Duration,
    pub session_cookie_name: String,
    pub session_cookie_secure: bool,
    pub bank_key: [u8; 32],
    pub allowed_origins: Vec<String>,
    pub kakao: Option<KakaoConfig>,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
    pub migrate_on_start: bool,
}

#[derive(Clone, Debug)]
pub struct KakaoConfig {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: Url,
    pub authorize_url: Url,
    pub token_url: Url,
    pub profile_url: Url,
    pub timeout: Duration,
    /// Where the browser lands after a successful Kakao login.
    pub success_redirect: String,
}

// The key never appears in logs or panics.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("instance_id", &self.instance_id)
            .field("redis_pool_size", &self.redis_pool_size)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_cookie_secure", &self.session_cookie_secure)
            .field("kakao", &self.kakao.is_some())
            .finish_non_exhaustive()
    }
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
                client_secret: s.raw("KAKAO_CLIENT_SECRET"),
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
        let config = Self {
            listen_addr: s.parse_or("WAS_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            instance_id: s.raw("WAS_INSTANCE_ID").unwrap_or_else(default_instance_id),
            database_url: match (s.raw("DATABASE_URL"), s.raw("PGHOST")) {
                (Some(url), _) => Some(url),
                (None, Some(_)) => None,
                (None, None) => {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "is required but not set (or set PGHOST, PGUSER, PGPASSWORD and PGDATABASE)",
                    ));
                }
            },
            database_max_connections: s.parse_or("DATABASE_MAX_CONNECTIONS", 10)?,
            database_timeout: s.duration_or("DATABASE_TIMEOUT", Duration::from_secs(2))?,
            redis_url: s.required_string("REDIS_URL")?,
            redis_password: s.raw("REDIS_PASSWORD"),
            redis_pool_size: s.parse_or("REDIS_POOL_SIZE", 4)?,
            redis_timeout: s.duration_or("REDIS_TIMEOUT", Duration::from_secs(1))?,
            session_idle_timeout: s
                .duration_or("SESSION_IDLE_TIMEOUT", Duration::from_secs(30 * 60))?,
            session_cookie_name: s.string_or("SESSION_COOKIE_NAME", "upbrella_sid"),
            session_cookie_secure: s.bool_or("SESSION_COOKIE_SECURE", false)?,
            bank_key,
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
            request_timeout: s.duration_or("WAS_REQUEST_TIMEOUT", Duration::from_secs(30))?,
            header_read_timeout: s
                .duration_or("WAS_HEADER_READ_TIMEOUT", Duration::from_secs(10))?,
            idle_timeout: s.duration_or("WAS_IDLE_TIMEOUT", Duration::from_secs(75))?,
            shutdown_grace: s.duration_or("WAS_SHUTDOWN_GRACE", Duration::from_secs(20))?,
            migrate_on_start: s.bool_or("WAS_MIGRATE_ON_START", false)?,
        };
        if config.redis_pool_size == 0 {
            return Err(ConfigError::new("REDIS_POOL_SIZE", "must be at least 1"));
        }
        if config.database_max_connections == 0 {
            return Err(ConfigError::new(
                "DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
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

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("DATABASE_URL", "postgres://localhost/upbrella"),
            ("REDIS_URL", "redis://localhost:6379"),
            (
                "BANK_ENCRYPTION_KEY",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            ),
        ])
    }

    #[test]
    fn minimal_environment_gives_local_defaults() {
        let c = Config::from_source(&base()).expect("valid config");
        assert_eq!(c.listen_addr.port(), 8080);
        assert_eq!(c.session_idle_timeout, Duration::from_secs(1800));
        assert!(!c.session_cookie_secure);
        assert!(c.kakao.is_none());
        assert_eq!(c.bank_key[31], 0x1f);
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
        assert_eq!(c.database_url, None);
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
}
