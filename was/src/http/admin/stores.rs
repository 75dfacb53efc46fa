//! Admin: stores, their images, business hours and activation.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::hours::BusinessHour;
use crate::domain::values;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Paging, Path, Query};
use crate::http::views::{ImageView, StoreDetail};
use crate::repo::stores;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_store, update, delete))
        .routes(routes!(set_activation))
        .routes(routes!(add_image))
        .routes(routes!(delete_image))
        .routes(routes!(get_hours, set_hours))
}

#[derive(Deserialize, ToSchema)]
pub struct StoreInput {
    pub name: String,
    pub category: String,
    pub region_id: i64,
    #[serde(default)]
    pub tag_id: Option<i64>,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub address_detail: String,
    #[serde(default)]
    pub umbrella_location: String,
    #[serde(default)]
    pub working_hours: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub instagram_url: Option<String>,
    #[serde(default)]
    pub description: String,
}

struct ValidStore {
    name: String,
    category: String,
    latitude: f64,
    longitude: f64,
    address: String,
    address_detail: String,
    umbrella_location: String,
    working_hours: String,
    contact: String,
    instagram_url: Option<String>,
    description: String,
}

impl StoreInput {
    fn parse(&self) -> Result<ValidStore> {
        let (latitude, longitude) = values::coordinates(self.latitude, self.longitude)?;
        Ok(ValidStore {
            name: values::label(&self.name, "name", 100)?,
            category: values::label(&self.category, "category", 50)?,
            latitude,
            longitude,
            address: values::text(&self.address, "address", 200)?,
            address_detail: values::text(&self.address_detail, "address detail", 200)?,
            umbrella_location: values::text(&self.umbrella_location, "umbrella location", 200)?,
            working_hours: values::text(&self.working_hours, "working hours", 500)?,
            contact: values::text(&self.contact, "contact", 100)?,
            instagram_url: match self.instagram_url.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(u) => Some(values::http_url(u, "instagram url")?),
            },
            description: values::text(&self.description, "description", 2000)?,
        })
    }
}

fn reference_error(c: &str) -> Option<Error> {
    match c {
        "stores_region_fkey" => Some(Error::invalid("region_id does not name a region")),
        "stores_tag_fkey" => Some(Error::invalid("tag_id does not name a tag")),
        _ => None,
    }
}

async fn detail(state: &AppState, id: i64) -> Result<StoreDetail> {
    stores::detail(&state.db, id, false)
        .await?
        .ok_or(Error::NotFound("store"))
}

/// All stores in service or not (deleted ones excluded), by id.
#[utoipa::path(get, path = "/stores", tag = "admin", params(Paging), responses((status = 200, body = [StoreDetail])))]
pub async fn list(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<StoreDetail>>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM stores WHERE NOT deleted ORDER BY id LIMIT $1 OFFSET $2",
    )
    .bind(paging.limit())
    .bind(paging.offset())
    .fetch_all(&state.db)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(detail(&state, id).await?);
    }
    Ok(Json(out))
}

/// Creates a store (not activated until it has an image and is activated).
#[utoipa::path(post, path = "/stores", tag = "admin",
    responses((status = 201, body = StoreDetail), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Json(body): Json<StoreInput>,
) -> Result<(StatusCode, Json<StoreDetail>)> {
    let s = body.parse()?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stores (name, category, region_id, tag_id, latitude, longitude, address, address_detail, \
                             umbrella_location, working_hours, contact, instagram_url, description) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&s.name)
    .bind(&s.category)
    .bind(body.region_id)
    .bind(body.tag_id)
    .bind(s.latitude)
    .bind(s.longitude)
    .bind(&s.address)
    .bind(&s.address_detail)
    .bind(&s.umbrella_location)
    .bind(&s.working_hours)
    .bind(&s.contact)
    .bind(&s.instagram_url)
    .bind(&s.description)
    .fetch_one(&state.db)
    .await
    .on_constraint(reference_error)?;
    Ok((StatusCode::CREATED, Json(detail(&state, id).await?)))
}

/// A store, activated or not.
#[utoipa::path(get, path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem)))]
pub async fn get_store(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<StoreDetail>> {
    Ok(Json(detail(&state, id).await?))
}

/// Replaces a store's fields.
#[utoipa::path(put, path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<StoreInput>,
) -> Result<Json<StoreDetail>> {
    let s = body.parse()?;
    let done = sqlx::query(
        "UPDATE stores SET name = $2, category = $3, region_id = $4, tag_id = $5, latitude = $6, longitude = $7, \
                address = $8, address_detail = $9, umbrella_location = $10, working_hours = $11, contact = $12, \
                instagram_url = $13, description = $14 \
         WHERE id = $1 AND NOT deleted",
    )
    .bind(id)
    .bind(&s.name)
    .bind(&s.category)
    .bind(body.region_id)
    .bind(body.tag_id)
    .bind(s.latitude)
    .bind(s.longitude)
    .bind(&s.address)
    .bind(&s.address_detail)
    .bind(&s.umbrella_location)
    .bind(&s.working_hours)
    .bind(&s.contact)
    .bind(&s.instagram_url)
    .bind(&s.description)
    .execute(&state.db)
    .await
    .on_constraint(reference_error)?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound("store"));
    }
    Ok(Json(detail(&state, id).await?))
}

