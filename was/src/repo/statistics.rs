//! Statistics over time: rentals, returns, losses and durations per day, week or month,
//! per store; the overdue rentals by age; each store's stock against its thresholds;
//! a store's month for its monthly report.
//!
//! Days are Korean days: every bound and bucket is taken `AT TIME ZONE 'Asia/Seoul'`, so
//! a rental at 00:30 KST counts on the day the café saw it, not on the UTC day before.
//! A period runs from the start of its first day to the end of its last (inclusive).
//!
//! What is counted where:
//! - a rental on the day it was rented, at the store it was rented at;
//! - a return on the day it was returned, at the store it was returned to (a staff
//!   return counts: the umbrella is back);
//! - a loss (a rental closed as `lost`) on the day it was closed, at the store the
//!   umbrella was rented at;
//! - a duration (returned at − rented at) with its return.

use sqlx::PgExecutor;
use time::Date;

/// One bucket of the series.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The bucket's first day (a Monday for weeks, the 1st for months); the first
    /// bucket may start before the period, whose days alone are counted.
    pub start: Date,
    pub rentals: i64,
    pub returns: i64,
    pub lost: i64,
    pub mean_duration_hours: Option<f64>,
}

/// `bucket` is `day`, `week` or `month` (the handler's enum).
pub async fn series(
    db: impl PgExecutor<'_>,
    from: Date,
    to: Date,
    bucket: &str,
    store_id: Option<i64>,
) -> sqlx::Result<Vec<Bucket>> {
    sqlx::query_as!(
        Bucket,
        r#"WITH bounds AS (
               SELECT $1::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo,
                      ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' AS hi
           ),
           events AS (
               SELECT r.rented_at AS at, 1 AS rented, 0 AS returned, 0 AS lost, NULL::float8 AS hours
               FROM rentals r, bounds b
               WHERE r.rented_at >= b.lo AND r.rented_at < b.hi
                 AND ($4::bigint IS NULL OR r.rent_store_id = $4)
               UNION ALL
               SELECT r.returned_at, 0, 1, 0, extract(epoch FROM r.returned_at - r.rented_at)::float8 / 3600
               FROM rentals r, bounds b
               WHERE r.returned_at >= b.lo AND r.returned_at < b.hi
                 AND r.closed_reason IS DISTINCT FROM 'lost'
                 AND ($4::bigint IS NULL OR r.return_store_id = $4)
               UNION ALL
               SELECT r.returned_at, 0, 0, 1, NULL
               FROM rentals r, bounds b
               WHERE r.returned_at >= b.lo AND r.returned_at < b.hi
                 AND r.closed_reason = 'lost'
                 AND ($4::bigint IS NULL OR r.rent_store_id = $4)
           ),
           grouped AS (
               SELECT date_trunc($3, at AT TIME ZONE 'Asia/Seoul')::date AS start,
                      sum(rented) AS rentals, sum(returned) AS returns, sum(lost) AS lost,
                      avg(hours) AS hours
               FROM events GROUP BY 1
           ),
           buckets AS (
               SELECT generate_series(date_trunc($3, $1::date::timestamp), $2::date::timestamp,
                                      ('1 ' || $3)::interval)::date AS start
           )
           SELECT k.start AS "start!",
                  coalesce(g.rentals, 0)::bigint AS "rentals!",
                  coalesce(g.returns, 0)::bigint AS "returns!",
                  coalesce(g.lost, 0)::bigint AS "lost!",
                  g.hours AS mean_duration_hours
           FROM buckets k LEFT JOIN grouped g ON g.start = k.start
           ORDER BY k.start"#,
        from,
        to,
        bucket,
        store_id
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Totals {
    pub rentals: i64,
    /// Of the period's rentals, those returned by now (not lost): the return rate's
    /// numerator.
    pub rentals_returned: i64,
    pub returns: i64,
    pub lost: i64,
    pub mean_duration_hours: Option<f64>,
    pub median_duration_hours: Option<f64>,
}

pub async fn totals(
    db: impl PgExecutor<'_>,
    from: Date,
    to: Date,
    store_id: Option<i64>,
) -> sqlx::Result<Totals> {
    sqlx::query_as!(
        Totals,
        r#"WITH bounds AS (
               SELECT $1::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo,
                      ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' AS hi
           ),
           rented AS (
               SELECT r.returned_at, r.closed_reason
               FROM rentals r, bounds b
               WHERE r.rented_at >= b.lo AND r.rented_at < b.hi
                 AND ($3::bigint IS NULL OR r.rent_store_id = $3)
           ),
           returned AS (
               SELECT extract(epoch FROM r.returned_at - r.rented_at)::float8 / 3600 AS hours
               FROM rentals r, bounds b
               WHERE r.returned_at >= b.lo AND r.returned_at < b.hi
                 AND r.closed_reason IS DISTINCT FROM 'lost'
                 AND ($3::bigint IS NULL OR r.return_store_id = $3)
           )
           SELECT (SELECT count(*) FROM rented) AS "rentals!",
                  (SELECT count(*) FROM rented
                   WHERE returned_at IS NOT NULL AND closed_reason IS DISTINCT FROM 'lost') AS "rentals_returned!",
                  (SELECT count(*) FROM returned) AS "returns!",
                  (SELECT count(*) FROM rentals r, bounds b
                   WHERE r.returned_at >= b.lo AND r.returned_at < b.hi AND r.closed_reason = 'lost'
                     AND ($3::bigint IS NULL OR r.rent_store_id = $3)) AS "lost!",
                  (SELECT avg(hours) FROM returned) AS mean_duration_hours,
                  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FROM returned) AS median_duration_hours"#,
        from,
        to,
        store_id
    )
    .fetch_one(db)
    .await
}

