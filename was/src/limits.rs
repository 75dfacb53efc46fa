//! Rate limits shared by every replica: counted in Redis, so adding replicas does not
//! multiply what an attacker may try, and a restart forgets nothing.
//!
//! Each limit is a generic cell rate (GCRA): per key, Redis keeps one number, the
//! "theoretical arrival time" of the next request. A request is allowed when it is no
//! more than the burst tolerance early; the check and the update are one Lua script, so
//! concurrent requests on different replicas cannot both slip through, and the clock is
//! Redis's own, so replicas with skewed clocks agree. The answer to a refused request says
//! exactly how long to wait.
//!
//! Keys hold a SHA-256 of what they count (an e-mail, an address, a user id), never the
//! value itself, and expire as soon as they would allow a full burst again.

use std::net::IpAddr;
use std::time::Duration;

use fred::interfaces::LuaInterface;
use sha2::{Digest, Sha256};

use crate::config::{Config, Rate, RateLimits};
use crate::error::Error;

/// KEYS[1]: the limit's key. ARGV[1]: emission interval, ARGV[2]: burst tolerance (ms).
/// Returns 0 when allowed, otherwise the milliseconds until the next request would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
";

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    LoginPerAccount,
    LoginPerAddress,
    SignupPerAddress,
    KakaoPerAddress,
    LockerPerUser,
    RentalPerUser,
    RentalPerAddress,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Self::LoginPerAccount => "login-account",
            Self::LoginPerAddress => "login-address",
            Self::SignupPerAddress => "signup-address",
            Self::KakaoPerAddress => "kakao-address",
            Self::LockerPerUser => "locker-user",
            Self::RentalPerUser => "rental-user",
            Self::RentalPerAddress => "rental-address",
        }
    }

    fn rate(self, limits: &RateLimits) -> Option<Rate> {
        match self {
            Self::LoginPerAccount => limits.login_per_account,
            Self::LoginPerAddress => limits.login_per_address,
            Self::SignupPerAddress => limits.signup_per_address,
            Self::KakaoPerAddress => limits.kakao_per_address,
            Self::LockerPerUser => limits.locker_per_user,
            Self::RentalPerUser => limits.rental_per_user,
            Self::RentalPerAddress => limits.rental_per_address,
        }
    }

    /// What the person who hit the limit reads.
    fn message(self) -> &'static str {
        match self {
            Self::LoginPerAccount => {
                "이 계정으로 로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::LoginPerAddress => {
                "이 네트워크에서 로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::SignupPerAddress => {
                "이 네트워크에서 가입 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::KakaoPerAddress => {
                "카카오 로그인 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::LockerPerUser => {
                "보관함 비밀번호 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::RentalPerUser => {
                "대여·반납 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요. (Too many rent or return requests.)"
            }
            Self::RentalPerAddress => {
                "이 네트워크에서 대여·반납 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요. (Too many rent or return requests from this network.)"
            }
        }
    }
}

/// Who is being limited.
pub enum Subject<'a> {
    Account(&'a str),
    Address(IpAddr),
    User(i64),
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: fred::clients::Pool,
    limits: RateLimits,
    timeout: Duration,
}

impl RateLimiter {
    pub fn new(redis: fred::clients::Pool, config: &Config) -> Self {
        Self {
            redis,
            limits: config.rate_limits.clone(),
            timeout: config.redis_timeout + Duration::from_millis(250),
        }
    }

    /// Counts one request against `limit` for `subject`: `Ok` when allowed, 429 with
    /// `Retry-After` when not. Redis being down is a 503 like every session call; the
    /// endpoints limited here need Redis for their session anyway.
    pub async fn check(&self, limit: Limit, subject: Subject<'_>) -> Result<(), Error> {
        let Some(rate) = limit.rate(&self.limits) else {
            return Ok(());
        };
        let interval = (rate.period / rate.count).as_millis().max(1);
        let tolerance = interval * u128::from(rate.count - 1);
        let key = key(limit, &subject);
        let call = self.redis.next().eval::<i64, _, _, _>(
            GCRA,
            key,
            vec![interval.to_string(), tolerance.to_string()],
        );
        let wait_ms = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(wait)) => wait,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limiter unavailable");
                return Err(Error::Unavailable("the session store"));
            }
            Err(_) => {
                tracing::warn!("rate limiter timed out");
                return Err(Error::Unavailable("the session store"));
            }
        };
        if wait_ms <= 0 {
            return Ok(());
        }
        let retry_after = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(u64::MAX));
        tracing::warn!(limit = limit.name(), ?retry_after, "rate limited");
        Err(Error::TooManyRequests {
            reason: crate::error::Reason {
                code: "rate_limited",
                message: limit.message().to_owned(),
            },
            // Round up: a client that waits exactly this long must get through.
            retry_after: retry_after + Duration::from_millis(999),
        })
    }
}

fn key(limit: Limit, subject: &Subject<'_>) -> String {
    let mut digest = Sha256::new();
    match subject {
        Subject::Account(email) => digest.update(email.to_lowercase().as_bytes()),
        Subject::Address(ip) => digest.update(ip.to_string().as_bytes()),
        Subject::User(id) => digest.update(id.to_le_bytes()),
    }
    let hash = digest.finalize();
    format!("upbrella:rl:{}:{}", limit.name(), hex::encode(&hash[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_what_they_count_and_separate_limits() {
        let a = key(Limit::LoginPerAccount, &Subject::Account("Kim@Example.com"));
        let b = key(Limit::LoginPerAccount, &Subject::Account("kim@example.com"));
        assert_eq!(a, b, "e-mails compare case-insensitively");
        assert!(!a.contains("kim"));
        let c = key(
            Limit::SignupPerAddress,
            &Subject::Address([10, 0, 0, 1].into()),
        );
        let d = key(
            Limit::LoginPerAddress,
            &Subject::Address([10, 0, 0, 1].into()),
        );
        assert_ne!(c, d);
    }
}
