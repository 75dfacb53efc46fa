//! Admin: stores, their images, business hours and activation.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::hours::BusinessHour;
use crate::domain::values;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Paging, Path, Query};
use crate::http::session::Operator;
use crate::http::views::{ClosureView, ImageView, StoreDetail};
use crate::repo::stores::{self, StoreFields};
use crate::repo::{lockers, umbrellas};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_store, update, delete))
        .routes(routes!(set_activation))
        .routes(routes!(add_image))
        .routes(routes!(delete_image))
        .routes(routes!(get_hours, set_hours))
        .routes(routes!(list_closures, add_closure))
        .routes(routes!(delete_closure))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct StoreInput {
    #[schema(min_length = 1, max_length = 100, example = "우산 카페 신촌점")]
    pub name: String,
    #[schema(min_length = 1, max_length = 50, example = "카페")]
    pub category: String,
    #[schema(example = 1)]
    pub region_id: i64,
    #[serde(default)]
    #[schema(example = 3)]
    pub tag_id: Option<i64>,
    #[schema(minimum = -90.0, maximum = 90.0, example = 37.5559)]
    pub latitude: f64,
    #[schema(minimum = -180.0, maximum = 180.0, example = 126.9368)]
    pub longitude: f64,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address_detail: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub umbrella_location: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub working_hours: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub contact: String,
    #[serde(default)]
    #[schema(pattern = "^https?://[^/\\s]+", max_length = 2048)]
    pub instagram_url: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
}

impl StoreInput {
    fn parse(&self) -> Result<StoreFields> {
        let (latitude, longitude) = values::coordinates(self.latitude, self.longitude)?;
        Ok(StoreFields {
            name: values::label(&self.name, "매장 이름", 100)?,
            category: values::label(&self.category, "분류", 50)?,
            region_id: self.region_id,
            tag_id: self.tag_id,
            latitude,
            longitude,
            address: values::text(&self.address, "주소", 200)?,
            address_detail: values::text(&self.address_detail, "상세 주소", 200)?,
            umbrella_location: values::text(&self.umbrella_location, "우산 위치", 200)?,
            working_hours: values::text(&self.working_hours, "영업시간 안내", 500)?,
            contact: values::text(&self.contact, "연락처", 100)?,
            instagram_url: match self.instagram_url.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(u) => Some(values::http_url(u, "인스타그램 주소")?),
            },
            description: values::text(&self.description, "소개", 2000)?,
        })
    }
}

fn reference_error(c: &str) -> Option<Error> {
    match c {
        "stores_region_fkey" => Some(Error::invalid("unknown_region", "없는 지역입니다.")),
        "stores_tag_fkey" => Some(Error::invalid("unknown_tag", "없는 태그입니다.")),
        _ => None,
    }
}

async fn detail(state: &AppState, id: i64) -> Result<StoreDetail> {
    let store = stores::find(&state.db, id, false)
        .await?
        .ok_or(Error::NotFound("store"))?;
    Ok(StoreDetail::new(store, true, OffsetDateTime::now_utc()))
}

/// All stores in service or not (deleted ones excluded), by id.
#[utoipa::path(get, operation_id = "list_stores_for_operators", path = "/stores", tag = "admin", params(Paging), responses((status = 200, body = [StoreDetail])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<StoreDetail>>> {
    let mut page = stores::page(&state.db, paging.limit(), paging.offset()).await?;
    if let Some(mine) = operator.store_scope() {
        page.retain(|s| mine.contains(&s.summary.id));
    }
    let now = OffsetDateTime::now_utc();
    Ok(Json(
        page.into_iter()
            .map(|store| StoreDetail::new(store, true, now))
            .collect(),
    ))
}

