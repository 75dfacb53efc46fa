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
//! Keys hold an HMAC (the server's `SERVER_HMAC_KEY`) of what they count (an e-mail, an
//! address, a user id), never the value itself: a copy of Redis does not tell whose
//! e-mail is being limited, and without the key no one can test a guess against it. They
//! expire as soon as they would allow a full burst again.
//!
//! Login failures are counted apart from attempts (see [`RateLimiter::peek`] and
//! [`RateLimiter::charge`]): a wrong password counts against its (account, address) pair
//! and, with a much higher ceiling, against the account; a correct password from an
//! address with no failures is never refused because of someone else's guesses.

use std::net::IpAddr;
use std::time::Duration;

use fred::interfaces::LuaInterface;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{Config, Rate, RateLimits};
use crate::error::Error;

/// KEYS[1]: the limit's key. ARGV[1]: emission interval, ARGV[2]: burst tolerance (ms),
/// ARGV[3]: `check` (count this request if allowed), `peek` (count nothing) or `charge`
/// (count it whatever the state: a failure that happened).
/// Returns the milliseconds until the next request would be allowed when it is not;
/// otherwise 0, or -1 for `peek` when something is counted already.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local mode = ARGV[3]
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if mode ~= 'charge' and now < allow_at then return allow_at - now end
if mode == 'peek' then
  if tat > now then return -1 end
  return 0
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return 0
";

/// What a [`RateLimiter::peek`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nothing counted.
    Clear,
    /// Something counted, but under the limit.
    Counted,
    /// Over the limit for this long.
    Over(Duration),
}

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Wrong passwords per (account, address).
    LoginFailures,
    /// Wrong passwords per account, from every address.
    LoginFailuresPerAccount,
    LoginPerAddress,
    LoginBurstPerAddress,
    MailPerAccount,
    MailPerAddress,
    SignupPerAddress,
    KakaoPerAddress,
    /// Kakao logins started (each keeps a pre-session in Redis for ten minutes).
    KakaoStartPerAddress,
    LockerPerUser,
    RentalPerUser,
    RentalPerAddress,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Self::LoginFailures => "login-failures",
            Self::LoginFailuresPerAccount => "login-failures-account",
            Self::LoginPerAddress => "login-address",
            Self::LoginBurstPerAddress => "login-burst",
            Self::MailPerAccount => "mail-account",
            Self::MailPerAddress => "mail-address",
            Self::SignupPerAddress => "signup-address",
            Self::KakaoPerAddress => "kakao-address",
            Self::KakaoStartPerAddress => "kakao-start-address",
            Self::LockerPerUser => "locker-user",
            Self::RentalPerUser => "rental-user",
            Self::RentalPerAddress => "rental-address",
        }
    }

    fn rate(self, limits: &RateLimits) -> Option<Rate> {
        match self {
            Self::LoginFailures => limits.login_failures,
            Self::LoginFailuresPerAccount => limits.login_failures_per_account,
            Self::LoginPerAddress => limits.login_per_address,
            Self::LoginBurstPerAddress => limits.login_burst_per_address,
            Self::MailPerAccount => limits.mail_per_account,
            Self::MailPerAddress => limits.mail_per_address,
            Self::SignupPerAddress => limits.signup_per_address,
            Self::KakaoPerAddress | Self::KakaoStartPerAddress => limits.kakao_per_address,
            Self::LockerPerUser => limits.locker_per_user,
            Self::RentalPerUser => limits.rental_per_user,
            Self::RentalPerAddress => limits.rental_per_address,
        }
    }

    /// What the person who hit the limit reads.
    fn message(self) -> &'static str {
        match self {
            Self::LoginFailures | Self::LoginFailuresPerAccount => {
                "잘못된 비밀번호가 여러 번 입력되었습니다. 잠시 후 다시 시도하거나 비밀번호를 재설정해 주세요. (Too many wrong passwords: wait, or reset your password.)"
            }
            Self::LoginPerAddress | Self::LoginBurstPerAddress => {
                "이 네트워크에서 로그인 시도가 너무 많습니다. 잠시 후 다시 시도해 주세요. (Too many logins from this network.)"
            }
            Self::MailPerAccount | Self::MailPerAddress => {
                "메일 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요. (Too many mail requests.)"
            }
            Self::SignupPerAddress => {
                "이 네트워크에서 가입 요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
            }
            Self::KakaoPerAddress | Self::KakaoStartPerAddress => {
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
    /// An account as tried from one address.
    AccountFrom(&'a str, IpAddr),
    User(i64),
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: fred::clients::Pool,
    limits: RateLimits,
    timeout: Duration,
    key: [u8; 32],
}

impl RateLimiter {
    pub fn new(redis: fred::clients::Pool, config: &Config) -> Self {
        Self {
            redis,
            limits: config.rate_limits.clone(),
            timeout: config.redis_timeout + Duration::from_millis(250),
            key: config.server_keys.current,
        }
    }

    /// Whether `subject` is over `limit`, counting nothing.
    pub async fn peek(&self, limit: Limit, subject: Subject<'_>) -> Result<Standing, Error> {
        let Some(wait) = self.run(limit, &subject, "peek").await? else {
            return Ok(Standing::Clear);
        };
        Ok(match wait {
            w if w > 0 => Standing::Over(Duration::from_millis(w.unsigned_abs())),
            0 => Standing::Clear,
            _ => Standing::Counted,
        })
    }

    /// Counts one event (a failure) against `limit`, whether or not it is over.
    pub async fn charge(&self, limit: Limit, subject: Subject<'_>) -> Result<(), Error> {
        self.run(limit, &subject, "charge").await.map(|_| ())
    }

    /// Forgets what `limit` counted for `subject`.
    pub async fn clear(&self, limit: Limit, subject: Subject<'_>) -> Result<(), Error> {
        use fred::interfaces::KeysInterface;
        let key = key(&self.key, limit, &subject);
        let call = self.redis.next().del::<i64, _>(key);
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Error::Unavailable("the session store")),
        }
    }

    /// The refusal for being over `limit`, waiting `wait`.
    pub fn refusal(limit: Limit, wait: Duration) -> Error {
        tracing::warn!(limit = limit.name(), retry_after = ?wait, "rate limited");
        Error::TooManyRequests {
            reason: crate::error::Reason {
                code: "rate_limited",
                message: limit.message().to_owned(),
            },
            // Round up: a client that waits exactly this long must get through.
            retry_after: wait + Duration::from_millis(999),
        }
    }

    /// Runs the script; `None` when the limit is off.
    async fn run(
        &self,
        limit: Limit,
        subject: &Subject<'_>,
        mode: &str,
    ) -> Result<Option<i64>, Error> {
        let Some(rate) = limit.rate(&self.limits) else {
            return Ok(None);
        };
        let interval = (rate.period / rate.count).as_millis().max(1);
        let tolerance = interval * u128::from(rate.count - 1);
        let key = key(&self.key, limit, subject);
        let call = self.redis.next().eval::<i64, _, _, _>(
            GCRA,
            key,
            vec![interval.to_string(), tolerance.to_string(), mode.to_owned()],
        );
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(wait)) => Ok(Some(wait)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limiter unavailable");
                Err(Error::Unavailable("the session store"))
            }
            Err(_) => {
                tracing::warn!("rate limiter timed out");
                Err(Error::Unavailable("the session store"))
            }
        }
    }

    /// Counts one request against `limit` for `subject`: `Ok` when allowed, 429 with
    /// `Retry-After` when not. Redis being down is a 503 like every session call; the
    /// endpoints limited here need Redis for their session anyway.
    pub async fn check(&self, limit: Limit, subject: Subject<'_>) -> Result<(), Error> {
        match self.run(limit, &subject, "check").await? {
            Some(wait) if wait > 0 => Err(Self::refusal(
                limit,
                Duration::from_millis(wait.unsigned_abs()),
            )),
            _ => Ok(()),
        }
    }
}

