//! Admin: rentals, their deposits (every change a named operation of
//! `domain::deposit`), closing and finding, refund accounts, reports.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{self, Owner};
use crate::domain::deposit::{self, Operation};
use crate::domain::values::Report as ReportText;
use crate::error::{Error, Result, unknown_store};
use crate::http::admin::log::BANK_ACCOUNT_READ;
use crate::http::extract::{Json, Paging, Path, Query, Search};
use crate::http::session::Operator;
use crate::http::views::{DepositView, RENTAL_DAYS};
use crate::ledger;
use crate::repo::rentals::{self, Actor, Closing, Rental, Report};
use crate::repo::users::SavedAccount;
use crate::repo::{stores, umbrellas, users};
use crate::state::AppState;

#[allow(clippy::cast_possible_truncation)]
pub const RENTAL_DAYS_I32: i32 = RENTAL_DAYS as i32;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(list))
        .routes(routes!(get_rental))
        .routes(routes!(deposit_operation))
        .routes(routes!(reveal_bank_account))
        .routes(routes!(delete_bank_account))
        .routes(routes!(close))
        .routes(routes!(staff_return))
        .routes(routes!(found))
        .routes(routes!(condition_reports))
        .routes(routes!(improvement_reports))
}

#[derive(Serialize, ToSchema)]
pub struct AdminRentalView {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub user_phone: Option<String>,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub rent_store_id: i64,
    pub rent_store_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub rented_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Open past its due date.
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub return_store_id: Option<i64>,
    pub return_store_name: Option<String>,
    pub condition_report: Option<String>,
    pub improvement_report: Option<String>,
    /// The refund account's bank; the number only masked (`***-***-**6789`). The full
    /// number is read through `POST /rentals/{id}/bank-account/reveal`, which is logged.
    pub bank_name: Option<String>,
    pub account_masked: Option<String>,
    pub has_bank_account: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub refunded_at: Option<OffsetDateTime>,
    /// `lost` or `returned_by_staff` when an admin closed the rental.
    pub closed_reason: Option<String>,
    pub closed_note: Option<String>,
    /// A lost umbrella that came back.
    #[serde(with = "time::serde::rfc3339::option")]
    pub found_at: Option<OffsetDateTime>,
    /// Where the deposit stands, and what an operator may do with it now.
    pub deposit: DepositView,
    #[schema(inline)]
    pub deposit_operations: Vec<Operation>,
    /// Rented with the umbrella's signed code (false: an original sticker, accepted in
    /// the migration mode).
    pub rent_verified: bool,
    /// Returned with the store's signed code; `null` while open or when staff closed it.
    pub return_verified: Option<bool>,
}

pub fn to_view(state: &AppState, r: Rental) -> Result<AdminRentalView> {
    let account_masked = r
        .bank_account
        .as_deref()
        .map(|b| state.cipher.decrypt(b, Owner::Rental(r.id)))
        .transpose()?
        .map(|number| bank::mask(&number));
    let due_at = r.rented_at + time::Duration::days(RENTAL_DAYS);
    let standing = r.standing();
    Ok(AdminRentalView {
        due_at,
        overdue: r.returned_at.is_none() && OffsetDateTime::now_utc() > due_at,
        has_bank_account: account_masked.is_some(),
        account_masked,
        deposit: DepositView::new(&r),
        deposit_operations: deposit::operator_operations(standing),
        id: r.id,
        user_id: r.user_id,
        user_name: r.user_name,
        user_phone: r.user_phone,
        umbrella_id: r.umbrella_id,
        umbrella_number: r.umbrella_number,
        rent_store_id: r.rent_store_id,
        rent_store_name: r.rent_store_name,
        rented_at: r.rented_at,
        returned_at: r.returned_at,
        return_store_id: r.return_store_id,
        return_store_name: r.return_store_name,
        condition_report: r.condition_report,
        improvement_report: r.improvement_report,
        bank_name: r.bank_name,
        paid_at: r.paid_at,
        refunded_at: r.refunded_at,
        closed_reason: r.closed_reason,
        closed_note: r.closed_note,
        found_at: r.found_at,
        rent_verified: r.rent_verified,
        return_verified: r.return_verified,
    })
}