/// Creates a store (not activated until it has an image and is activated).
#[utoipa::path(post, operation_id = "create_store", path = "/stores", tag = "admin",
    responses((status = 201, body = StoreDetail), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Json(body): Json<StoreInput>,
) -> Result<(StatusCode, Json<StoreDetail>)> {
    let s = body.parse()?;
    let mut tx = state.db.begin().await?;
    let id = stores::create(&mut *tx, &s)
        .await
        .on_constraint(reference_error)?;
    admin
        .log(&mut *tx, "store.create", "store", Some(id), json!(body))
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(detail(&state, id).await?)))
}

/// A store, activated or not.
#[utoipa::path(get, path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem)))]
pub async fn get_store(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<Json<StoreDetail>> {
    operator.may_manage(id)?;
    Ok(Json(detail(&state, id).await?))
}

/// Replaces a store's fields.
#[utoipa::path(put, operation_id = "update_store", path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<StoreInput>,
) -> Result<Json<StoreDetail>> {
    let s = body.parse()?;
    let mut tx = state.db.begin().await?;
    let found = stores::update(&mut *tx, id, &s)
        .await
        .on_constraint(reference_error)?;
    if !found {
        return Err(Error::NotFound("store"));
    }
    admin
        .log(&mut *tx, "store.update", "store", Some(id), json!(body))
        .await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?))
}

/// Deletes a store (softly: rentals keep pointing at it). Refused while umbrellas stand there.
#[utoipa::path(delete, operation_id = "delete_store", path = "/stores/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if stores::lock(&mut *tx, id).await?.is_none() {
        return Err(Error::NotFound("store"));
    }
    let umbrellas = umbrellas::count_at(&mut *tx, id).await?;
    if umbrellas > 0 {
        return Err(Error::conflict(
            "store_has_umbrellas",
            format!("이 매장에 우산 {umbrellas}개가 남아 있습니다. 먼저 옮기거나 삭제해 주세요."),
        ));
    }
    stores::mark_deleted(&mut *tx, id).await?;
    lockers::delete_at_store(&mut *tx, id).await?;
    admin
        .log(&mut *tx, "store.delete", "store", Some(id), json!({}))
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
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<Activation>,
) -> Result<Json<StoreDetail>> {
    let mut tx = state.db.begin().await?;
    let store = stores::lock(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("store"))?;
    if body.activated && store.image_count == 0 {
        return Err(Error::conflict(
            "store_needs_image",
            "매장을 활성화하려면 이미지가 한 장 이상 있어야 합니다.",
        ));
    }
    stores::set_activated(&mut *tx, id, body.activated).await?;
    admin
        .log(
            &mut *tx,
            "store.set_activation",
            "store",
            Some(id),
            json!({"activated": body.activated}),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ImageInput {
    /// An absolute http(s) URL.
    #[schema(
        pattern = "^https?://[^/\\s]+",
        max_length = 2048,
        example = "https://img.example.com/store.jpg"
    )]
    pub url: String,
}