fn key(server_key: &[u8; 32], limit: Limit, subject: &Subject<'_>) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(server_key).unwrap_or_else(|_| unreachable!());
    mac.update(limit.name().as_bytes());
    mac.update(&[0]);
    match subject {
        Subject::Account(email) => mac.update(email.to_lowercase().as_bytes()),
        Subject::Address(ip) => mac.update(ip.to_string().as_bytes()),
        Subject::AccountFrom(email, ip) => {
            mac.update(email.to_lowercase().as_bytes());
            mac.update(&[0]);
            mac.update(ip.to_string().as_bytes());
        }
        Subject::User(id) => mac.update(&id.to_le_bytes()),
    }
    let hash = mac.finalize().into_bytes();
    format!("upbrella:rl:{}:{}", limit.name(), hex::encode(&hash[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_what_they_count_and_separate_limits() {
        let k = [7u8; 32];
        let a = key(
            &k,
            Limit::LoginFailuresPerAccount,
            &Subject::Account("Kim@Example.com"),
        );
        let b = key(
            &k,
            Limit::LoginFailuresPerAccount,
            &Subject::Account("kim@example.com"),
        );
        assert_eq!(a, b, "e-mails compare case-insensitively");
        assert!(!a.contains("kim"));
        let c = key(
            &k,
            Limit::SignupPerAddress,
            &Subject::Address([10, 0, 0, 1].into()),
        );
        let d = key(
            &k,
            Limit::LoginPerAddress,
            &Subject::Address([10, 0, 0, 1].into()),
        );
        assert_ne!(c, d);
        let other = key(
            &[8u8; 32],
            Limit::LoginFailuresPerAccount,
            &Subject::Account("kim@example.com"),
        );
        assert_ne!(a, other, "the server key keys the hash");
        // An unkeyed SHA-256 of the e-mail would be guessable from a list of addresses.
        use sha2::Digest;
        let unkeyed = hex::encode(&sha2::Sha256::digest(b"kim@example.com")[..16]);
        assert!(!a.contains(&unkeyed));
    }
}
