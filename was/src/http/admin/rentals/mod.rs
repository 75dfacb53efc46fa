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

mod closing;
pub use closing::*;

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
#[utoipa::path(get, operation_id = "list_rentals", path = "/rentals", tag = "admin", params(RentalFilter, Search, Paging), responses((status = 200, body = [AdminRentalView])))]
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
#[utoipa::path(delete, operation_id = "delete_rental_refund_account", path = "/rentals/{id}/bank-account", tag = "admin", params(("id" = i64, Path)),
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
