//! Closing and banning accounts: anonymising what is settled, the blacklist of banned
//! contacts, and lifting a ban.

use super::*;

/// The identities of an active account, locked until the transaction ends (to ban it).
pub struct Identities {
    pub email: Option<String>,
    pub kakao_id: Option<i64>,
}

pub async fn lock_active(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Identities>> {
    sqlx::query_as!(
        Identities,
        "SELECT email, kakao_id FROM users WHERE id = $1 AND status = 'active' FOR UPDATE",
        id
    )
    .fetch_optional(db)
    .await
}

/// Anonymises a user who leaves or is banned, and deletes the links mailed to them.
/// Rentals keep pointing at the row.
pub async fn anonymise(db: impl PgExecutor<'_>, user_id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH links AS (DELETE FROM account_tokens WHERE user_id = $1) \
         UPDATE users SET email = NULL, email_verified_at = NULL, password_hash = NULL, kakao_id = NULL, \
                name = '(탈퇴한 사용자)', phone = NULL, bank_name = NULL, bank_account = NULL, \
                role = 'renter', status = $2, session_generation = session_generation + 1 \
         WHERE id = $1",
        user_id,
        status
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Bans a user who still holds an umbrella or owes a deposit: the login ends at once
/// (status, no password, no admin rights), but the name, phone and e-mail we would chase
/// them with stay until [`anonymise_if_settled`] finds everything settled.
pub async fn ban_keeping_contact(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET password_hash = NULL, role = 'renter', status = 'banned', \
                anonymise_when_settled = true, session_generation = session_generation + 1 \
         WHERE id = $1",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the user holds an umbrella, owes a deposit, or is owed one.
pub async fn has_unsettled(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM rentals WHERE user_id = $1
                            AND (returned_at IS NULL OR deposit_state IN ('awaiting_payment', 'refund_due', 'refund_failed'))) AS "exists!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Finishes a ban that kept the contact details, once nothing is outstanding.
pub async fn anonymise_if_settled(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH links AS (DELETE FROM account_tokens WHERE user_id = $1) \
         UPDATE users SET email = NULL, email_verified_at = NULL, kakao_id = NULL, name = '(탈퇴한 사용자)', \
                phone = NULL, bank_name = NULL, bank_account = NULL, anonymise_when_settled = false \
         WHERE id = $1 AND anonymise_when_settled \
           AND NOT EXISTS (SELECT 1 FROM rentals WHERE user_id = $1 \
                             AND (returned_at IS NULL OR deposit_state IN ('awaiting_payment', 'refund_due', 'refund_failed')))",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn is_blacklisted(
    db: impl PgExecutor<'_>,
    identity: &Identity<'_>,
) -> sqlx::Result<bool> {
    let (provider, subject) = identity.parts();
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM blacklist WHERE provider = $1 AND subject = $2) AS "exists!""#,
        provider,
        subject
    )
    .fetch_one(db)
    .await
}

pub async fn blacklist(
    db: impl PgExecutor<'_>,
    identity: &Identity<'_>,
    user_id: i64,
) -> sqlx::Result<()> {
    let (provider, subject) = identity.parts();
    sqlx::query!(
        "INSERT INTO blacklist (provider, subject, user_id) VALUES ($1, $2, $3) \
         ON CONFLICT ON CONSTRAINT blacklist_identity_key DO NOTHING",
        provider,
        subject,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A banned identity.
#[derive(Debug, Clone)]
pub struct Blacklisted {
    pub id: i64,
    /// `local` (the subject is an e-mail address) or `kakao` (a Kakao id).
    pub provider: String,
    pub subject: String,
    pub user_id: Option<i64>,
    pub blocked_at: OffsetDateTime,
}

pub async fn blacklist_page(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Blacklisted>> {
    sqlx::query_as!(
        Blacklisted,
        "SELECT id, provider, subject, user_id, blocked_at FROM blacklist ORDER BY id DESC LIMIT $1 OFFSET $2",
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// Lifts a ban; `false` when there is no such entry.
pub async fn lift_ban(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM blacklist WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
