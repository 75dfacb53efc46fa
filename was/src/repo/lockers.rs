//! Lockers: at most one per store, each with the secret and counter its passwords come
//! from.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Locker {
    pub id: i64,
    pub store_id: i64,
    pub secret: String,
    pub counter: i64,
    pub last_access: Option<OffsetDateTime>,
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Locker>> {
    sqlx::query_as!(
        Locker,
        "SELECT id, store_id, secret, counter, last_access FROM lockers ORDER BY id"
    )
    .fetch_all(db)
    .await
}

/// Installs a locker at a store in service; `None` when there is no such store.
pub async fn create(
    db: impl PgExecutor<'_>,
    store_id: i64,
    secret: &str,
) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "INSERT INTO lockers (store_id, secret) SELECT id, $2 FROM stores WHERE id = $1 AND NOT deleted \
         RETURNING id, store_id, secret, counter, last_access",
        store_id,
        secret
    )
    .fetch_optional(db)
    .await
}

/// `None` when there is no such locker.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    store_id: i64,
    secret: &str,
) -> sqlx::Result<Option<Locker>> {
    sqlx::query_as!(
        Locker,
        "UPDATE lockers SET store_id = $2, secret = $3 WHERE id = $1 \
         RETURNING id, store_id, secret, counter, last_access",
        id,
        store_id,
        secret
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
        "UPDATE lockers SET counter = $2 WHERE id = $1 RETURNING id, store_id, secret, counter, last_access",
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
        "SELECT id, store_id, secret, counter, last_access FROM lockers WHERE store_id = $1 FOR UPDATE",
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
