//! Rentals: renting and returning, the renter's history, deposits and reports.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use crate::domain::deposit::{self, ForfeitReason, Operation, Phase, Standing};

mod reports;
pub use reports::*;

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
    /// `domain::deposit::State`'s name.
    pub deposit_state: String,
    pub deposit_amount: i32,
    pub deposit_reference: Option<String>,
    pub forfeit_reason: Option<String>,
    pub found_at: Option<OffsetDateTime>,
    /// Rented with a signed code (false: an original sticker in the migration mode).
    pub rent_verified: bool,
    pub return_verified: Option<bool>,
    pub locker_resynced_at: Option<OffsetDateTime>,
}

impl Rental {
    /// Where the rental's deposit stands. The schema's checks keep the state's name
    /// among the machine's.
    pub fn standing(&self) -> Standing {
        standing_of(
            &self.deposit_state,
            self.forfeit_reason.as_deref(),
            self.returned_at.is_some(),
            self.closed_reason.as_deref(),
            self.found_at.is_some(),
        )
    }
}

fn standing_of(
    state: &str,
    forfeit: Option<&str>,
    returned: bool,
    closed_reason: Option<&str>,
    found: bool,
) -> Standing {
    let phase = match (returned, closed_reason) {
        (false, _) => Phase::Open,
        (true, Some("lost")) if !found => Phase::Lost,
        (true, _) => Phase::Returned,
    };
    Standing {
        state: deposit::State::parse(state).unwrap_or(deposit::State::AwaitingPayment),
        phase,
        forfeit: forfeit.and_then(ForfeitReason::parse),
    }
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
                      closed_reason, closed_note, deposit_state AS "deposit_state!",
                      deposit_amount AS "deposit_amount!", deposit_reference, forfeit_reason,
                      found_at, rent_verified AS "rent_verified!", return_verified, locker_resynced_at
               FROM rental_details "# + $tail
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Rental>> {
    rentals!("WHERE id = $1", id).fetch_optional(db).await
}

/// The open rental of the umbrella with this management number.
pub async fn open_by_umbrella_number(
    db: impl PgExecutor<'_>,
    number: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT r.id FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id \
         WHERE u.number = $1 AND NOT u.deleted AND r.returned_at IS NULL",
        number
    )
    .fetch_optional(db)
    .await
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

/// Which rentals an admin list shows.
pub struct Filter<'a> {
    /// Only refunded (`true`) or not yet refunded (`false`) ones.
    pub refunded: Option<bool>,
    /// `open`, `overdue`, `closed`, `today` (rented since midnight in Korea), `flagged`
    /// (rented or returned without a signed code), a deposit state's name
    /// (`awaiting_payment`, `refund_due`, ...; `unpaid` is `awaiting_payment`), or
    /// anything else for all.
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
                   WHEN 'unpaid' THEN deposit_state = 'awaiting_payment'
                   WHEN 'closed' THEN returned_at IS NOT NULL
                   WHEN 'flagged' THEN NOT rent_verified OR return_verified IS FALSE
                   WHEN 'today' THEN rented_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul'
                   WHEN 'all' THEN true
                   ELSE deposit_state = $2
                 END
             AND ($4::text IS NULL
                  OR deposit_reference = $4
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
    pub refunds_failed: i64,
    /// Rented or returned without a signed code in the last 7 days.
    pub flagged: i64,
    pub deposits_held: i64,
    pub deposits_held_amount: i64,
}

pub async fn dashboard(db: impl PgExecutor<'_>, rental_days: i32) -> sqlx::Result<Dashboard> {
    sqlx::query_as!(
        Dashboard,
        r#"SELECT
             count(*) FILTER (WHERE rented_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul') AS "rented_today!",
             count(*) FILTER (WHERE returned_at IS NULL) AS "open!",
             count(*) FILTER (WHERE returned_at IS NULL AND rented_at < now() - make_interval(days => $1::int)) AS "overdue!",
             count(*) FILTER (WHERE deposit_state = 'awaiting_payment') AS "unpaid_deposits!",
             count(*) FILTER (WHERE deposit_state = 'refund_due') AS "refunds_due!",
             count(*) FILTER (WHERE deposit_state = 'refund_failed') AS "refunds_failed!",
             count(*) FILTER (WHERE (NOT rent_verified OR return_verified IS FALSE)
                                AND greatest(rented_at, returned_at) > now() - interval '7 days') AS "flagged!",
             count(*) FILTER (WHERE deposit_state IN ('paid', 'refund_due', 'refund_failed')) AS "deposits_held!",
             coalesce(sum(deposit_amount) FILTER (WHERE deposit_state IN ('paid', 'refund_due', 'refund_failed')), 0)::bigint AS "deposits_held_amount!"
           FROM rentals"#,
        rental_days
    )
    .fetch_one(db)
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
pub struct NewRental<'a> {
    pub umbrella_id: i64,
    pub user_id: i64,
    pub store_id: i64,
    pub condition_report: Option<&'a str>,
    pub deposit_amount: i32,
    /// Rented with the umbrella's signed code.
    pub verified: bool,
}

pub async fn start(db: impl PgExecutor<'_>, r: &NewRental<'_>) -> sqlx::Result<i64> {
    // The transfer reference: the renter's name (three characters, as a bank statement
    // shows the sender) and the rental id's last four digits.
    sqlx::query_scalar!(
        "WITH n AS (SELECT nextval('rentals_id_seq') AS id) \
         INSERT INTO rentals (id, umbrella_id, user_id, rent_store_id, condition_report, deposit_amount, \
                              rent_verified, deposit_reference) \
         SELECT n.id, $1, $2, $3, $4, $5, $6, \
                left(regexp_replace(u.name, '\\s', '', 'g'), 3) || lpad((n.id % 10000)::text, 4, '0') \
         FROM n, users u WHERE u.id = $2 RETURNING id",
        r.umbrella_id,
        r.user_id,
        r.store_id,
        r.condition_report,
        r.deposit_amount,
        r.verified
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
    /// Returned with the store's signed code.
    pub verified: bool,
}

pub async fn close(db: impl PgExecutor<'_>, id: i64, r: &Return<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET returned_at = now(), return_store_id = $2, improvement_report = $3, \
                bank_name = $4, bank_account = $5, return_verified = $6 \
         WHERE id = $1",
        id,
        r.store_id,
        r.improvement_report,
        r.bank_name,
        r.bank_account,
        r.verified
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

/// A rental's deposit as a transition needs it, locked until the transaction ends.
pub struct LockedDeposit {
    pub user_id: i64,
    pub umbrella_id: i64,
    pub standing: Standing,
    pub amount: i32,
    pub has_account: bool,
}

pub async fn lock_deposit(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<LockedDeposit>> {
    let row = sqlx::query!(
        r#"SELECT user_id, umbrella_id, deposit_state, forfeit_reason, returned_at IS NOT NULL AS "returned!",
                  closed_reason, found_at IS NOT NULL AS "found!", deposit_amount,
                  bank_account IS NOT NULL AS "has_account!"
           FROM rentals WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| LockedDeposit {
        user_id: r.user_id,
        umbrella_id: r.umbrella_id,
        standing: standing_of(
            &r.deposit_state,
            r.forfeit_reason.as_deref(),
            r.returned,
            r.closed_reason.as_deref(),
            r.found,
        ),
        amount: r.deposit_amount,
        has_account: r.has_account,
    }))
}

/// Who made a deposit move: an operator or the renter (their id), or the service.
#[derive(Debug, Clone, Copy)]
pub struct Actor(pub Option<i64>);

/// One transition of the machine, as the ledger records it.
pub struct Transition<'a> {
    pub id: i64,
    pub op: Operation,
    pub from: Standing,
    pub to: Standing,
    pub amount: i32,
    pub actor: Actor,
    pub note: Option<&'a str>,
}

/// Writes a transition: the rental's state (and the paid/refunded marks the older
/// columns keep), and a ledger entry naming who made it. The caller checked it with
/// `domain::deposit::apply` under the row lock.
pub async fn record_transition(
    tx: &mut sqlx::PgConnection,
    t: &Transition<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET deposit_state = $2, forfeit_reason = $3, \
            paid_at = CASE WHEN $4 THEN now() ELSE paid_at END, \
            paid_by = CASE WHEN $4 THEN $5 ELSE paid_by END, \
            refunded_at = CASE WHEN $6 THEN now() ELSE refunded_at END, \
            refunded_by = CASE WHEN $6 THEN $5 ELSE refunded_by END \
         WHERE id = $1",
        t.id,
        t.to.state.as_str(),
        t.to.forfeit.map(ForfeitReason::as_str),
        t.op == Operation::ConfirmPayment,
        t.actor.0,
        t.op == Operation::Refund,
    )
    .execute(&mut *tx)
    .await?;
    if t.from.state == t.to.state && t.from.forfeit == t.to.forfeit {
        // The umbrella moved but the money did not (a return before payment): the
        // ledger lists only what changed a deposit.
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO deposit_events (rental_id, operation, from_state, to_state, amount, actor_id, \
                                     actor_email, actor_name, note) \
         SELECT $1, $2, $3, $4, $5, $6, u.email, coalesce(u.name, '시스템'), $7 \
         FROM (SELECT 1) one LEFT JOIN users u ON u.id = $6",
        t.id,
        t.op.as_str(),
        t.from.state.as_str(),
        t.to.state.as_str(),
        t.amount,
        t.actor.0,
        t.note,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Why a user may not rent until a deposit is settled.
pub enum Owing {
    /// A rental closed as lost whose deposit was never paid (nor waived).
    Lost { rental_id: i64 },
    /// Returned more than the grace period ago, deposit still unpaid.
    Unpaid { rental_id: i64 },
}

/// The first thing the user owes, if any.
pub async fn owing(
    db: impl PgExecutor<'_>,
    user_id: i64,
    unpaid_grace_days: i32,
) -> sqlx::Result<Option<Owing>> {
    let row = sqlx::query!(
        r#"SELECT id, (closed_reason IS NOT DISTINCT FROM 'lost' AND found_at IS NULL) AS "lost!"
           FROM rentals
           WHERE user_id = $1 AND deposit_state = 'awaiting_payment' AND returned_at IS NOT NULL
             AND ((closed_reason = 'lost' AND found_at IS NULL)
                  OR returned_at < now() - make_interval(days => $2::int))
           ORDER BY id LIMIT 1"#,
        user_id,
        unpaid_grace_days
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        if r.lost {
            Owing::Lost { rental_id: r.id }
        } else {
            Owing::Unpaid { rental_id: r.id }
        }
    }))
}

/// A lost umbrella came back at `store_id`.
pub async fn mark_found(db: impl PgExecutor<'_>, id: i64, store_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET found_at = now(), found_store_id = $2 WHERE id = $1",
        id,
        store_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets (or replaces) the refund account of a returned rental.
pub async fn set_refund_account(
    db: impl PgExecutor<'_>,
    id: i64,
    bank_name: &str,
    sealed: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET bank_name = $2, bank_account = $3 WHERE id = $1",
        id,
        bank_name,
        sealed
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The renter re-synced the locker for this rental (once per rental).
pub async fn mark_resynced(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET locker_resynced_at = now() WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the rental's deposit was refunded; `None` when there is no such rental.
pub async fn is_refunded(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar!(
        r#"SELECT deposit_state = 'refunded' AS "refunded!" FROM rentals WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Deletes the refund account of a refunded rental.
pub async fn forget_bank_account(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rentals SET bank_name = NULL, bank_account = NULL WHERE id = $1 AND deposit_state = 'refunded'",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}
