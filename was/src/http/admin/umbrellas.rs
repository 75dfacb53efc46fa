//! Admin: umbrellas and their statistics.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values;
use crate::error::{Error, Result, ResultExt, unknown_store};
use crate::http::extract::{Json, Path, Query};
use crate::http::session::Operator;
use crate::repo::stores;
use crate::repo::umbrellas::{self, Counts, Umbrella, UmbrellaFields};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(set_missed))
        .routes(routes!(statistics))
        .routes(routes!(store_statistics))
}

#[derive(Serialize, ToSchema)]
pub struct UmbrellaView {
    pub id: i64,
    pub store_id: i64,
    pub number: i64,
    pub rentable: bool,
    pub missed: bool,
    /// In an open rental right now.
    pub rented: bool,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Umbrella> for UmbrellaView {
    fn from(u: Umbrella) -> Self {
        Self {
            id: u.id,
            store_id: u.store_id,
            number: u.number,
            rentable: u.rentable,
            missed: u.missed,
            rented: u.rented,
            note: u.note,
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct UmbrellaFilter {
    /// Only umbrellas at this store.
    pub store_id: Option<i64>,
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub size: Option<u32>,
}

/// Umbrellas in service, paged, optionally of one store.
#[utoipa::path(get, operation_id = "list_umbrellas", path = "/umbrellas", tag = "admin", params(UmbrellaFilter), responses((status = 200, body = [UmbrellaView])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Query(filter): Query<UmbrellaFilter>,
) -> Result<Json<Vec<UmbrellaView>>> {
    let size = i64::from(filter.size.unwrap_or(20).clamp(1, 100));
    // Staff see their own stores' umbrellas: the one store they work for, or the one
    // they pick.
    let store_id = match (filter.store_id, operator.store_scope()) {
        (Some(id), _) => {
            operator.may_manage(id)?;
            Some(id)
        }
        (None, Some([only])) => Some(*only),
        (None, Some(_)) => {
            return Err(Error::invalid(
                "store_required",
                "매장을 골라 주세요 (store_id). (Pick one of your stores.)",
            ));
        }
        (None, None) => None,
    };
    let page = umbrellas::page(&state.db, store_id, size, i64::from(filter.page) * size).await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct UmbrellaInput {
    #[schema(example = 1)]
    pub store_id: i64,
    /// Management number, unique among umbrellas in service.
    #[schema(example = 101)]
    pub number: i64,
    #[serde(default = "yes")]
    pub rentable: bool,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

fn yes() -> bool {
    true
}

impl UmbrellaInput {
    fn fields<'a>(&self, note: &'a str) -> UmbrellaFields<'a> {
        UmbrellaFields {
            store_id: self.store_id,
            number: self.number,
            rentable: self.rentable,
            note,
        }
    }
}

fn umbrella_constraints(c: &str) -> Option<Error> {
    match c {
        "umbrellas_number_key" => Some(Error::conflict(
            "duplicate_umbrella_number",
            "같은 번호의 우산이 이미 있습니다.",
        )),
        "umbrellas_number_check" => Some(Error::invalid(
            "invalid_umbrella_number",
            "우산 번호는 1 이상이어야 합니다.",
        )),
        "umbrellas_store_id_fkey" => Some(unknown_store()),
        _ => None,
    }
}

async fn view(state: &AppState, id: i64) -> Result<UmbrellaView> {
    umbrellas::find(&state.db, id)
        .await?
        .map(Into::into)
        .ok_or(Error::NotFound("umbrella"))
}

/// Adds an umbrella to a store.
#[utoipa::path(post, operation_id = "create_umbrella", path = "/umbrellas", tag = "admin",
    responses((status = 201, body = UmbrellaView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Json(body): Json<UmbrellaInput>,
) -> Result<(StatusCode, Json<UmbrellaView>)> {
    let note = values::text(&body.note, "메모", 500)?;
    let mut tx = state.db.begin().await?;
    let id = umbrellas::create(&mut *tx, &body.fields(&note))
        .await
        .on_constraint(umbrella_constraints)?
        .ok_or_else(unknown_store)?;
    admin
        .log(
            &mut *tx,
            "umbrella.create",
            "umbrella",
            Some(id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&state, id).await?)))
}

/// Edits an umbrella. A rented umbrella cannot be moved or made rentable.
#[utoipa::path(put, operation_id = "update_umbrella", path = "/umbrellas/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UmbrellaView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<UmbrellaInput>,
) -> Result<Json<UmbrellaView>> {
    let note = values::text(&body.note, "메모", 500)?;
    let mut tx = state.db.begin().await?;
    let current = umbrellas::lock(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("umbrella"))?;
    if current.rented && (body.rentable || body.store_id != current.store_id) {
        return Err(Error::conflict(
            "umbrella_rented",
            "대여 중인 우산은 반납될 때까지 옮기거나 대여 가능으로 바꿀 수 없습니다.",
        ));
    }
    if !stores::exists(&mut *tx, body.store_id).await? {
        return Err(unknown_store());
    }
    umbrellas::update(&mut *tx, id, &body.fields(&note))
        .await
        .on_constraint(umbrella_constraints)?;
    admin
        .log(
            &mut *tx,
            "umbrella.update",
            "umbrella",
            Some(id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(view(&state, id).await?))
}

/// Takes an umbrella out of service (soft delete; its number becomes free).
#[utoipa::path(delete, operation_id = "delete_umbrella", path = "/umbrellas/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !umbrellas::retire(&mut *tx, id).await? {
        view(&state, id).await?;
        return Err(Error::conflict(
            "umbrella_rented",
            "대여 중인 우산은 반납된 뒤에 삭제할 수 있습니다.",
        ));
    }
    admin
        .log(&mut *tx, "umbrella.retire", "umbrella", Some(id), json!({}))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct Missed {
    pub missed: bool,
}

/// Marks an umbrella missing (or found again).
#[utoipa::path(put, path = "/umbrellas/{id}/missed", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UmbrellaView), (status = 404, body = crate::error::Problem)))]
pub async fn set_missed(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<Missed>,
) -> Result<Json<UmbrellaView>> {
    let mut tx = state.db.begin().await?;
    if !umbrellas::set_missed(&mut *tx, id, body.missed).await? {
        return Err(Error::NotFound("umbrella"));
    }
    admin
        .log(
            &mut *tx,
            "umbrella.set_missed",
            "umbrella",
            Some(id),
            json!({"missed": body.missed}),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(view(&state, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Statistics {
    /// Umbrellas in service.
    pub total: i64,
    pub rentable: i64,
    /// In an open rental.
    pub rented: i64,
    pub missing: i64,
    /// missing / total (0 when there are none).
    pub missing_rate: f64,
    /// Rentals ever started (at this store, for a store's statistics).
    pub total_rents: i64,
}

impl From<Counts> for Statistics {
    fn from(c: Counts) -> Self {
        let missing_rate = if c.total == 0 {
            0.0
        } else {
            c.missing as f64 / c.total as f64
        };
        Self {
            total: c.total,
            rentable: c.rentable,
            rented: c.rented,
            missing: c.missing,
            missing_rate,
            total_rents: c.total_rents,
        }
    }
}

pub async fn statistics_of(state: &AppState, store_id: Option<i64>) -> Result<Statistics> {
    Ok(umbrellas::counts(&state.db, store_id).await?.into())
}

/// Statistics over all umbrellas.
#[utoipa::path(get, path = "/umbrellas/statistics", tag = "admin", responses((status = 200, body = Statistics)))]
pub async fn statistics(State(state): State<AppState>) -> Result<Json<Statistics>> {
    Ok(Json(statistics_of(&state, None).await?))
}

/// Statistics of one store's umbrellas.
#[utoipa::path(get, path = "/stores/{id}/umbrellas/statistics", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = Statistics), (status = 404, body = crate::error::Problem)))]
pub async fn store_statistics(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Statistics>> {
    if !stores::exists(&state.db, id).await? {
        return Err(Error::NotFound("store"));
    }
    Ok(Json(statistics_of(&state, Some(id)).await?))
}
