//! Stored responses of requests that carried an `Idempotency-Key` (see
//! `http::idempotency` for the protocol). Rows are per user and key.

use sqlx::PgExecutor;

/// A key's record: what it was used for and, once that request finished, its answer.
pub struct Stored {
    pub operation: String,
    pub request_hash: Vec<u8>,
    pub status: Option<i16>,
    pub body: Option<serde_json::Value>,
}

/// Deletes the user's record of `key` when it is older than `ttl_secs`.
pub async fn expire(
    db: impl PgExecutor<'_>,
    user_id: i64,
    key: &str,
    ttl_secs: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 \
         AND created_at < now() - make_interval(secs => $3)",
        user_id,
        key,
        ttl_secs
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records `key` as taken by this request. `false` when it was already taken; the
/// insert waits for a concurrent transaction holding the same key to finish first.
pub async fn claim(
    db: impl PgExecutor<'_>,
    user_id: i64,
    key: &str,
    operation: &str,
    request_hash: &[u8],
) -> sqlx::Result<bool> {
    let claimed = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (user_id, key, operation, request_hash) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, key) DO NOTHING RETURNING true AS "claimed!""#,
        user_id,
        key,
        operation,
        request_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(claimed.is_some())
}

pub async fn stored(db: impl PgExecutor<'_>, user_id: i64, key: &str) -> sqlx::Result<Stored> {
    sqlx::query_as!(
        Stored,
        "SELECT operation, request_hash, status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        user_id,
        key
    )
    .fetch_one(db)
    .await
}

/// Stores the answer of the request that claimed `key`.
pub async fn record(
    db: impl PgExecutor<'_>,
    user_id: i64,
    key: &str,
    status: i16,
    body: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
        user_id,
        key,
        status,
        body
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes every record older than `ttl_secs`; returns how many.
pub async fn sweep(db: impl PgExecutor<'_>, ttl_secs: f64) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
        ttl_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