/// Open rentals by how many days they are past due (a day = 24 hours after the due
/// time, begun: one hour late is day 1).
#[derive(Debug, Clone)]
pub struct Overdue {
    pub days_1_3: i64,
    pub days_4_7: i64,
    pub days_8_14: i64,
    pub days_15_plus: i64,
}

pub async fn overdue(
    db: impl PgExecutor<'_>,
    rental_days: i32,
    store_id: Option<i64>,
) -> sqlx::Result<Overdue> {
    sqlx::query_as!(
        Overdue,
        r#"SELECT count(*) FILTER (WHERE d BETWEEN 1 AND 3) AS "days_1_3!",
                  count(*) FILTER (WHERE d BETWEEN 4 AND 7) AS "days_4_7!",
                  count(*) FILTER (WHERE d BETWEEN 8 AND 14) AS "days_8_14!",
                  count(*) FILTER (WHERE d >= 15) AS "days_15_plus!"
           FROM (SELECT ceil(extract(epoch FROM now() - (r.rented_at + make_interval(days => $1::int))) / 86400)::int AS d
                 FROM rentals r
                 WHERE r.returned_at IS NULL AND ($2::bigint IS NULL OR r.rent_store_id = $2)) o"#,
        rental_days,
        store_id
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone)]
pub struct StoreCounts {
    pub store_id: i64,
    pub name: String,
    pub rentals: i64,
    pub returns: i64,
    pub lost: i64,
}

/// Every store in service (and any deleted one with something in the period), busiest
/// first.
pub async fn per_store(
    db: impl PgExecutor<'_>,
    from: Date,
    to: Date,
    store_id: Option<i64>,
) -> sqlx::Result<Vec<StoreCounts>> {
    sqlx::query_as!(
        StoreCounts,
        r#"WITH bounds AS (
               SELECT $1::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo,
                      ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul' AS hi
           ),
           counted AS (
               SELECT s.id, s.name, s.deleted,
                      (SELECT count(*) FROM rentals r WHERE r.rent_store_id = s.id
                         AND r.rented_at >= b.lo AND r.rented_at < b.hi) AS rentals,
                      (SELECT count(*) FROM rentals r WHERE r.return_store_id = s.id
                         AND r.returned_at >= b.lo AND r.returned_at < b.hi
                         AND r.closed_reason IS DISTINCT FROM 'lost') AS returns,
                      (SELECT count(*) FROM rentals r WHERE r.rent_store_id = s.id
                         AND r.returned_at >= b.lo AND r.returned_at < b.hi
                         AND r.closed_reason = 'lost') AS lost
               FROM stores s, bounds b
               WHERE $3::bigint IS NULL OR s.id = $3
           )
           SELECT id AS "store_id!", name AS "name!", rentals AS "rentals!", returns AS "returns!", lost AS "lost!"
           FROM counted
           WHERE NOT deleted OR rentals + returns + lost > 0
           ORDER BY rentals DESC, returns DESC, id"#,
        from,
        to,
        store_id
    )
    .fetch_all(db)
    .await
}

/// A store's umbrellas that can be rented now, against its thresholds.
#[derive(Debug, Clone)]
pub struct Stock {
    pub store_id: i64,
    pub name: String,
    pub available: i64,
    pub low: i32,
    pub high: i32,
}

