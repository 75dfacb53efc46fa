//! Renters' reports of a lost or broken umbrella, and their follow-up by operators.

use sqlx::PgExecutor;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct RentalReport {
    pub id: i64,
    pub rental_id: i64,
    pub user_name: String,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub store_id: i64,
    pub store_name: String,
    /// `lost` or `broken`.
    pub kind: String,
    pub note: String,
    pub created_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
}

/// The reports with what the operators read beside them; `$tail` filters and orders.
macro_rules! reports {
    ($tail:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            RentalReport,
            r#"SELECT p.id, p.rental_id, u.name AS user_name, r.umbrella_id, m.number AS umbrella_number,
                      r.rent_store_id AS store_id, s.name AS store_name, p.kind, p.note, p.created_at,
                      p.resolved_at, p.resolved_by, p.resolution
               FROM rental_reports p
               JOIN rentals r ON r.id = p.rental_id
               JOIN users u ON u.id = r.user_id
               JOIN umbrellas m ON m.id = r.umbrella_id
               JOIN stores s ON s.id = r.rent_store_id "# + $tail
            $(, $arg)*
        )
    };
}

/// Files a report; `rental_reports_open_key` refuses a second open one of its kind.
pub async fn create(
    db: impl PgExecutor<'_>,
    rental_id: i64,
    kind: &str,
    note: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO rental_reports (rental_id, kind, note) VALUES ($1, $2, $3) RETURNING id",
        rental_id,
        kind,
        note
    )
    .fetch_one(db)
    .await
}

/// One report.
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<RentalReport>> {
    reports!("WHERE p.id = $1", id).fetch_optional(db).await
}

/// Reports, newest first: open ones only unless `all`; with `stores`, those about
/// rentals from, or umbrellas now at, one of these stores.
pub async fn page(
    db: impl PgExecutor<'_>,
    all: bool,
    stores: Option<&[i64]>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<RentalReport>> {
    reports!(
        "WHERE ($1 OR p.resolved_at IS NULL)
           AND ($2::bigint[] IS NULL OR r.rent_store_id = ANY($2) OR m.store_id = ANY($2))
         ORDER BY p.created_at DESC, p.id DESC LIMIT $3 OFFSET $4",
        all,
        stores as Option<&[i64]>,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// The reports of one rental, oldest first.
pub async fn of_rentals(
    db: impl PgExecutor<'_>,
    rentals: &[i64],
) -> sqlx::Result<Vec<RentalReport>> {
    reports!(
        "WHERE p.rental_id = ANY($1) ORDER BY p.created_at, p.id",
        rentals
    )
    .fetch_all(db)
    .await
}

/// Marks a report followed up; `false` when it was already.
pub async fn resolve(
    db: impl PgExecutor<'_>,
    id: i64,
    by: i64,
    resolution: Option<&str>,
) -> sqlx::Result<bool> {
    sqlx::query!(
        "UPDATE rental_reports SET resolved_at = now(), resolved_by = $2, resolution = $3 \
         WHERE id = $1 AND resolved_at IS NULL",
        id,
        by,
        resolution
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}
