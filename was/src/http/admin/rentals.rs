//! Admin: rentals, deposit confirmations, reports.

use crate::domain::bank::{self, Owner};
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values::Report as ReportText;
use crate::error::{Error, Result, unknown_store};
use crate::http::extract::{Json, Paging, Path, Query, Search};
use crate::http::session::Admin;
use crate::http::views::RENTAL_DAYS;
use crate::repo::rentals::{self, Closing, Rental, Report};
use crate::repo::{stores, umbrellas};
use crate::state::AppState;

#[allow(clippy::cast_possible_truncation)]
const RENTAL_DAYS_I32: i32 = RENTAL_DAYS as i32;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(list))
        .routes(routes!(update))
        .routes(routes!(bank_account))
        .routes(routes!(account_views))
        .routes(routes!(delete_bank_account))
        .routes(routes!(close))
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
    /// number is read through `GET /rentals/{id}/bank-account`, which is logged.
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
}

fn to_view(state: &AppState, r: Rental) -> Result<AdminRentalView> {
    let account_masked = r
        .bank_account
        .as_deref()
        .map(|b| state.cipher.decrypt(b, Owner::Rental(r.id)))
        .transpose()?
        .map(|number| bank::mask(&number));
    let due_at = r.rented_at + time::Duration::days(RENTAL_DAYS);
    Ok(AdminRentalView {
        due_at,
        overdue: r.returned_at.is_none() && OffsetDateTime::now_utc() > due_at,
        has_bank_account: account_masked.is_some(),
        account_masked,
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
    })
}

async fn one(state: &AppState, id: i64) -> Result<AdminRentalView> {
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
    /// Open, deposit not confirmed.
    Unpaid,
    /// Back, deposit confirmed, not yet refunded (lost umbrellas excepted).
    RefundDue,
    /// Returned or closed by an admin.
    Closed,
    /// Rented since midnight (Korea).
    Today,
}

impl RentalStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Open => "open",
            Self::Overdue => "overdue",
            Self::Unpaid => "unpaid",
            Self::RefundDue => "refund_due",
            Self::Closed => "closed",
            Self::Today => "today",
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

/// Rentals, newest first, by state; `q` finds a renter's name or phone number, or an
/// umbrella's number.
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

#[derive(Deserialize, ToSchema)]
pub struct DepositUpdate {
    /// The deposit was received (or not).
    pub paid: Option<bool>,
    /// The deposit was refunded (or not). Needs the umbrella returned and the deposit paid.
    pub refunded: Option<bool>,
}

/// Confirms (or un-confirms) a deposit payment or refund.
#[utoipa::path(patch, path = "/rentals/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<i64>,
    Json(body): Json<DepositUpdate>,
) -> Result<Json<AdminRentalView>> {
    let mut tx = state.db.begin().await?;
    let current = rentals::lock_deposit(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    let paid_next = body.paid.unwrap_or(current.paid);
    let refunded_next = body.refunded.unwrap_or(current.refunded);
    if refunded_next && !paid_next {
        return Err(Error::conflict(
            "deposit_not_paid",
            "입금되지 않은 보증금은 환급할 수 없습니다.",
        ));
    }
    if refunded_next && !current.refunded && !current.returned {
        return Err(Error::conflict(
            "not_returned",
            "아직 반납되지 않은 대여입니다.",
        ));
    }
    rentals::set_deposit(&mut *tx, id, paid_next, refunded_next, admin.id).await?;
    tx.commit().await?;
    tracing::info!(
        rental_id = id,
        admin_id = admin.id,
        paid = paid_next,
        refunded = refunded_next,
        "deposit state changed"
    );
    Ok(Json(one(&state, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct AccountInFull {
    pub bank_name: String,
    pub account_number: String,
}

/// A rental's refund account in full, for the admin making the transfer. Every read is
/// written to the audit log (`GET /account-views`).
#[utoipa::path(get, path = "/rentals/{id}/bank-account", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AccountInFull), (status = 404, description = "no such rental, or it has no account", body = crate::error::Problem)))]
pub async fn bank_account(
    State(state): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<i64>,
) -> Result<Json<AccountInFull>> {
    let rental = rentals::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    let (Some(bank_name), Some(sealed)) = (rental.bank_name, rental.bank_account) else {
        return Err(Error::NotFound("bank account"));
    };
    let account_number = state.cipher.decrypt(&sealed, Owner::Rental(id))?;
    // Logged before it is shown: a read that cannot be recorded is not served.
    rentals::record_account_view(&state.db, admin.id, id).await?;
    tracing::info!(rental_id = id, admin_id = admin.id, "refund account read");
    Ok(Json(AccountInFull {
        bank_name,
        account_number,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AccountViewEntry {
    pub id: i64,
    pub admin_id: i64,
    pub admin_name: String,
    pub rental_id: i64,
    pub user_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub viewed_at: OffsetDateTime,
}

/// The audit log of refund-account reads, newest first.
#[utoipa::path(get, path = "/account-views", tag = "admin", params(Paging), responses((status = 200, body = [AccountViewEntry])))]
pub async fn account_views(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<AccountViewEntry>>> {
    let page = rentals::account_views(&state.db, paging.limit(), paging.offset()).await?;
    Ok(Json(
        page.into_iter()
            .map(|v| AccountViewEntry {
                id: v.id,
                admin_id: v.admin_id,
                admin_name: v.admin_name,
                rental_id: v.rental_id,
                user_name: v.user_name,
                viewed_at: v.viewed_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct DashboardView {
    /// Rented since midnight (Korea).
    pub rented_today: i64,
    pub open: i64,
    pub overdue: i64,
    /// Open rentals whose deposit is not confirmed.
    pub unpaid_deposits: i64,
    /// Returned, deposit confirmed, not yet refunded.
    pub refunds_due: i64,
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
        umbrellas: crate::http::admin::umbrellas::statistics_of(&state, None).await?,
    }))
}

/// Deletes a rental's bank account; only after the refund.
#[utoipa::path(delete, path = "/rentals/{id}/bank-account", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    match rentals::is_refunded(&state.db, id).await? {
        None => Err(Error::NotFound("rental")),
        Some(false) => Err(Error::conflict(
            "not_refunded",
            "환급을 마친 뒤에만 계좌 정보를 지울 수 있습니다.",
        )),
        Some(true) => {
            rentals::forget_bank_account(&state.db, id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CloseRental {
    /// `lost`: the umbrella is gone (it is marked missing). `returned_by_staff`: staff took
    /// it back at `store_id` (it stands there, rentable again).
    pub reason: String,
    /// Required with `returned_by_staff`.
    #[serde(default)]
    pub store_id: Option<i64>,
    /// Why, for the record (at most 400 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// Closes an open rental that will not end with the renter's return (a lost umbrella,
/// one taken back by staff), so the renter can rent again.
#[utoipa::path(post, path = "/rentals/{id}/close", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "already returned or closed", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn close(
    State(state): State<AppState>,
    Extension(admin): Extension<Admin>,
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
    rentals::close_by_admin(&mut *tx, id, closing, note.as_deref(), admin.id).await?;
    match closing {
        Closing::Lost => umbrellas::mark_lost(&mut *tx, umbrella_id).await?,
        Closing::ReturnedByStaff { store_id } => {
            umbrellas::place(&mut *tx, umbrella_id, store_id).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(
        rental_id = id,
        admin_id = admin.id,
        reason = %body.reason,
        "rental closed by an admin"
    );
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