pub async fn one(state: &AppState, id: i64) -> Result<AdminRentalView> {
    let rental = rentals::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    to_view(state, rental)
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RentalStatus {
    #[default]
    All,
    /// Not yet returned.
    Open,
    /// Open past the due date.
    Overdue,
    /// Deposit not received (the umbrella out, back or lost): the payment queue.
    Unpaid,
    /// Deposit received, umbrella back: the refund queue.
    RefundDue,
    /// The bank rejected the refund account; waiting for the renter's new one.
    RefundFailed,
    Refunded,
    /// Deposit kept (lost or damaged).
    Forfeited,
    Waived,
    /// Returned or closed by an admin.
    Closed,
    /// Rented since midnight (Korea).
    Today,
    /// Rented or returned without a signed code (the migration mode).
    Flagged,
}

impl RentalStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Open => "open",
            Self::Overdue => "overdue",
            Self::Unpaid => "unpaid",
            Self::RefundDue => "refund_due",
            Self::RefundFailed => "refund_failed",
            Self::Refunded => "refunded",
            Self::Forfeited => "forfeited",
            Self::Waived => "waived",
            Self::Closed => "closed",
            Self::Today => "today",
            Self::Flagged => "flagged",
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct RentalFilter {
    /// `true`: only refunded rentals; `false`: only not yet refunded.
    pub refunded: Option<bool>,
    #[serde(default)]
    #[param(inline)]
    pub status: RentalStatus,
}

/// Rentals, newest first, by state; `q` finds a renter's name or phone number, an
/// umbrella's number, or a transfer reference.
#[utoipa::path(get, path = "/rentals", tag = "admin", params(RentalFilter, Search, Paging), responses((status = 200, body = [AdminRentalView])))]
pub async fn list(
    State(state): State<AppState>,
    Query(filter): Query<RentalFilter>,
    Query(search): Query<Search>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<AdminRentalView>>> {
    let page = rentals::page(
        &state.db,
        &rentals::Filter {
            refunded: filter.refunded,
            status: filter.status.as_str(),
            rental_days: RENTAL_DAYS_I32,
            search: search.text()?,
        },
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Json(
        page.into_iter()
            .map(|r| to_view(&state, r))
            .collect::<Result<_>>()?,
    ))
}

/// One rental.
#[utoipa::path(get, path = "/rentals/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem)))]
pub async fn get_rental(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<AdminRentalView>> {
    Ok(Json(one(&state, id).await?))
}

/// The operations an operator takes on a deposit.
#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OperatorOperation {
    /// The transfer arrived.
    ConfirmPayment,
    /// The deposit was sent back (needs a refund account).
    Refund,
    /// The bank rejected the refund account: the renter is asked for a new one.
    RefundFailed,
    /// The umbrella came back broken: the deposit is kept, per the terms.
    ForfeitDamaged,
    /// The deposit will not be collected.
    Waive,
}

impl From<OperatorOperation> for Operation {
    fn from(op: OperatorOperation) -> Self {
        match op {
            OperatorOperation::ConfirmPayment => Self::ConfirmPayment,
            OperatorOperation::Refund => Self::Refund,
            OperatorOperation::RefundFailed => Self::RefundFailed,
            OperatorOperation::ForfeitDamaged => Self::ForfeitDamaged,
            OperatorOperation::Waive => Self::Waive,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct DepositRequest {
    pub operation: OperatorOperation,
    /// Why, for the record (at most 400 characters); required for `refund_failed` (the
    /// bank's reason), `forfeit_damaged` (what broke) and `waive`.
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Moves a deposit one step: confirm the payment, refund, record a failed refund, keep
/// it for damage, or waive it. A step that does not apply to where the deposit stands
/// is 409 with the reason; every step is logged with who took it.
#[utoipa::path(post, path = "/rentals/{id}/deposit", tag = "admin", params(("id" = i64, Path)), request_body = DepositRequest,
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "the operation does not apply now", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn deposit_operation(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<DepositRequest>,
) -> Result<Json<AdminRentalView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    // Keeping or not collecting a deposit, or a bank's refusal, is explained for the
    // renter and the books.
    let explained = matches!(
        body.operation,
        OperatorOperation::RefundFailed
            | OperatorOperation::ForfeitDamaged
            | OperatorOperation::Waive
    );
    if explained && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::invalid(
            "note_required",
            "사유를 적어 주세요. (A reason is required.)",
        ));
    }
    let mut tx = state.db.begin().await?;
    move_deposit(&mut tx, &admin, id, body.operation.into(), note.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(one(&state, id).await?))
}

/// One operator step on a deposit, with its log entry, in the caller's transaction.
pub async fn move_deposit(
    tx: &mut sqlx::PgConnection,
    admin: &Operator,
    id: i64,
    op: Operation,
    note: Option<&str>,
) -> Result<()> {
    let applied = ledger::apply(&mut *tx, id, op, Actor(Some(admin.id)), note).await?;
    admin
        .log(
            &mut *tx,
            &format!("deposit.{}", op.as_str()),
            "rental",
            Some(id),
            json!({
                "from": applied.before.standing.state.as_str(),
                "to": applied.after.state.as_str(),
                "amount": applied.before.amount,
                "note": note,
            }),
        )
        .await?;
    users::anonymise_if_settled(&mut *tx, applied.before.user_id).await?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct AccountInFull {
    pub bank_name: String,
    pub account_number: String,
}

/// A rental's refund account in full, for the admin making the transfer. A POST, so no
/// link on another site can make an admin's browser read one (and log it in their
/// name); never cached. Every read is written to the operator log first: a read that
/// cannot be logged is not served.
#[utoipa::path(post, path = "/rentals/{id}/bank-account/reveal", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AccountInFull), (status = 404, description = "no such rental, or it has no account", body = crate::error::Problem)))]
pub async fn reveal_bank_account(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let rental = rentals::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    let (Some(bank_name), Some(sealed)) = (rental.bank_name, rental.bank_account) else {
        return Err(Error::NotFound("bank account"));
    };
    let account_number = state.cipher.decrypt(&sealed, Owner::Rental(id))?;
    admin
        .log(&state.db, BANK_ACCOUNT_READ, "rental", Some(id), json!({}))
        .await?;
    let mut response = Json(AccountInFull {
        bank_name,
        account_number,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct DashboardView {
    /// Rented since midnight (Korea).
    pub rented_today: i64,
    pub open: i64,
    pub overdue: i64,
    /// Deposits not received: open, returned or lost (the payment queue).
    pub unpaid_deposits: i64,
    /// Deposits received whose umbrella is back (the refund queue).
    pub refunds_due: i64,
    /// Refunds the bank rejected, waiting for the renter's new account.
    pub refunds_failed: i64,
    /// Rented or returned without a signed code in the last 7 days.
    pub flagged: i64,
    /// Deposits in our account now, and their sum in won.
    pub deposits_held: i64,
    pub deposits_held_amount: i64,
    pub umbrellas: crate::http::admin::umbrellas::Statistics,
}

/// What needs an operator today.
#[utoipa::path(get, path = "/dashboard", tag = "admin", responses((status = 200, body = DashboardView)))]
pub async fn dashboard(State(state): State<AppState>) -> Result<Json<DashboardView>> {
    let counts = rentals::dashboard(&state.db, RENTAL_DAYS_I32).await?;
    Ok(Json(DashboardView {
        rented_today: counts.rented_today,
        open: counts.open,
        overdue: counts.overdue,
        unpaid_deposits: counts.unpaid_deposits,
        refunds_due: counts.refunds_due,
        refunds_failed: counts.refunds_failed,
        flagged: counts.flagged,
        deposits_held: counts.deposits_held,
        deposits_held_amount: counts.deposits_held_amount,
        umbrellas: crate::http::admin::umbrellas::statistics_of(&state, None).await?,
    }))
}

/// Deletes a rental's bank account; only after the refund.
#[utoipa::path(delete, path = "/rentals/{id}/bank-account", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    match rentals::is_refunded(&state.db, id).await? {
        None => Err(Error::NotFound("rental")),
        Some(false) => Err(Error::conflict(
            "not_refunded",
            "환급을 마친 뒤에만 계좌 정보를 지울 수 있습니다.",
        )),
        Some(true) => {
            let mut tx = state.db.begin().await?;
            rentals::forget_bank_account(&mut *tx, id).await?;
            admin
                .log(
                    &mut *tx,
                    "bank_account.delete",
                    "rental",
                    Some(id),
                    json!({}),
                )
                .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CloseRental {
    /// `lost`: the umbrella is gone (it is marked missing; a paid deposit is kept, per
    /// the terms). `returned_by_staff`: staff took it back at `store_id` (it stands
    /// there, rentable again; a paid deposit is owed back to the renter).
    #[schema(pattern = "^(lost|returned_by_staff)$")]
    pub reason: String,
    /// Required with `returned_by_staff`.
    #[serde(default)]
    pub store_id: Option<i64>,
    /// Why, for the record (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Closes an open rental that will not end with the renter's return (a lost umbrella,
/// one taken back by staff), so the renter can rent again once the deposit is settled.
#[utoipa::path(post, path = "/rentals/{id}/close", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "already returned or closed", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn close(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<CloseRental>,
) -> Result<Json<AdminRentalView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    let closing = match (body.reason.as_str(), body.store_id) {
        ("lost", _) => Closing::Lost,
        ("returned_by_staff", Some(store_id)) => Closing::ReturnedByStaff { store_id },
        ("returned_by_staff", None) => {
            return Err(Error::invalid(
                "store_required",
                "우산을 회수한 매장을 골라 주세요.",
            ));
        }
        _ => {
            return Err(Error::invalid(
                "invalid_reason",
                "사유는 lost(분실) 또는 returned_by_staff(직원 회수)입니다.",
            ));
        }
    };
    close_rental(
        &state,
        &admin,
        id,
        closing,
        note.as_deref(),
        &body.reason,
        body.store_id,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct StaffReturn {
    /// The management number on the umbrella left at the counter.
    #[schema(minimum = 1)]
    pub umbrella_number: i64,
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Staff took back an umbrella left at this store's counter: its open rental is closed
/// as returned by staff here (the umbrella stands here, rentable again; a paid deposit
/// is owed back to the renter). Staff may do it at their own stores only.
#[utoipa::path(post, path = "/stores/{id}/staff-returns", tag = "admin", params(("id" = i64, Path, description = "The store")),
    responses((status = 200, body = AdminRentalView), (status = 404, description = "no such store, or the umbrella is not rented out (`no_open_rental`)", body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn staff_return(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Path(store_id): Path<i64>,
    Json(body): Json<StaffReturn>,
) -> Result<Json<AdminRentalView>> {
    operator.may_manage(store_id)?;
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    if !stores::exists(&state.db, store_id).await? {
        return Err(Error::NotFound("store"));
    }
    let Some(id) = rentals::open_by_umbrella_number(&state.db, body.umbrella_number).await? else {
        return Err(Error::not_found_code(
            "no_open_rental",
            format!(
                "{}번 우산은 지금 대여 중이 아닙니다. 번호를 확인해 주세요. (Umbrella {} is not rented out.)",
                body.umbrella_number, body.umbrella_number
            ),
        ));
    };
    close_rental(
        &state,
        &operator,
        id,
        Closing::ReturnedByStaff { store_id },
        note.as_deref(),
        "returned_by_staff",
        Some(store_id),
    )
    .await
}

async fn close_rental(
    state: &AppState,
    admin: &Operator,
    id: i64,
    closing: Closing,
    note: Option<&str>,
    reason: &str,
    store_id: Option<i64>,
) -> Result<Json<AdminRentalView>> {
    let mut tx = state.db.begin().await?;
    let (open, umbrella_id) = rentals::lock_if_open(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    if !open {
        return Err(Error::conflict(
            "already_closed",
            "이미 반납되었거나 종료된 대여입니다.",
        ));
    }
    if let Closing::ReturnedByStaff { store_id } = closing
        && !stores::exists(&mut *tx, store_id).await?
    {
        return Err(unknown_store());
    }
    let op = match closing {
        Closing::Lost => Operation::Lose,
        Closing::ReturnedByStaff { .. } => Operation::Return,
    };
    let applied = ledger::apply(&mut tx, id, op, Actor(Some(admin.id)), note).await?;
    rentals::close_by_admin(&mut *tx, id, closing, note, admin.id).await?;
    match closing {
        Closing::Lost => umbrellas::mark_lost(&mut *tx, umbrella_id).await?,
        Closing::ReturnedByStaff { store_id } => {
            umbrellas::place(&mut *tx, umbrella_id, store_id).await?;
            // The renter never stood at a return form: their saved account, if any,
            // becomes this rental's refund account (they can add one on their page).
            copy_saved_account(state, &mut tx, applied.before.user_id, id).await?;
        }
    }
    admin
        .log(
            &mut *tx,
            "rental.close",
            "rental",
            Some(id),
            json!({
                "reason": reason,
                "store_id": store_id,
                "note": note,
                "deposit": {"from": applied.before.standing.state.as_str(), "to": applied.after.state.as_str()},
            }),
        )
        .await?;
    users::anonymise_if_settled(&mut *tx, applied.before.user_id).await?;
    tx.commit().await?;
    Ok(Json(one(state, id).await?))
}

async fn copy_saved_account(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    rental_id: i64,
) -> Result<()> {
    if let SavedAccount {
        bank_name: Some(name),
        bank_account: Some(sealed),
    } = users::saved_account(&mut *tx, user_id).await?
    {
        let number = state.cipher.decrypt(&sealed, Owner::User(user_id))?;
        let resealed = state.cipher.encrypt(&number, Owner::Rental(rental_id))?;
        rentals::set_refund_account(&mut *tx, rental_id, &name, &resealed).await?;
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct FoundUmbrella {
    /// Where the umbrella turned up; it stands there, rentable again.
    pub store_id: i64,
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// A rental closed as lost whose umbrella came back: the umbrella stands at the store
/// again, and a deposit kept for the loss is owed back to the renter (refund due).
#[utoipa::path(post, path = "/rentals/{id}/found", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "not a rental closed as lost, or already found", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn found(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<FoundUmbrella>,
) -> Result<Json<AdminRentalView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    let mut tx = state.db.begin().await?;
    if !stores::exists(&mut *tx, body.store_id).await? {
        return Err(unknown_store());
    }
    // A lost umbrella that an operator already put back in service and someone rented
    // since is not moved from under them.
    let umbrella_id = rentals::find(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?
        .umbrella_id;
    if umbrellas::lock(&mut *tx, umbrella_id)
        .await?
        .is_some_and(|u| u.rented)
    {
        return Err(Error::conflict(
            "umbrella_rented",
            "이 우산은 지금 다른 대여 중입니다. 반납된 뒤에 처리해 주세요. (The umbrella is rented out again.)",
        ));
    }
    let applied = ledger::apply(
        &mut tx,
        id,
        Operation::Find,
        Actor(Some(admin.id)),
        note.as_deref(),
    )
    .await?;
    rentals::mark_found(&mut *tx, id, body.store_id).await?;
    umbrellas::recover(&mut *tx, applied.before.umbrella_id, body.store_id).await?;
    if !applied.before.has_account {
        copy_saved_account(&state, &mut tx, applied.before.user_id, id).await?;
    }
    admin
        .log(
            &mut *tx,
            "rental.found",
            "rental",
            Some(id),
            json!({
                "store_id": body.store_id,
                "note": note.as_deref(),
                "deposit": {"from": applied.before.standing.state.as_str(), "to": applied.after.state.as_str()},
            }),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(one(&state, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub rental_id: i64,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
}

/// Condition reports written at rent, newest first.
#[utoipa::path(get, path = "/condition-reports", tag = "admin", params(Paging), responses((status = 200, body = [ReportView])))]
pub async fn condition_reports(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<ReportView>>> {
    let reports = rentals::condition_reports(&state.db, paging.limit(), paging.offset()).await?;
    Ok(Json(reports.into_iter().map(Into::into).collect()))
}

/// Improvement reports written at return, newest first.
#[utoipa::path(get, path = "/improvement-reports", tag = "admin", params(Paging), responses((status = 200, body = [ReportView])))]
pub async fn improvement_reports(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<ReportView>>> {
    let reports = rentals::improvement_reports(&state.db, paging.limit(), paging.offset()).await?;
    Ok(Json(reports.into_iter().map(Into::into).collect()))
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        Self {
            rental_id: r.rental_id,
            umbrella_id: r.umbrella_id,
            umbrella_number: r.umbrella_number,
            content: r.content,
            written_at: r.written_at,
        }
    }
}
