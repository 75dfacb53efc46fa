//! Rentals: renting and returning, the renter's history, deposits and reports.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// A rental with the names people read beside the ids (the `rental_details` view).
#[derive(Debug, Clone)]
pub struct Rental {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub user_phone: Option<String>,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub rent_store_id: i64,
    pub rent_store_name: String,
    pub rented_at: OffsetDateTime,
    pub returned_at: Option<OffsetDateTime>,
    pub return_store_id: Option<i64>,
    pub return_store_name: Option<String>,
    pub condition_report: Option<String>,
    pub improvement_report: Option<String>,
    pub bank_name: Option<String>,
    /// Sealed (`domain::bank`) for this rental.
    pub bank_account: Option<Vec<u8>>,
    pub paid_at: Option<OffsetDateTime>,
    pub refunded_at: Option<OffsetDateTime>,
    /// `lost` or `returned_by_staff` when an admin closed the rental.
    pub closed_reason: Option<String>,
    pub closed_note: Option<String>,
}

/// `query_as!` for [`Rental`]s: the select list, then the query's tail. A view's
/// columns are all nullable to the compiler, so the ones the tables declare NOT NULL say
/// so here.
macro_rules! rentals {
    ($tail:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Rental,
            r#"SELECT id AS "id!", user_id AS "user_id!", user_name AS "user_name!", user_phone,
                      umbrella_id AS "umbrella_id!", umbrella_number AS "umbrella_number!",
                      rent_store_id AS "rent_store_id!", rent_store_name AS "rent_store_name!",
                      rented_at AS "rented_at!", returned_at, return_store_id, return_store_name,
                      condition_report, improvement_report, bank_name, bank_account, paid_at, refunded_at,
                      closed_reason, closed_note
               FROM rental_details "# + $tail
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Rental>> {
    rentals!("WHERE id = $1", id).fetch_optional(db).await
}

/// The user's open rental.
pub async fn open_of(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<Rental>> {
    rentals!("WHERE user_id = $1 AND returned_at IS NULL", user_id)
        .fetch_optional(db)
        .await
}

/// All of the user's rentals, newest first.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<Rental>> {
    rentals!(
        "WHERE user_id = $1 ORDER BY rented_at DESC, id DESC",
        user_id
    )
    .fetch_all(db)
    .await
}

/// Rentals newest first; `refunded` filters on the refund when given.
/// Which rentals an admin list shows.
pub struct Filter<'a> {
    /// Only refunded (`true`) or not yet refunded (`false`) ones.
    pub refunded: Option<bool>,
    /// `open`, `overdue`, `unpaid` (open, deposit not confirmed), `refund_due` (back,
    /// deposit confirmed, not refunded), `closed`, `today` (rented since midnight in
    /// Korea), or anything else for all.
    pub status: &'a str,
    /// Days after which an open rental is overdue.
    pub rental_days: i32,
    /// Part of the renter's name or phone number, or the umbrella's number.
    pub search: Option<&'a str>,
}

pub async fn page(
    db: impl PgExecutor<'_>,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Rental>> {
    rentals!(
        r#"WHERE ($1::bool IS NULL OR (refunded_at IS NOT NULL) = $1)
             AND CASE $2::text
                   WHEN 'open' THEN returned_at IS NULL
                   WHEN 'overdue' THEN returned_at IS NULL AND rented_at < now() - make_interval(days => $3::int)
                   WHEN 'unpaid' THEN returned_at IS NULL AND paid_at IS NULL
                   WHEN 'refund_due' THEN returned_at IS NOT NULL AND paid_at IS NOT NULL AND refunded_at IS NULL
                                          AND closed_reason IS DISTINCT FROM 'lost'
                   WHEN 'closed' THEN returned_at IS NOT NULL
                   WHEN 'today' THEN rented_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul'
                   ELSE true
                 END
             AND ($4::text IS NULL
                  OR strpos(lower(user_name), lower($4)) > 0
                  OR umbrella_number::text = $4
                  OR (length(regexp_replace($4, '\D', '', 'g')) >= 3
                      AND strpos(regexp_replace(coalesce(user_phone, ''), '\D', '', 'g'),
                                 regexp_replace($4, '\D', '', 'g')) > 0))
           ORDER BY id DESC LIMIT $5 OFFSET $6"#,
        f.refunded,
        f.status,
        f.rental_days,
        f.search,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// What the operators' dashboard counts.
pub struct Dashboard {
    pub rented_today: i64,
    pub open: i64,
    pub overdue: i64,
    pub unpaid_deposits: i64,
    pub refunds_due: i64,
}

pub async fn dashboard(db: impl PgExecutor<'_>, rental_days: i32) -> sqlx::Result<Dashboard> {
    sqlx::query_as!(
        Dashboard,
        r#"SELECT
             count(*) FILTER (WHERE rented_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul') AS "rented_today!",
             count(*) FILTER (WHERE returned_at IS NULL) AS "open!",
             count(*) FILTER (WHERE returned_at IS NULL AND rented_at < now() - make_interval(days => $1::int)) AS "overdue!",
             count(*) FILTER (WHERE returned_at IS NULL AND paid_at IS NULL) AS "unpaid_deposits!",
             count(*) FILTER (WHERE returned_at IS NOT NULL AND paid_at IS NOT NULL AND refunded_at IS NULL
                                AND closed_reason IS DISTINCT FROM 'lost') AS "refunds_due!"
           FROM rentals"#,
        rental_days
    )
    .fetch_one(db)
    .await
}

/// Records that an admin read a rental's refund account in full.
pub async fn record_account_view(
    db: impl PgExecutor<'_>,
    admin_id: i64,
    rental_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO account_views (admin_id, rental_id) VALUES ($1, $2)",
        admin_id,
        rental_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One full read of a refund account.
pub struct AccountView {
    pub id: i64,
    pub admin_id: i64,
    pub admin_name: String,
    pub rental_id: i64,
    pub user_name: String,
    pub viewed_at: OffsetDateTime,
}

/// The audit log of refund-account reads, newest first.
pub async fn account_views(
    db: impl PgExecutor<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<AccountView>> {
    sqlx::query_as!(
        AccountView,
        "SELECT v.id, v.admin_id, a.name AS admin_name, v.rental_id, u.name AS user_name, v.viewed_at \
         FROM account_views v JOIN users a ON a.id = v.admin_id \
         JOIN rentals r ON r.id = v.rental_id JOIN users u ON u.id = r.user_id \
         ORDER BY v.id DESC LIMIT $1 OFFSET $2",
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

pub async fn has_open(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM rentals WHERE user_id = $1 AND returned_at IS NULL) AS "exists!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// The id of the user's open rental.
pub async fn open_id(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM rentals WHERE user_id = $1 AND returned_at IS NULL",
        user_id
    )
    .fetch_optional(db)
    .await
}

/// The user's open rental, locked until the transaction ends.
pub struct OpenRental {
    pub id: i64,
    pub umbrella_id: i64,
}

pub async fn lock_open(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<OpenRental>> {
    sqlx::query_as!(
        OpenRental,
        "SELECT id, umbrella_id FROM rentals WHERE user_id = $1 AND returned_at IS NULL FOR UPDATE",
        user_id
    )
    .fetch_optional(db)
    .await
}

/// Starts a rental; returns its id. The open-rental unique indexes
/// (`rentals_open_umbrella_key`, `rentals_open_user_key`) refuse a second one.
pub async fn start(
    db: impl PgExecutor<'_>,
    umbrella_id: i64,
    user_id: i64,
    store_id: i64,
    condition_report: Option<&str>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO rentals (umbrella_id, user_id, rent_store_id, condition_report) \
         VALUES ($1, $2, $3, $4) RETURNING id",
        umbrella_id,
        user_id,
        store_id,
        condition_report
    )
    .fetch_one(db)
    .await
}

/// What a return records.
pub struct Return<'a> {
    pub store_id: i64,
    pub improvement_report: Option<&'a str>,
    pub bank_name: &'a str,
    /// The refund account, sealed for this rental.
    pub bank_account: &'a [u8],
}

pub async fn close(db: impl PgExecutor<'_>, id: i64, r: &Return<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET returned_at = now(), return_store_id = $2, improvement_report = $3, \
                bank_name = $4, bank_account = $5 \
         WHERE id = $1",
        id,
        r.store_id,
        r.improvement_report,
        r.bank_name,
        r.bank_account
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Why an admin closes a rental that did not end with a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The umbrella is gone; it is marked missing.
    Lost,
    /// Staff took the umbrella back at a store; it stands there, rentable again.
    ReturnedByStaff { store_id: i64 },
}

/// The open rental with this id, locked until the transaction ends. `None` when there is
/// no such rental; `Some(false)` when it is not open.
pub async fn lock_if_open(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<(bool, i64)>> {
    let row = sqlx::query!(
        r#"SELECT returned_at IS NULL AS "open!", umbrella_id FROM rentals WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.open, r.umbrella_id)))
}

/// Closes an open rental without a return by the renter.
pub async fn close_by_admin(
    db: impl PgExecutor<'_>,
    id: i64,
    closing: Closing,
    note: Option<&str>,
    admin_id: i64,
) -> sqlx::Result<()> {
    let (reason, store_id) = match closing {
        Closing::Lost => ("lost", None),
        Closing::ReturnedByStaff { store_id } => ("returned_by_staff", Some(store_id)),
    };
    sqlx::query!(
        "UPDATE rentals SET returned_at = now(), return_store_id = $2, closed_reason = $3, \
                closed_note = $4, closed_by = $5 \
         WHERE id = $1 AND returned_at IS NULL",
        id,
        store_id,
        reason,
        note,
        admin_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Where a rental's deposit stands, locked until the transaction ends.
pub struct DepositState {
    pub paid: bool,
    pub refunded: bool,
    pub returned: bool,
}

pub async fn lock_deposit(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<DepositState>> {
    sqlx::query_as!(
        DepositState,
        r#"SELECT paid_at IS NOT NULL AS "paid!", refunded_at IS NOT NULL AS "refunded!",
                  returned_at IS NOT NULL AS "returned!"
           FROM rentals WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Sets the deposit's paid and refunded marks; a mark already set keeps its time and
/// the admin who set it.
pub async fn set_deposit(
    db: impl PgExecutor<'_>,
    id: i64,
    paid: bool,
    refunded: bool,
    admin_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET \
            paid_at = CASE WHEN $2 THEN COALESCE(paid_at, now()) END, \
            paid_by = CASE WHEN $2 THEN COALESCE(paid_by, $4) END, \
            refunded_at = CASE WHEN $3 THEN COALESCE(refunded_at, now()) END, \
            refunded_by = CASE WHEN $3 THEN COALESCE(refunded_by, $4) END \
         WHERE id = $1",
        id,
        paid,
        refunded,
        admin_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the rental's deposit was refunded; `None` when there is no such rental.
pub async fn is_refunded(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar!(
        r#"SELECT refunded_at IS NOT NULL AS "refunded!" FROM rentals WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Deletes the refund account of a refunded rental.
pub async fn forget_bank_account(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET bank_name = NULL, bank_account = NULL WHERE id = $1 AND refunded_at IS NOT NULL",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

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
