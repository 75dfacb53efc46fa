//! The renters' reports of an umbrella's condition and of what to improve, as operators
//! read them.

use super::*;

/// A renter's words about an umbrella (at rent) or the service (at return).
#[derive(Debug, Clone)]
pub struct Report {
    pub rental_id: i64,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub content: String,
    pub written_at: OffsetDateTime,
}

/// Condition reports written at rent, newest first.
pub async fn condition_reports(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Report>> {
    sqlx::query_as!(
        Report,
        r#"SELECT r.id AS rental_id, r.umbrella_id, u.number AS umbrella_number,
                  r.condition_report AS "content!", r.rented_at AS written_at
           FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id
           WHERE r.condition_report IS NOT NULL
           ORDER BY r.id DESC LIMIT $1 OFFSET $2"#,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// Improvement reports written at return, newest first.
pub async fn improvement_reports(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Report>> {
    sqlx::query_as!(
        Report,
        r#"SELECT r.id AS rental_id, r.umbrella_id, u.number AS umbrella_number,
                  r.improvement_report AS "content!", r.returned_at AS "written_at!"
           FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id
           WHERE r.improvement_report IS NOT NULL AND r.returned_at IS NOT NULL
           ORDER BY r.id DESC LIMIT $1 OFFSET $2"#,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}
