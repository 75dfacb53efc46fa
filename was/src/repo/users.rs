//! User queries shared by sign-up, Kakao login and the admin pages.

use sqlx::PgExecutor;

use crate::error::Result;

/// Identities as the blacklist stores them: the e-mail address for local accounts, the
/// Kakao id for Kakao accounts.
#[derive(Debug, Clone)]
pub enum Identity<'a> {
    Local(&'a str),
    Kakao(i64),
}

impl Identity<'_> {
    fn parts(&self) -> (&'static str, String) {
        match self {
            Identity::Local(email) => ("local", email.to_lowercase()),
            Identity::Kakao(id) => ("kakao", id.to_string()),
        }
    }
}

pub async fn is_blacklisted(db: impl PgExecutor<'_>, identity: &Identity<'_>) -> Result<bool> {
    let (provider, subject) = identity.parts();
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM blacklist WHERE provider = $1 AND subject = $2)",
    )
    .bind(provider)
    .bind(subject)
    .fetch_one(db)
    .await?)
}

pub async fn blacklist(
    db: impl PgExecutor<'_>,
    identity: &Identity<'_>,
    user_id: i64,
) -> Result<()> {
    let (provider, subject) = identity.parts();
    sqlx::query(
        "INSERT INTO blacklist (provider, subject, user_id) VALUES ($1, $2, $3) \
         ON CONFLICT ON CONSTRAINT blacklist_identity_key DO NOTHING",
    )
    .bind(provider)
    .bind(subject)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Anonymises a user who leaves or is banned. Rentals keep pointing at the row.
pub async fn anonymise(db: impl PgExecutor<'_>, user_id: i64, status: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET email = NULL, password_hash = NULL, kakao_id = NULL, name = '(탈퇴한 사용자)', \
                phone = NULL, bank_name = NULL, bank_account = NULL, is_admin = false, status = $2 \
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(status)
    .execute(db)
    .await?;
    Ok(())
}