/// Adds an image (by URL) to a store.
#[utoipa::path(post, path = "/stores/{id}/images", tag = "admin", params(("id" = i64, Path)),
    responses((status = 201, body = ImageView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_image(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<ImageInput>,
) -> Result<(StatusCode, Json<ImageView>)> {
    let url = values::http_url(&body.url, "이미지 주소")?;
    let mut tx = state.db.begin().await?;
    let image = stores::add_image(&mut *tx, id, &url)
        .await?
        .ok_or(Error::NotFound("store"))?;
    admin
        .log(
            &mut *tx,
            "store.add_image",
            "store",
            Some(id),
            json!({"url": url}),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(image.into())))
}

/// Removes an image. The last image of an activated store cannot be removed.
#[utoipa::path(delete, path = "/stores/{id}/images/{image_id}", tag = "admin",
    params(("id" = i64, Path), ("image_id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete_image(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path((id, image_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let store = stores::lock(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("store"))?;
    if !stores::delete_image(&mut *tx, id, image_id).await? {
        return Err(Error::NotFound("image"));
    }
    if store.activated && store.image_count <= 1 {
        return Err(Error::conflict(
            "store_needs_image",
            "활성화된 매장에는 이미지가 한 장 이상 있어야 합니다. 먼저 비활성화해 주세요.",
        ));
    }
    admin
        .log(
            &mut *tx,
            "store.delete_image",
            "store",
            Some(id),
            json!({"image_id": image_id}),
        )
        .await?;
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

/// Replaces a store's business hours: any number of intervals a weekday (a break time is
/// two), `close` at or before `open` for past midnight, `open == close` for 24 hours;
/// intervals may not overlap (a night's part after midnight included).
#[utoipa::path(put, path = "/stores/{id}/business-hours", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = [BusinessHour]), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_hours(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<Vec<BusinessHour>>,
) -> Result<Json<Vec<BusinessHour>>> {
    BusinessHour::validate_week(&body)?;
    let mut tx = state.db.begin().await?;
    if stores::lock(&mut *tx, id).await?.is_none() {
        return Err(Error::NotFound("store"));
    }
    stores::replace_hours(&mut tx, id, &body).await?;
    admin
        .log(
            &mut *tx,
            "store.set_hours",
            "store",
            Some(id),
            json!({ "hours": body }),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?.business_hours))
}

/// A store's holidays and temporary closures that have not ended.
#[utoipa::path(get, path = "/stores/{id}/closures", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = [ClosureView]), (status = 404, body = crate::error::Problem)))]
pub async fn list_closures(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ClosureView>>> {
    Ok(Json(detail(&state, id).await?.closures))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ClosureInput {
    /// First closed day, `YYYY-MM-DD` (Asia/Seoul).
    #[schema(example = "2027-02-16", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub starts_on: String,
    /// Last closed day, inclusive.
    #[schema(example = "2027-02-18", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub ends_on: String,
    /// Why, shown to renters (`설 연휴`); at most 100 characters.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub reason: String,
}

fn closure_date(raw: &str, what: &str) -> Result<time::Date> {
    time::Date::parse(
        raw.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        Error::invalid(
            "invalid_date",
            format!("{what}: 날짜는 2027-02-16처럼 써 주세요. (Dates are YYYY-MM-DD.)"),
        )
    })
}

/// Closes a store on these dates (a holiday, a renovation): `open_now` is false then,
/// and the store page lists it.
#[utoipa::path(post, path = "/stores/{id}/closures", tag = "admin", params(("id" = i64, Path)),
    responses((status = 201, body = ClosureView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_closure(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<ClosureInput>,
) -> Result<(StatusCode, Json<ClosureView>)> {
    let starts_on = closure_date(&body.starts_on, "시작일")?;
    let ends_on = closure_date(&body.ends_on, "종료일")?;
    if ends_on < starts_on {
        return Err(Error::invalid(
            "closure_order",
            "종료일이 시작일보다 빠릅니다. (The last day is before the first.)",
        ));
    }
    if (ends_on - starts_on).whole_days() > 366 {
        return Err(Error::invalid(
            "closure_too_long",
            "휴무는 1년까지 정할 수 있습니다. 더 길면 매장을 비활성화해 주세요. (At most a year; deactivate the store instead.)",
        ));
    }
    let reason = values::text(&body.reason, "사유", 100)?;
    let mut tx = state.db.begin().await?;
    if stores::lock(&mut *tx, id).await?.is_none() {
        return Err(Error::NotFound("store"));
    }
    let closure = stores::add_closure(&mut *tx, id, starts_on, ends_on, &reason).await?;
    admin
        .log(
            &mut *tx,
            "store.add_closure",
            "store",
            Some(id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(closure.into())))
}

/// Removes a closure.
#[utoipa::path(delete, path = "/stores/{id}/closures/{closure_id}", tag = "admin",
    params(("id" = i64, Path), ("closure_id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete_closure(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path((id, closure_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !stores::delete_closure(&mut *tx, id, closure_id).await? {
        return Err(Error::NotFound("closure"));
    }
    admin
        .log(
            &mut *tx,
            "store.delete_closure",
            "store",
            Some(id),
            json!({"closure_id": closure_id}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
