//! Lockers: at most one per store, each with the secret and counter its passwords come
//! from.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Locker {
    pub id: i64,
    pub store_id: i64,
    /// The secret in the clear: rows from before sealing, until the WAS seals them at
    /// start ([`plain`], [`seal`]).
    pub secret: Option<String>,
    /// The secret sealed for this locker (`domain::bank`, `Owner::Locker`).
    pub sealed_secret: Option<Vec<u8>>,
    pub counter: i64,
    pub last_access: Option<OffsetDateTime>,
}

/// A fresh locker id, so the secret can be sealed for it before the row is written.
pub async fn next_id(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT nextval('lockers_id_seq') AS "id!""#)
        .fetch_one(db)
        .await
}

/// Lockers whose secret is still in the clear.
pub async fn plain(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(i64, String)>> {
    let rows =
        sqlx::query!(r#"SELECT id, secret AS "secret!" FROM lockers WHERE secret IS NOT NULL"#)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.secret)).collect())
}

/// Replaces a clear secret with its sealed form (a no-op if another replica did).
pub async fn seal(db: impl PgExecutor<'_>, id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lockers SET sealed_secret = $2, secret = NULL WHERE id = $1 AND secret IS NOT NULL",
        id,
        sealed
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Locker>> {
    sqlx::query_as!(
        Locker,
        "SELECT id, store_id, secret, sealed_secret, counter, last_access FROM lockers ORDER BY id"
    )
    .fetch_all(db)
    .await
}

/// Installs a locker (with the id from [`next_id`]) at a store in service; `None` when
/// there is no such store.
pub async fn create(
    db: impl PgExecutor<'_>,
    id: i64,
    store_id: i64,
    sealed_secret: &[u8],
) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "INSERT INTO lockers (id, store_id, sealed_secret) SELECT $3, id, $2 FROM stores WHERE id = $1 AND NOT deleted \
         RETURNING id, store_id, secret, sealed_secret, counter, last_access",
        store_id,
        sealed_secret,
        id
    )
    .fetch_optional(db)
    .await
}

/// `None` when there is no such locker.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    store_id: i64,
    sealed_secret: &[u8],
) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "UPDATE lockers SET store_id = $2, sealed_secret = $3, secret = NULL WHERE id = $1 \
         RETURNING id, store_id, secret, sealed_secret, counter, last_access",
        id,
        store_id,
        sealed_secret
    )
    .fetch_optional(db)
    .await
}

/// Whether a locker was removed.
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM lockers WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes the locker of a store (when the store closes).
pub async fn delete_at_store(db: impl PgExecutor<'_>, store_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM lockers WHERE store_id = $1", store_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Sets the counter the device expects next; `None` when there is no such locker.
pub async fn set_counter(
    db: impl PgExecutor<'_>,
    id: i64,
    counter: i64,
) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "UPDATE lockers SET counter = $2 WHERE id = $1 RETURNING id, store_id, secret, sealed_secret, counter, last_access",
        id,
        counter
    )
    .fetch_optional(db)
    .await
}

/// The store's locker, locked until the transaction ends (one password at a time).
pub async fn lock_at_store(db: impl PgExecutor<'_>, store_id: i64) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "SELECT id, store_id, secret, sealed_secret, counter, last_access FROM lockers WHERE store_id = $1 FOR UPDATE",
        store_id
    )
    .fetch_optional(db)
    .await
}

/// Sets the counter to what the device shows and counts a password as issued for it.
pub async fn resync_and_advance(
    db: impl PgExecutor<'_>,
    id: i64,
    counter: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lockers SET counter = $2::bigint + 1, last_access = now() WHERE id = $1",
        id,
        counter
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Counts a password as issued now.
pub async fn advance(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE lockers SET counter = counter + 1, last_access = now() WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}
