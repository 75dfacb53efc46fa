//! Passwords: argon2id hashes, computed off the async runtime because one hash takes tens
//! of milliseconds of CPU and would stall every other request on that worker.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::Error;

/// A password as typed at sign-up: 8 to 128 characters.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let len = raw.chars().count();
        if (8..=128).contains(&len) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid("password must be 8 to 128 characters"))
        }
    }
}

pub async fn hash(password: Password) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

/// Checks `candidate` against a stored hash. A missing hash (a Kakao-only account) never
/// matches, but is still checked against a dummy so timing does not reveal which accounts
/// exist.
pub async fn verify(candidate: String, stored: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
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
    .await
    .map_err(Error::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash(Password::parse("correct horse").expect("valid"))
            .await
            .expect("hash");
        assert!(
            verify("correct horse".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse!".into(), Some(h))
                .await
                .expect("verify")
        );
        assert!(!verify("anything".into(), None).await.expect("verify"));
    }

    #[test]
    fn short_passwords_are_rejected() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
    }
}
