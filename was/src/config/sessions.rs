//! Sessions and the Redis that keeps them, the session cookie, the origins allowed to
//! change state, and how long the links mailed to an account work.

use shared::config::{Settings, Var};

pub(super) const VARS: &[Var] = &[
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
];

/// `ALLOWED_ORIGINS`: lower case, without a trailing slash.
pub(super) fn allowed_origins(s: &Settings<'_>) -> Vec<String> {
    s.raw("ALLOWED_ORIGINS")
        .map(|v| {
            v.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect()
        })
        .unwrap_or_default()
}
