//! The deposit books: what is held now, what moved per day and month (from the ledger,
//! `deposit_events`), the refund queue, and the rows of the export.

use sqlx::PgExecutor;
use time::{Date, OffsetDateTime};

/// Deposits in our account now, from the rentals' states.
pub struct Held {
    pub count: i64,
    pub amount: i64,
}

pub async fn held(db: impl PgExecutor<'_>) -> sqlx::Result<Held> {
    sqlx::query_as!(
        Held,
        r#"SELECT count(*) AS "count!", coalesce(sum(deposit_amount), 0)::bigint AS "amount!"
           FROM rentals WHERE deposit_state IN ('paid', 'refund_due', 'refund_failed')"#
    )
    .fetch_one(db)
    .await
}

/// What the ledger says moved in one period (a day or a month, in Korea).
pub struct Movement {
    pub period: Date,
    pub received: i64,
    pub refunded: i64,
    /// Kept (lost or damaged), net of the forfeits undone because an umbrella was found.
    pub forfeited: i64,
}

/// Money moved per `unit` (`day` or `month`), newest first, for the last `periods` units.
pub async fn movements(
    db: impl PgExecutor<'_>,
    unit: &str,
    periods: i32,
) -> sqlx::Result<Vec<Movement>> {
    sqlx::query_as!(
        Movement,
        r#"SELECT date_trunc($1, at AT TIME ZONE 'Asia/Seoul')::date AS "period!",
                  coalesce(sum(amount) FILTER (WHERE operation = 'confirm_payment'), 0)::bigint AS "received!",
                  coalesce(sum(amount) FILTER (WHERE operation = 'refund'), 0)::bigint AS "refunded!",
                  (coalesce(sum(amount) FILTER (WHERE to_state = 'forfeited'), 0)
                   - coalesce(sum(amount) FILTER (WHERE from_state = 'forfeited'), 0))::bigint AS "forfeited!"
           FROM deposit_events
           WHERE at >= date_trunc($1, now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul'
                       - make_interval(days => CASE $1 WHEN 'day' THEN $2 - 1 ELSE 0 END,
                                       months => CASE $1 WHEN 'month' THEN $2 - 1 ELSE 0 END)
           GROUP BY 1 ORDER BY 1 DESC"#,
        unit,
        periods
    )
    .fetch_all(db)
    .await
}

/// All money the ledger ever recorded.
pub struct Totals {
    pub received: i64,
    pub refunded: i64,
    /// Kept, net of what finding lost umbrellas gave back.
    pub forfeited: i64,
}

pub async fn totals(db: impl PgExecutor<'_>) -> sqlx::Result<Totals> {
    sqlx::query_as!(
        Totals,
        r#"SELECT coalesce(sum(amount) FILTER (WHERE operation = 'confirm_payment'), 0)::bigint AS "received!",
                  coalesce(sum(amount) FILTER (WHERE operation = 'refund'), 0)::bigint AS "refunded!",
                  (coalesce(sum(amount) FILTER (WHERE to_state = 'forfeited'), 0)
                   - coalesce(sum(amount) FILTER (WHERE from_state = 'forfeited'), 0))::bigint AS "forfeited!"
           FROM deposit_events"#
    )
    .fetch_one(db)
    .await
}

/// A rental waiting for its refund, and since when.
pub struct Waiting {
    pub rental_id: i64,
    pub since: OffsetDateTime,
}

/// Rentals owed a refund (or whose refund failed), the longest waiting first. A refund
/// is due from the later of the return, the payment and the finding of a lost umbrella.
pub async fn refund_queue(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Waiting>> {
    sqlx::query_as!(
        Waiting,
        r#"SELECT id AS rental_id, greatest(returned_at, paid_at, found_at) AS "since!"
           FROM rentals WHERE deposit_state IN ('refund_due', 'refund_failed')
           ORDER BY 2, id LIMIT $1 OFFSET $2"#,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// One line of the export: a rental and one of its deposit events (none for a rental
/// whose deposit never moved).
pub struct ExportRow {
    pub rental_id: i64,
    pub user_name: String,
    pub user_phone: Option<String>,
    pub umbrella_number: i64,
    pub rent_store_name: String,
    pub rented_at: OffsetDateTime,
    pub return_store_name: Option<String>,
    pub returned_at: Option<OffsetDateTime>,
    pub closed_reason: Option<String>,
    pub deposit_amount: i32,
    pub deposit_reference: Option<String>,
    pub deposit_state: String,
    pub forfeit_reason: Option<String>,
    pub event_operation: Option<String>,
    pub event_from: Option<String>,
    pub event_to: Option<String>,
    pub event_at: Option<OffsetDateTime>,
    pub event_actor_email: Option<String>,
    pub event_actor_name: Option<String>,
    pub event_note: Option<String>,
}

/// Rentals rented in `[from, to)` with every deposit event, oldest first.
pub async fn export(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<ExportRow>> {
    sqlx::query_as!(
        ExportRow,
        r#"SELECT r.id AS "rental_id!", r.user_name AS "user_name!", r.user_phone,
                  r.umbrella_number AS "umbrella_number!", r.rent_store_name AS "rent_store_name!",
                  r.rented_at AS "rented_at!", r.return_store_name, r.returned_at, r.closed_reason,
                  r.deposit_amount AS "deposit_amount!", r.deposit_reference,
                  r.deposit_state AS "deposit_state!", r.forfeit_reason,
                  e.operation AS "event_operation?", e.from_state AS "event_from?", e.to_state AS "event_to?",
                  e.at AS "event_at?", e.actor_email AS "event_actor_email?", e.actor_name AS "event_actor_name?",
                  e.note AS "event_note?"
           FROM rental_details r LEFT JOIN deposit_events e ON e.rental_id = r.id
           WHERE r.rented_at >= $1 AND r.rented_at < $2
           ORDER BY r.id, e.id"#,
        from,
        to
    )
    .fetch_all(db)
    .await
}
