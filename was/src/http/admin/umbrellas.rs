//! Admin: umbrellas and their statistics.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Path, Query};
use crate::repo::stores::RENTABLE;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(set_missed))
        .routes(routes!(statistics))
        .routes(routes!(store_statistics))
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
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

const UMBRELLA_SELECT: &str = "SELECT u.id, u.store_id, u.number, u.rentable, u.missed, \
    EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL) AS rented, \
    u.note, u.created_at FROM umbrellas u";

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
#[utoipa::path(get, path = "/umbrellas", tag = "admin", params(UmbrellaFilter), responses((status = 200, body = [UmbrellaView])))]
pub async fn list(
    State(state): State<AppState>,
    Query(filter): Query<UmbrellaFilter>,
) -> Result<Json<Vec<UmbrellaView>>> {
    let size = i64::from(filter.size.unwrap_or(20).clamp(1, 100));
    let rows = sqlx::query_as(&format!(
        "{UMBRELLA_SELECT} WHERE NOT u.deleted AND ($1::bigint IS NULL OR u.store_id = $1) ORDER BY u.id LIMIT $2 OFFSET $3"
    ))
    .bind(filter.store_id)
    .bind(size)
    .bind(i64::from(filter.page) * size)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}

#[derive(Deserialize, ToSchema)]
pub struct UmbrellaInput {
    pub store_id: i64,
    /// Management number, unique among umbrellas in service.
    pub number: i64,
    #[serde(default = "yes")]
    pub rentable: bool,
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

fn umbrella_constraints(c: &str) -> Option<Error> {
    match c {
        "umbrellas_number_key" => Some(Error::conflict(
            "an umbrella with this number is already in service",
        )),
        "umbrellas_number_check" => Some(Error::invalid("number must be positive")),
        "umbrellas_store_id_fkey" => Some(Error::invalid("store_id does not name a store")),
        _ => None,
    }
}

async fn view(state: &AppState, id: i64) -> Result<UmbrellaView> {
    sqlx::query_as(&format!(
        "{UMBRELLA_SELECT} WHERE u.id = $1 AND NOT u.deleted"
    ))
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("umbrella"))
}

/// Adds an umbrella to a store.
#[utoipa::path(post, path = "/umbrellas", tag = "admin",
    responses((status = 201, body = UmbrellaView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Json(body): Json<UmbrellaInput>,
) -> Result<(StatusCode, Json<UmbrellaView>)> {
    let note = values::text(&body.note, "note", 500)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO umbrellas (store_id, number, rentable, note) \
         SELECT id, $2, $3, $4 FROM stores WHERE id = $1 AND NOT deleted RETURNING id",
    )
    .bind(body.store_id)
    .bind(body.number)
    .bind(body.rentable)
    .bind(note)
    .fetch_optional(&state.db)
    .await
    .on_constraint(umbrella_constraints)?
    .ok_or_else(|| Error::invalid("store_id does not name a store"))?;
    Ok((StatusCode::CREATED, Json(view(&state, id).await?)))
}

/// Edits an umbrella. A rented umbrella cannot be moved or made rentable.
#[utoipa::path(put, path = "/umbrellas/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UmbrellaView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<UmbrellaInput>,
) -> Result<Json<UmbrellaView>> {
    let note = values::text(&body.note, "note", 500)?;
    let mut tx = state.db.begin().await?;
    let current: Option<(i64, bool)> = sqlx::query_as(
        "SELECT store_id, EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL) \
         FROM umbrellas u WHERE id = $1 AND NOT deleted FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (store_id, rented) = current.ok_or(Error::NotFound("umbrella"))?;
    if rented && (body.rentable || body.store_id != store_id) {
        return Err(Error::conflict(
            "this umbrella is rented; it cannot be moved or made rentable until returned",
        ));
    }
    let in_service: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1 AND NOT deleted)")
            .bind(body.store_id)
            .fetch_one(&mut *tx)
            .await?;
    if !in_service {
        return Err(Error::invalid("store_id does not name a store"));
    }
    sqlx::query(
        "UPDATE umbrellas SET store_id = $2, number = $3, rentable = $4, note = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(body.store_id)
    .bind(body.number)
    .bind(body.rentable)
    .bind(note)
    .execute(&mut *tx)
    .await
    .on_constraint(umbrella_constraints)?;
    tx.commit().await?;
    Ok(Json(view(&state, id).await?))
}

/// Takes an umbrella out of service (soft delete; its number becomes free).
#[utoipa::path(delete, path = "/umbrellas/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<i64>) -> Result<StatusCode> {
    let done = sqlx::query(
        "UPDATE umbrellas u SET deleted = true, rentable = false WHERE id = $1 AND NOT deleted \
         AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL)",
    )
    .bind(id)
    .execute(&state.db)
    .await?;
    if done.rows_affected() == 0 {
        view(&state, id).await?;
        return Err(Error::conflict(
            "this umbrella is rented; it can be deleted once returned",
        ));
    }
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
    Path(id): Path<i64>,
    Json(body): Json<Missed>,
) -> Result<Json<UmbrellaView>> {
    let done = sqlx::query("UPDATE umbrellas SET missed = $2 WHERE id = $1 AND NOT deleted")
        .bind(id)
        .bind(body.missed)
        .execute(&state.db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound("umbrella"));
    }
    Ok(Json(view(&state, id).await?))
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
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

async fn stats(state: &AppState, store_id: Option<i64>) -> Result<Statistics> {
    let sql = format!(
        "SELECT count(*) AS total, \
                count(*) FILTER (WHERE {RENTABLE}) AS rentable, \
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL)) AS rented, \
                count(*) FILTER (WHERE u.missed) AS missing, \
                COALESCE(count(*) FILTER (WHERE u.missed)::float8 / NULLIF(count(*), 0), 0) AS missing_rate, \
                (SELECT count(*) FROM rentals r WHERE $1::bigint IS NULL OR r.rent_store_id = $1) AS total_rents \
         FROM umbrellas u WHERE NOT u.deleted AND ($1::bigint IS NULL OR u.store_id = $1)"
    );
    Ok(sqlx::query_as(&sql)
        .bind(store_id)
        .fetch_one(&state.db)
        .await?)
}

/// Statistics over all umbrellas.
#[utoipa::path(get, path = "/umbrellas/statistics", tag = "admin", responses((status = 200, body = Statistics)))]
pub async fn statistics(State(state): State<AppState>) -> Result<Json<Statistics>> {
    Ok(Json(stats(&state, None).await?))
}

/// Statistics of one store's umbrellas.
#[utoipa::path(get, path = "/stores/{id}/umbrellas/statistics", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = Statistics), (status = 404, body = crate::error::Problem)))]
pub async fn store_statistics(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Statistics>> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1 AND NOT deleted)")
            .bind(id)
            .fetch_one(&state.db)
            .await?;
    if !exists {
        return Err(Error::NotFound("store"));
    }
    Ok(Json(stats(&state, Some(id)).await?))
}
