//! Single-use links sent by e-mail (`account_tokens`): only a SHA-256 of each token is
//! stored, so a copy of the database opens no one's account.

use sqlx::PgExecutor;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ChangeEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// Stores a new link's hash, valid for `ttl_secs`.
pub async fn create(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    user_id: i64,
    purpose: Purpose,
    email: &str,
    ttl_secs: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        token_hash,
        user_id,
        purpose.as_str(),
        email,
        ttl_secs
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A used link: whose, and the address it was sent to.
#[derive(Debug, Clone)]
pub struct Used {
    pub user_id: i64,
    pub email: String,
}

/// Uses a link once: `None` when it does not exist, is for something else, was used
/// already or has expired (one answer for all, so a guess learns nothing).
pub async fn take(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> sqlx::Result<Option<Used>> {
    sqlx::query_as!(
        Used,
        "UPDATE account_tokens SET used_at = now() \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() \
         RETURNING user_id, email",
        token_hash,
        purpose.as_str()
    )
    .fetch_optional(db)
    .await
}

/// Whether a link could be used now (without using it).
pub async fn usable(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM account_tokens
                          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()) AS "usable!""#,
        token_hash,
        purpose.as_str()
    )
    .fetch_one(db)
    .await
}

/// Retires every other unused link of the user for `purpose` (a reset used, an address
/// changed: older links must not work after it).
pub async fn retire(db: impl PgExecutor<'_>, user_id: i64, purpose: Purpose) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE account_tokens SET used_at = now() \
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id,
        purpose.as_str()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes links that can no longer be used, a day after they expired.
pub async fn sweep(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    sqlx::query!("DELETE FROM account_tokens WHERE expires_at < now() - interval '1 day'")
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