/// Deletes a store (softly: rentals keep pointing at it). Refused while umbrellas stand there.
#[utoipa::path(delete, path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete(State(state): State<AppState>, Path(id): Path<i64>) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM stores WHERE id = $1 AND NOT deleted FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Err(Error::NotFound("store"));
    }
    let umbrellas: i64 =
        sqlx::query_scalar("SELECT count(*) FROM umbrellas WHERE store_id = $1 AND NOT deleted")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if umbrellas > 0 {
        return Err(Error::conflict(format!(
            "{umbrellas} umbrella(s) still belong to this store; move or delete them first"
        )));
    }
    sqlx::query("UPDATE stores SET deleted = true, activated = false WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM lockers WHERE store_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct Activation {
    pub activated: bool,
}

/// Activates or deactivates a store. Activation needs at least one image.
#[utoipa::path(put, path = "/stores/{id}/activation", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem),
        (status = 409, description = "no image yet", body = crate::error::Problem)))]
pub async fn set_activation(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Activation>,
) -> Result<Json<StoreDetail>> {
    let mut tx = state.db.begin().await?;
    let images: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM store_images i WHERE i.store_id = s.id) FROM stores s WHERE s.id = $1 AND NOT s.deleted FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let images = images.ok_or(Error::NotFound("store"))?;
    if body.activated && images == 0 {
        return Err(Error::conflict(
            "a store needs at least one image before it can be activated",
        ));
    }
    sqlx::query("UPDATE stores SET activated = $2 WHERE id = $1")
        .bind(id)
        .bind(body.activated)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ImageInput {
    /// An absolute http(s) URL.
    pub url: String,
}

/// Adds an image (by URL) to a store.
#[utoipa::path(post, path = "/stores/{id}/images", tag = "admin", params(("id" = i64, Path)),
    responses((status = 201, body = ImageView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_image(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ImageInput>,
) -> Result<(StatusCode, Json<ImageView>)> {
    let url = values::http_url(&body.url, "image url")?;
    let image = sqlx::query_as(
        "INSERT INTO store_images (store_id, url) SELECT id, $2 FROM stores WHERE id = $1 AND NOT deleted RETURNING id, url",
    )
    .bind(id)
    .bind(url)
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("store"))?;
    Ok((StatusCode::CREATED, Json(image)))
}

/// Removes an image. The last image of an activated store cannot be removed.
#[utoipa::path(delete, path = "/stores/{id}/images/{image_id}", tag = "admin",
    params(("id" = i64, Path), ("image_id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete_image(
    State(state): State<AppState>,
    Path((id, image_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let store: Option<(bool, i64)> = sqlx::query_as(
        "SELECT s.activated, (SELECT count(*) FROM store_images i WHERE i.store_id = s.id) \
         FROM stores s WHERE s.id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (activated, count) = store.ok_or(Error::NotFound("store"))?;
    let done = sqlx::query("DELETE FROM store_images WHERE id = $1 AND store_id = $2")
        .bind(image_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound("image"));
    }
    if activated && count <= 1 {
        return Err(Error::conflict(
            "an activated store must keep at least one image; deactivate it first",
        ));
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A store's business hours.
#[utoipa::path(get, path = "/stores/{id}/business-hours", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = [BusinessHour]), (status = 404, body = crate::error::Problem)))]
pub async fn get_hours(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<BusinessHour>>> {
    Ok(Json(detail(&state, id).await?.business_hours))
}

/// Replaces a store's business hours (one entry per open weekday).
#[utoipa::path(put, path = "/stores/{id}/business-hours", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = [BusinessHour]), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_hours(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Vec<BusinessHour>>,
) -> Result<Json<Vec<BusinessHour>>> {
    BusinessHour::validate_week(&body)?;
    let mut tx = state.db.begin().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM stores WHERE id = $1 AND NOT deleted FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Err(Error::NotFound("store"));
    }
    sqlx::query("DELETE FROM business_hours WHERE store_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for h in &body {
        sqlx::query("INSERT INTO business_hours (store_id, weekday, open_at, close_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(h.weekday)
            .bind(h.open)
            .bind(h.close)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?.business_hours))
}
