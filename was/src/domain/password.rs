//! Passwords: argon2id hashes, computed off the async runtime because one hash takes tens
//! of milliseconds of CPU and would stall every other request on that worker.
//!
//! Each hash also takes 19 MiB (argon2's recommended `m=19456`), so unbounded hashing
//! lets a few dozen anonymous login requests grow a replica past its memory limit. The
//! [`PasswordHasher`] runs at most `concurrency` hashes at once and lets at most `queue`
//! more wait; anything beyond is refused at once with 503 and `Retry-After`, which costs
//! nothing and tells a real client when to come back.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng,
};
use tokio::sync::Semaphore;

use crate::config::HashingLimits;
use crate::error::Error;

/// A password as typed at sign-up: 8 to 128 characters.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let len = raw.chars().count();
        if (8..=128).contains(&len) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid_password",
                "비밀번호는 8자 이상 128자 이하로 입력해 주세요.",
            ))
        }
    }
}

/// A hash for accounts without one (Kakao-only) and unknown e-mails, so that timing does
/// not reveal which accounts exist.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

pub struct PasswordHasher {
    /// One permit per hash allowed to run.
    running: Arc<Semaphore>,
    /// One permit per request allowed in at all (running or waiting).
    admitted: Arc<Semaphore>,
    limits: HashingLimits,
}

impl PasswordHasher {
    pub fn new(limits: HashingLimits) -> Self {
        Self {
            running: Arc::new(Semaphore::new(limits.concurrency)),
            admitted: Arc::new(Semaphore::new(limits.concurrency + limits.queue)),
            limits,
        }
    }

    /// Requests running or waiting for a hash right now.
    pub fn in_use(&self) -> usize {
        (self.limits.concurrency + self.limits.queue) - self.admitted.available_permits()
    }

    /// Hashes being computed right now.
    pub fn running(&self) -> usize {
        self.limits.concurrency - self.running.available_permits()
    }

    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.0.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(Error::internal)
        })
        .await?
    }

    /// Checks `candidate` against a stored hash. A missing hash (a Kakao-only account, an
    /// unknown e-mail) never matches, but costs the same as a real check.
    pub async fn verify(&self, candidate: String, stored: Option<String>) -> Result<bool, Error> {
        self.run(move || {
            let (hash, real) = match &stored {
                Some(h) => (h.as_str(), true),
                None => (DUMMY, false),
            };
            let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
            let ok = Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && real)
        })
        .await?
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let Ok(ticket) = Arc::clone(&self.admitted).try_acquire_owned() else {
            tracing::warn!(
                concurrency = self.limits.concurrency,
                queue = self.limits.queue,
                "password hashing at capacity; refusing"
            );
            return Err(Error::Busy("password checks"));
        };
        let permit = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        // Both permits move into the job: if the client goes away, the hash still counts
        // until it has really finished.
        tokio::task::spawn_blocking(move || {
            let _held = (ticket, permit);
            job()
        })
        .await
        .map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(concurrency: usize, queue: usize) -> PasswordHasher {
        PasswordHasher::new(HashingLimits { concurrency, queue })
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = hasher(1, 1);
        let h = hasher
            .hash(Password::parse("correct horse").expect("valid"))
            .await
            .expect("hash");
        assert!(
            hasher
                .verify("correct horse".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse!".into(), Some(h))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("anything".into(), None)
                .await
                .expect("verify")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_requests_are_refused_at_once() {
        let hasher = Arc::new(hasher(1, 2));
        // Hold the one running slot, so every request stays in line until released.
        let slot = Arc::clone(&hasher.running)
            .acquire_owned()
            .await
            .expect("slot");
        let attempts: Vec<_> = (0..10)
            .map(|_| {
                let hasher = Arc::clone(&hasher);
                tokio::spawn(async move { hasher.verify("guess".into(), None).await })
            })
            .collect();
        let mut waiting = Vec::new();
        let mut refused = 0;
        for attempt in attempts {
            if attempt.is_finished() {
                assert!(matches!(attempt.await.expect("task"), Err(Error::Busy(_))));
                refused += 1;
            } else {
                waiting.push(attempt);
            }
        }
        // Refusals are immediate; the admitted ones are still waiting for the slot.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while hasher.in_use() < 3 && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(hasher.in_use(), 3, "one slot plus a queue of two");
        drop(slot);
        let mut checked = 0;
        for attempt in waiting {
            match attempt.await.expect("task") {
                Ok(matched) => {
                    assert!(!matched);
                    checked += 1;
                }
                Err(Error::Busy(_)) => refused += 1,
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!((checked, refused), (3, 7));
        assert_eq!(hasher.in_use(), 0, "every permit is back");
    }

    #[test]
    fn short_passwords_are_rejected() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
    }
}