/// Every store in service, by name.
pub async fn stock(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Stock>> {
    sqlx::query_as!(
        Stock,
        r#"SELECT s.id AS "store_id!", s.name AS "name!", s.stock_low AS "low!", s.stock_high AS "high!",
                  (SELECT count(*) FROM umbrella_states u WHERE u.store_id = s.id AND u.available) AS "available!"
           FROM stores s WHERE NOT s.deleted ORDER BY s.name, s.id"#
    )
    .fetch_all(db)
    .await
}

pub async fn stock_of(db: impl PgExecutor<'_>, store_id: i64) -> sqlx::Result<Option<Stock>> {
    sqlx::query_as!(
        Stock,
        r#"SELECT s.id AS "store_id!", s.name AS "name!", s.stock_low AS "low!", s.stock_high AS "high!",
                  (SELECT count(*) FROM umbrella_states u WHERE u.store_id = s.id AND u.available) AS "available!"
           FROM stores s WHERE s.id = $1 AND NOT s.deleted"#,
        store_id
    )
    .fetch_optional(db)
    .await
}

/// Sets a store's thresholds; false when there is no such store in service. The schema
/// checks `0 <= low < high` (`stores_stock_thresholds_check`).
pub async fn set_thresholds(
    db: impl PgExecutor<'_>,
    store_id: i64,
    low: i32,
    high: i32,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE stores SET stock_low = $2, stock_high = $3 WHERE id = $1 AND NOT deleted",
        store_id,
        low,
        high
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A store's month, for its monthly report.
#[derive(Debug, Clone)]
pub struct Month {
    /// Rented at this store.
    pub rentals: i64,
    /// Returned to this store (wherever rented).
    pub returns_here: i64,
    /// Rented here and closed as lost in the month.
    pub lost: i64,
    /// Of the rentals from here returned in the month.
    pub mean_duration_hours: Option<f64>,
    /// ISO weekday (1 = Monday) with the most rentals; the earlier one on a tie.
    pub busiest_weekday: Option<i32>,
}

/// `month` is the month's first day.
pub async fn month(db: impl PgExecutor<'_>, store_id: i64, month: Date) -> sqlx::Result<Month> {
    sqlx::query_as!(
        Month,
        r#"WITH bounds AS (
               SELECT $2::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo,
                      ($2::date + interval '1 month') AT TIME ZONE 'Asia/Seoul' AS hi
           )
           SELECT (SELECT count(*) FROM rentals r, bounds b WHERE r.rent_store_id = $1
                     AND r.rented_at >= b.lo AND r.rented_at < b.hi) AS "rentals!",
                  (SELECT count(*) FROM rentals r, bounds b WHERE r.return_store_id = $1
                     AND r.returned_at >= b.lo AND r.returned_at < b.hi
                     AND r.closed_reason IS DISTINCT FROM 'lost') AS "returns_here!",
                  (SELECT count(*) FROM rentals r, bounds b WHERE r.rent_store_id = $1
                     AND r.returned_at >= b.lo AND r.returned_at < b.hi
                     AND r.closed_reason = 'lost') AS "lost!",
                  (SELECT avg(extract(epoch FROM r.returned_at - r.rented_at)::float8 / 3600)
                   FROM rentals r, bounds b WHERE r.rent_store_id = $1
                     AND r.returned_at >= b.lo AND r.returned_at < b.hi
                     AND r.closed_reason IS DISTINCT FROM 'lost') AS mean_duration_hours,
                  (SELECT extract(isodow FROM r.rented_at AT TIME ZONE 'Asia/Seoul')::int
                   FROM rentals r, bounds b WHERE r.rent_store_id = $1
                     AND r.rented_at >= b.lo AND r.rented_at < b.hi
                   GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS busiest_weekday"#,
        store_id,
        month
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Day {
    pub date: Date,
    pub rentals: i64,
    pub returns: i64,
}

/// Every day of the month with the store's rentals and returns.
pub async fn days(db: impl PgExecutor<'_>, store_id: i64, month: Date) -> sqlx::Result<Vec<Day>> {
    sqlx::query_as!(
        Day,
        r#"WITH bounds AS (
               SELECT $2::date::timestamp AT TIME ZONE 'Asia/Seoul' AS lo,
                      ($2::date + interval '1 month') AT TIME ZONE 'Asia/Seoul' AS hi
           ),
           days AS (
               SELECT generate_series($2::date::timestamp, $2::date + interval '1 month' - interval '1 day',
                                      interval '1 day')::date AS day
           ),
           rented AS (
               SELECT (r.rented_at AT TIME ZONE 'Asia/Seoul')::date AS day, count(*) AS n
               FROM rentals r, bounds b
               WHERE r.rent_store_id = $1 AND r.rented_at >= b.lo AND r.rented_at < b.hi
               GROUP BY 1
           ),
           returned AS (
               SELECT (r.returned_at AT TIME ZONE 'Asia/Seoul')::date AS day, count(*) AS n
               FROM rentals r, bounds b
               WHERE r.return_store_id = $1 AND r.returned_at >= b.lo AND r.returned_at < b.hi
                 AND r.closed_reason IS DISTINCT FROM 'lost'
               GROUP BY 1
           )
           SELECT d.day AS "date!", coalesce(rn.n, 0) AS "rentals!", coalesce(rt.n, 0) AS "returns!"
           FROM days d
           LEFT JOIN rented rn ON rn.day = d.day
           LEFT JOIN returned rt ON rt.day = d.day
           ORDER BY d.day"#,
        store_id,
        month
    )
    .fetch_all(db)
    .await
}

/// A store's name, deleted or not (its history still counts).
pub async fn store_name(db: impl PgExecutor<'_>, store_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT name FROM stores WHERE id = $1", store_id)
        .fetch_optional(db)
        .await
}
