//! Limits: password hashing's concurrency and queue, the rate limits, and how long an
//! idempotent answer is kept.

use std::time::Duration;

use shared::config::{ConfigError, Settings, Var};

pub(super) const VARS: &[Var] = &[
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
];

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

pub(super) fn rate_limits(s: &Settings<'_>) -> Result<RateLimits, ConfigError> {
    Ok(RateLimits {
        login_failures: rate(s, "RATE_LIMIT_LOGIN_FAILURES", "10/15m")?,
        login_failures_per_account: rate(s, "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT", "100/1h")?,
        login_per_address: rate(s, "RATE_LIMIT_LOGIN_PER_ADDRESS", "600/10m")?,
        login_burst_per_address: rate(s, "RATE_LIMIT_LOGIN_BURST_PER_ADDRESS", "30/1m")?,
        mail_per_account: rate(s, "RATE_LIMIT_MAIL_PER_ACCOUNT", "5/1h")?,
        mail_per_address: rate(s, "RATE_LIMIT_MAIL_PER_ADDRESS", "30/1h")?,
        signup_per_address: rate(s, "RATE_LIMIT_SIGNUP_PER_ADDRESS", "100/1h")?,
        kakao_per_address: rate(s, "RATE_LIMIT_KAKAO_PER_ADDRESS", "300/10m")?,
        locker_per_user: rate(s, "RATE_LIMIT_LOCKER_PER_USER", "10/1h")?,
        rental_per_user: rate(s, "RATE_LIMIT_RENTAL_PER_USER", "20/1h")?,
        rental_per_address: rate(s, "RATE_LIMIT_RENTAL_PER_ADDRESS", "120/1h")?,
    })
}

fn rate(s: &Settings<'_>, var: &str, default: &str) -> Result<Option<Rate>, ConfigError> {
    Rate::parse(&s.string_or(var, default)).map_err(|e| ConfigError::new(var, e))
}

/// Defaults sized to the machine: one hash per core, and no more at once than a quarter
/// of the container's memory limit (cgroup v2 `memory.max`) can hold at 19 MiB each.
pub(super) fn hashing_limits(s: &Settings<'_>) -> Result<HashingLimits, ConfigError> {
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
