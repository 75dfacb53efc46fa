//! Public endpoints: the map (regions, tags, store markers), store details, and where an
//! umbrella is.

use axum::extract::State;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::hours;
use crate::error::{Error, Result};
use crate::http::extract::{Json, Path};
use crate::http::views::{ClassificationView, StoreDetail, StoreMarker, UmbrellaLocation};
use crate::repo::stores::{self, RENTABLE};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_regions))
        .routes(routes!(list_tags))
        .routes(routes!(region_stores))
        .routes(routes!(store_detail))
        .routes(routes!(umbrella_location))
}

async fn classifications(state: &AppState, kind: &str) -> Result<Vec<ClassificationView>> {
    Ok(sqlx::query_as("SELECT id, kind, name, latitude, longitude FROM classifications WHERE kind = $1 ORDER BY name")
        .bind(kind)
        .fetch_all(&state.db)
        .await?)
}

/// Regions shown on the map.
#[utoipa::path(get, path = "/regions", tag = "public", responses((status = 200, body = [ClassificationView])))]
pub async fn list_regions(State(state): State<AppState>) -> Result<Json<Vec<ClassificationView>>> {
    Ok(Json(classifications(&state, "region").await?))
}

/// Tags (sub-areas) stores may carry.
#[utoipa::path(get, path = "/tags", tag = "public", responses((status = 200, body = [ClassificationView])))]
pub async fn list_tags(State(state): State<AppState>) -> Result<Json<Vec<ClassificationView>>> {
    Ok(Json(classifications(&state, "tag").await?))
}

#[derive(sqlx::FromRow)]
struct MarkerRow {
    id: i64,
    name: String,
    latitude: f64,
    longitude: f64,
    rentable_count: i64,
}

/// The activated stores of a region, as map markers.
#[utoipa::path(get, path = "/regions/{id}/stores", tag = "public",
    params(("id" = i64, Path, description = "Region id")),
    responses((status = 200, body = [StoreMarker]), (status = 404, body = crate::error::Problem)))]
pub async fn region_stores(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<StoreMarker>>> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM classifications WHERE id = $1 AND kind = 'region')",
    )
    .bind(id)
    .fetch_one(&state.db)
    .await?;
    if !exists {
        return Err(Error::NotFound("region"));
    }
    let sql = format!(
        "SELECT s.id, s.name, s.latitude, s.longitude, \
                (SELECT count(*) FROM umbrellas u WHERE u.store_id = s.id AND {RENTABLE}) AS rentable_count \
         FROM stores s WHERE s.region_id = $1 AND s.activated AND NOT s.deleted ORDER BY s.id"
    );
    let rows: Vec<MarkerRow> = sqlx::query_as(&sql).bind(id).fetch_all(&state.db).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut hours = stores::hours_of(&state.db, &ids).await?;
    let now = OffsetDateTime::now_utc();
    Ok(Json(
        rows.into_iter()
            .map(|r| StoreMarker {
                open_now: hours::is_open(&hours.remove(&r.id).unwrap_or_default(), now),
                id: r.id,
                name: r.name,
                rentable_count: r.rentable_count,
                latitude: r.latitude,
                longitude: r.longitude,
            })
            .collect(),
    ))
}

/// A store's detail page.
#[utoipa::path(get, path = "/stores/{id}", tag = "public",
    params(("id" = i64, Path, description = "Store id")),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem)))]
pub async fn store_detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<StoreDetail>> {
    stores::detail(&state.db, id, true)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("store"))
}

#[derive(sqlx::FromRow)]
struct LocationRow {
    id: i64,
    number: i64,
    store_id: i64,
    store_name: String,
    latitude: f64,
    longitude: f64,
    rentable: bool,
}

/// Where an umbrella is now (the store it stands at or was rented from).
#[utoipa::path(get, path = "/umbrellas/{id}/location", tag = "public",
    params(("id" = i64, Path, description = "Umbrella id")),
    responses((status = 200, body = UmbrellaLocation), (status = 404, body = crate::error::Problem)))]
pub async fn umbrella_location(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<UmbrellaLocation>> {
    let sql = format!(
        "SELECT u.id, u.number, s.id AS store_id, s.name AS store_name, s.latitude, s.longitude, \
                ({RENTABLE}) AS rentable \
         FROM umbrellas u JOIN stores s ON s.id = u.store_id WHERE u.id = $1 AND NOT u.deleted"
    );
    let row: LocationRow = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(Error::NotFound("umbrella"))?;
    Ok(Json(UmbrellaLocation {
        umbrella_id: row.id,
        number: row.number,
        store_id: row.store_id,
        store_name: row.store_name,
        latitude: row.latitude,
        longitude: row.longitude,
        rentable: row.rentable,
    }))
}
