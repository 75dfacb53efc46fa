//! Umbrellas: the fleet, where each one stands, and what it is doing now (the
//! `umbrella_states` view says whether it is rented and whether it can be rented).

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// An umbrella in service.
#[derive(Debug, Clone)]
pub struct Umbrella {
    pub id: i64,
    pub store_id: i64,
    pub number: i64,
    pub rentable: bool,
    pub missed: bool,
    /// In an open rental right now.
    pub rented: bool,
    pub note: String,
    pub created_at: OffsetDateTime,
}

/// What an admin writes about an umbrella.
pub struct UmbrellaFields<'a> {
    pub store_id: i64,
    pub number: i64,
    pub rentable: bool,
    pub note: &'a str,
}

/// `query_as!` for [`Umbrella`]s in service: the select list, then the rest of the
/// WHERE clause. The view's columns are nullable to the compiler; the tables' are not.
macro_rules! umbrellas {
    ($tail:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Umbrella,
            r#"SELECT id AS "id!", store_id AS "store_id!", number AS "number!",
                      rentable AS "rentable!", missed AS "missed!", rented AS "rented!",
                      note AS "note!", created_at AS "created_at!"
               FROM umbrella_states WHERE NOT deleted "# + $tail
            $(, $arg)*
        )
    };
}

/// Umbrellas in service by id, optionally of one store.
pub async fn page(
    db: impl PgExecutor<'_>,
    store_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Umbrella>> {
    umbrellas!(
        "AND ($1::bigint IS NULL OR store_id = $1) ORDER BY id LIMIT $2 OFFSET $3",
        store_id,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Umbrella>> {
    umbrellas!("AND id = $1", id).fetch_optional(db).await
}

/// Adds an umbrella to a store in service; `None` when there is no such store.
pub async fn create(db: impl PgExecutor<'_>, u: &UmbrellaFields<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO umbrellas (store_id, number, rentable, note) \
         SELECT id, $2, $3, $4 FROM stores WHERE id = $1 AND NOT deleted RETURNING id",
        u.store_id,
        u.number,
        u.rentable,
        u.note
    )
    .fetch_optional(db)
    .await
}

/// An umbrella locked until the transaction ends, for renting or editing it.
pub struct Locked {
    pub store_id: i64,
    pub rentable: bool,
    pub missed: bool,
    pub rented: bool,
}

pub async fn lock(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Locked>> {
    sqlx::query_as!(
        Locked,
        r#"SELECT store_id, rentable, missed,
                  EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL) AS "rented!"
           FROM umbrellas u WHERE id = $1 AND NOT deleted FOR UPDATE"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn update(db: impl PgExecutor<'_>, id: i64, u: &UmbrellaFields<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE umbrellas SET store_id = $2, number = $3, rentable = $4, note = $5 WHERE id = $1",
        id,
        u.store_id,
        u.number,
        u.rentable,
        u.note
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Takes an umbrella out of service (its number becomes free). `false` when it is not
/// in service or is rented.
pub async fn retire(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE umbrellas u SET deleted = true, rentable = false WHERE id = $1 AND NOT deleted \
         AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL)",
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// `false` when there is no such umbrella in service.
pub async fn set_missed(db: impl PgExecutor<'_>, id: i64, missed: bool) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE umbrellas SET missed = $2 WHERE id = $1 AND NOT deleted",
        id,
        missed
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A lost umbrella: missing, not rentable, until an admin finds it again.
pub async fn mark_lost(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE umbrellas SET missed = true, rentable = false WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A rented umbrella is not rentable until it comes back.
pub async fn mark_rented(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE umbrellas SET rentable = false WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

/// A returned umbrella stands at the store it was returned to, rentable again.
pub async fn place(db: impl PgExecutor<'_>, id: i64, store_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE umbrellas SET store_id = $2, rentable = true WHERE id = $1",
        id,
        store_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A lost umbrella turned up at a store: it stands there, no longer missing, rentable.
pub async fn recover(db: impl PgExecutor<'_>, id: i64, store_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE umbrellas SET store_id = $2, missed = false, rentable = true WHERE id = $1",
        id,
        store_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Umbrellas in service at a store.
pub async fn count_at(db: impl PgExecutor<'_>, store_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM umbrellas WHERE store_id = $1 AND NOT deleted"#,
        store_id
    )
    .fetch_one(db)
    .await
}

/// Counts over the umbrellas in service (of one store, or all).
#[derive(Debug, Clone)]
pub struct Counts {
    pub total: i64,
    pub rentable: i64,
    pub rented: i64,
    pub missing: i64,
    /// Rentals ever started (at the store, for one store).
    pub total_rents: i64,
}

pub async fn counts(db: impl PgExecutor<'_>, store_id: Option<i64>) -> sqlx::Result<Counts> {
    sqlx::query_as!(
        Counts,
        r#"SELECT count(*) AS "total!",
                  count(*) FILTER (WHERE available) AS "rentable!",
                  count(*) FILTER (WHERE rented) AS "rented!",
                  count(*) FILTER (WHERE missed) AS "missing!",
                  (SELECT count(*) FROM rentals r WHERE $1::bigint IS NULL OR r.rent_store_id = $1) AS "total_rents!"
           FROM umbrella_states WHERE NOT deleted AND ($1::bigint IS NULL OR store_id = $1)"#,
        store_id
    )
    .fetch_one(db)
    .await
}

/// Where an umbrella is: the store it stands at, or was rented from.
#[derive(Debug, Clone)]
pub struct Location {
    pub id: i64,
    pub number: i64,
    pub store_id: i64,
    pub store_name: String,
    /// Whether the store is in service.
    pub store_activated: bool,
    pub region_name: String,
    pub latitude: f64,
    pub longitude: f64,
    /// Can be rented this moment.
    pub available: bool,
}

pub async fn location(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Location>> {
    sqlx::query_as!(
        Location,
        r#"SELECT u.id AS "id!", u.number AS "number!", s.id AS store_id, s.name AS store_name,
                  s.activated AS store_activated, c.name AS region_name,
                  s.latitude, s.longitude, u.available AS "available!"
           FROM umbrella_states u
           JOIN stores s ON s.id = u.store_id
           JOIN classifications c ON c.id = s.region_id
           WHERE u.id = $1 AND NOT u.deleted AND NOT s.deleted"#,
        id
    )
    .fetch_optional(db)
    .await
}
