//! Renters' reports of lost and broken umbrellas, for the operators to follow up. Staff
//! see the reports about their stores (rented there, or the umbrella stands there).

use axum::Extension;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values::Report as ReportText;
use crate::error::{Error, Result};
use crate::http::extract::{Json, Paging, Path, Query};
use crate::http::session::Operator;
use crate::http::views::StoreRef;
use crate::repo::reports::{self, RentalReport};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports))
        .routes(routes!(resolve_report))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RentalReportView {
    pub id: i64,
    pub rental_id: i64,
    pub user_name: String,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    /// Where the umbrella was rented.
    pub store: StoreRef,
    /// `lost` or `broken`.
    pub kind: String,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
}

impl From<RentalReport> for RentalReportView {
    fn from(r: RentalReport) -> Self {
        Self {
            id: r.id,
            rental_id: r.rental_id,
            user_name: r.user_name,
            umbrella_id: r.umbrella_id,
            umbrella_number: r.umbrella_number,
            store: StoreRef {
                id: r.store_id,
                name: r.store_name,
            },
            kind: r.kind,
            note: r.note,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            resolution: r.resolution,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportFilter {
    /// `open` (default): not yet followed up; `all`: every report.
    #[param(pattern = "^(open|all)$")]
    pub status: Option<String>,
}

/// Renters' reports of lost and broken umbrellas, newest first (staff: their stores').
#[utoipa::path(get, path = "/reports", tag = "admin", params(Paging, ReportFilter),
    responses((status = 200, body = [RentalReportView]), (status = 422, body = crate::error::Problem)))]
pub async fn list_reports(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Query(paging): Query<Paging>,
    Query(filter): Query<ReportFilter>,
) -> Result<Json<Vec<RentalReportView>>> {
    let all = match filter.status.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => {
            return Err(Error::invalid(
                "invalid_status",
                "status는 open 또는 all입니다. (status is open or all.)",
            ));
        }
    };
    let page = reports::page(
        &state.db,
        all,
        operator.store_scope(),
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Resolution {
    /// What was done (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Marks a report followed up.
#[utoipa::path(post, path = "/reports/{id}/resolve", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = RentalReportView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "already followed up", body = crate::error::Problem)))]
pub async fn resolve_report(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<Resolution>,
) -> Result<Json<RentalReportView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    let mut tx = state.db.begin().await?;
    let report = reports::find(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("report"))?;
    if let Some(stores) = operator.store_scope() {
        // Theirs when rented there or the umbrella stands there now.
        let standing_at = crate::repo::umbrellas::find(&mut *tx, report.umbrella_id)
            .await?
            .map(|u| u.store_id);
        if !stores.contains(&report.store_id) && !standing_at.is_some_and(|s| stores.contains(&s)) {
            operator.may_manage(report.store_id)?;
        }
    }
    if !reports::resolve(&mut *tx, id, operator.id, note.as_deref()).await? {
        return Err(Error::conflict(
            "already_resolved",
            "이미 처리된 신고입니다. (Already followed up.)",
        ));
    }
    operator
        .log(
            &mut *tx,
            "report.resolve",
            "rental",
            Some(report.rental_id),
            json!({"report_id": id, "note": note.as_deref()}),
        )
        .await?;
    tx.commit().await?;
    reports::find(&state.db, id)
        .await?
        .map(|r| Json(r.into()))
        .ok_or(Error::NotFound("report"))
}
