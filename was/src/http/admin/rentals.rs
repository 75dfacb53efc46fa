//! Admin: rentals, deposit confirmations, reports.

use crate::domain::bank::Owner;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, Result};
use crate::http::extract::{Json, Paging, Path, Query};
use crate::http::session::Admin;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(update))
        .routes(routes!(delete_bank_account))
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
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub return_store_id: Option<i64>,
    pub return_store_name: Option<String>,
    pub condition_report: Option<String>,
    pub improvement_report: Option<String>,
    /// The refund account, decrypted for the admin who makes the transfer.
    pub bank_name: Option<String>,
    pub account_number: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub refunded_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct AdminRentalRow {
    id: i64,
    user_id: i64,
    user_name: String,
    user_phone: Option<String>,
    umbrella_id: i64,
    umbrella_number: i64,
    rent_store_id: i64,
    rent_store_name: String,
    rented_at: OffsetDateTime,
    returned_at: Option<OffsetDateTime>,
    return_store_id: Option<i64>,
    return_store_name: Option<String>,
    condition_report: Option<String>,
    improvement_report: Option<String>,
    bank_name: Option<String>,
    bank_account: Option<Vec<u8>>,
    paid_at: Option<OffsetDateTime>,
    refunded_at: Option<OffsetDateTime>,
}

const SELECT: &str = "SELECT r.id, r.user_id, us.name AS user_name, us.phone AS user_phone, r.umbrella_id, \
        u.number AS umbrella_number, r.rent_store_id, rs.name AS rent_store_name, r.rented_at, r.returned_at, \
        r.return_store_id, ts.name AS return_store_name, r.condition_report, r.improvement_report, \
        r.bank_name, r.bank_account, r.paid_at, r.refunded_at \
    FROM rentals r JOIN users us ON us.id = r.user_id JOIN umbrellas u ON u.id = r.umbrella_id \
    JOIN stores rs ON rs.id = r.rent_store_id LEFT JOIN stores ts ON ts.id = r.return_store_id";

fn to_view(state: &AppState, r: AdminRentalRow) -> Result<AdminRentalView> {
    let account_number = r
        .bank_account
        .as_deref()
        .map(|b| state.cipher.decrypt(b, Owner::Rental(r.id)))
        .transpose()?;
    Ok(AdminRentalView {
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
        account_number,
        paid_at: r.paid_at,
        refunded_at: r.refunded_at,
    })
}

async fn one(state: &AppState, id: i64) -> Result<AdminRentalView> {
    let row: AdminRentalRow = sqlx::query_as(&format!("{SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    to_view(state, row)
}

#[derive(Deserialize, IntoParams)]
pub struct RentalFilter {
    /// `true`: only refunded rentals; `false`: only not yet refunded.
    pub refunded: Option<bool>,
    #[serde(default)]
    pub page: u32,
    pub size: Option<u32>,
}

/// Rentals, newest first.
#[utoipa::path(get, path = "/rentals", tag = "admin", params(RentalFilter), responses((status = 200, body = [AdminRentalView])))]
pub async fn list(
    State(state): State<AppState>,
    Query(filter): Query<RentalFilter>,
) -> Result<Json<Vec<AdminRentalView>>> {
    let size = i64::from(filter.size.unwrap_or(20).clamp(1, 100));
    let rows: Vec<AdminRentalRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE $1::bool IS NULL OR (r.refunded_at IS NOT NULL) = $1 ORDER BY r.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(filter.refunded)
    .bind(size)
    .bind(i64::from(filter.page) * size)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(
        rows.into_iter()
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
    let current: Option<(bool, bool, bool)> = sqlx::query_as(
        "SELECT paid_at IS NOT NULL, refunded_at IS NOT NULL, returned_at IS NOT NULL FROM rentals WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (paid, refunded, returned) = current.ok_or(Error::NotFound("rental"))?;
    let paid_next = body.paid.unwrap_or(paid);
    let refunded_next = body.refunded.unwrap_or(refunded);
    if refunded_next && !paid_next {
        return Err(Error::conflict(
            "a deposit that was not paid cannot be refunded",
        ));
    }
    if refunded_next && !refunded && !returned {
        return Err(Error::conflict("the umbrella is not returned yet"));
    }
    sqlx::query(
        "UPDATE rentals SET \
            paid_at = CASE WHEN $2 THEN COALESCE(paid_at, now()) END, \
            paid_by = CASE WHEN $2 THEN COALESCE(paid_by, $4) END, \
            refunded_at = CASE WHEN $3 THEN COALESCE(refunded_at, now()) END, \
            refunded_by = CASE WHEN $3 THEN COALESCE(refunded_by, $4) END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(paid_next)
    .bind(refunded_next)
    .bind(admin.id)
    .execute(&mut *tx)
    .await?;
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

/// Deletes a rental's bank account; only after the refund.
#[utoipa::path(delete, path = "/rentals/{id}/bank-account", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let refunded: Option<bool> =
        sqlx::query_scalar("SELECT refunded_at IS NOT NULL FROM rentals WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    match refunded {
        None => Err(Error::NotFound("rental")),
        Some(false) => Err(Error::conflict(
            "bank information can be deleted only after the refund",
        )),
        Some(true) => {
            sqlx::query("UPDATE rentals SET bank_name = NULL, bank_account = NULL WHERE id = $1 AND refunded_at IS NOT NULL")
                .bind(id)
                .execute(&state.db)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
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
    Ok(Json(
        sqlx::query_as(
            "SELECT r.id AS rental_id, r.umbrella_id, u.number AS umbrella_number, r.condition_report AS content, \
                    r.rented_at AS written_at \
             FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id WHERE r.condition_report IS NOT NULL \
             ORDER BY r.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(paging.limit())
        .bind(paging.offset())
        .fetch_all(&state.db)
        .await?,
    ))
}

/// Improvement reports written at return, newest first.
#[utoipa::path(get, path = "/improvement-reports", tag = "admin", params(Paging), responses((status = 200, body = [ReportView])))]
pub async fn improvement_reports(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<ReportView>>> {
    Ok(Json(
        sqlx::query_as(
            "SELECT r.id AS rental_id, r.umbrella_id, u.number AS umbrella_number, r.improvement_report AS content, \
                    r.returned_at AS written_at \
             FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id \
             WHERE r.improvement_report IS NOT NULL AND r.returned_at IS NOT NULL \
             ORDER BY r.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(paging.limit())
        .bind(paging.offset())
        .fetch_all(&state.db)
        .await?,
    ))
}
