//! Public endpoints: the map (regions, tags, store markers), store details, and where an
//! umbrella is. All but the umbrella's place are answered from memory while they have not
//! changed (`public_reads`); the handlers say how to make each answer and under what key.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, Result};
use crate::http::caching;
use crate::http::extract::{Json, Path};
use crate::http::views::{ClassificationView, StoreDetail, StoreMarker, UmbrellaLocation};
use crate::public_reads::{Change, Key};
use crate::repo::{classifications, stores, umbrellas};
use crate::state::AppState;

/// The answers from memory carry their tag and answer `If-None-Match` themselves; only
/// the umbrella's place is tagged on its way out (`caching::conditional`).
pub fn routes() -> OpenApiRouter<AppState> {
    let tagged_on_the_way_out = OpenApiRouter::new()
        .routes(routes!(umbrella_location))
        .route_layer(axum::middleware::from_fn(caching::conditional));
    OpenApiRouter::new()
        .routes(routes!(list_regions))
        .routes(routes!(list_tags))
        .routes(routes!(region_stores))
        .routes(routes!(store_detail))
        .routes(routes!(service_info))
        .routes(routes!(introductions))
        .merge(tagged_on_the_way_out)
}

async fn classifications(state: &AppState, kind: &str) -> Result<Vec<ClassificationView>> {
    let all = classifications::of_kind(&state.db, kind).await?;
    Ok(all.into_iter().map(Into::into).collect())
}

/// Regions shown on the map.
#[utoipa::path(get, path = "/regions", tag = "public", responses((status = 200, body = [ClassificationView])))]
pub async fn list_regions(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let answer = || classifications(&state, "region");
    state.public.answer(Key::Regions, &headers, answer).await
}

/// Tags (sub-areas) stores may carry.
#[utoipa::path(get, path = "/tags", tag = "public", responses((status = 200, body = [ClassificationView])))]
pub async fn list_tags(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let answer = || classifications(&state, "tag");
    state.public.answer(Key::Tags, &headers, answer).await
}

/// The activated stores of a region, as map markers.
#[utoipa::path(get, path = "/regions/{id}/stores", tag = "public",
    params(("id" = i64, Path, description = "Region id")),
    responses((status = 200, body = [StoreMarker]), (status = 404, body = crate::error::Problem)))]
pub async fn region_stores(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response> {
    let answer = || markers(&state, id);
    state
        .public
        .answer(Key::RegionStores(id), &headers, answer)
        .await
}

async fn markers(state: &AppState, id: i64) -> Result<Vec<StoreMarker>> {
    if !classifications::is_region(&state.db, id).await? {
        return Err(Error::NotFound("region"));
    }
    let markers = stores::markers_in_region(&state.db, id).await?;
    let ids: Vec<i64> = markers.iter().map(|m| m.id).collect();
    let mut hours = stores::hours_of(&state.db, &ids).await?;
    let mut closures = stores::closures_of(&state.db, &ids).await?;
    let now = OffsetDateTime::now_utc();
    Ok(markers
        .into_iter()
        .map(|m| {
            let hours = hours.remove(&m.id).unwrap_or_default();
            let closed: Vec<_> = closures
                .remove(&m.id)
                .unwrap_or_default()
                .iter()
                .map(stores::StoreClosure::dates)
                .collect();
            StoreMarker::new(m, &hours, &closed, now)
        })
        .collect())
}

/// A store's detail page.
#[utoipa::path(get, path = "/stores/{id}", tag = "public",
    params(("id" = i64, Path, description = "Store id")),
    responses((status = 200, body = StoreDetail), (status = 404, body = crate::error::Problem)))]
pub async fn store_detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response> {
    let answer = || async {
        let store = stores::find(&state.db, id, true)
            .await?
            .ok_or(Error::NotFound("store"))?;
        Ok::<_, Error>(StoreDetail::new(store, false, OffsetDateTime::now_utc()))
    };
    state.public.answer(Key::Store(id), &headers, answer).await
}

/// A partner store as the introductions page shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StoreIntroduction {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub region_name: String,
    pub description: String,
    pub image_url: Option<String>,
}

/// Every partner store in service with its first image: the introductions page.
#[utoipa::path(get, path = "/stores/introductions", tag = "public", responses((status = 200, body = [StoreIntroduction])))]
pub async fn introductions(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let answer = || async {
        let all = stores::introductions(&state.db).await?;
        Ok::<_, Error>(
            all.into_iter()
                .map(|s| StoreIntroduction {
                    id: s.id,
                    name: s.name,
                    category: s.category,
                    region_name: s.region_name,
                    description: s.description,
                    image_url: s.image_url,
                })
                .collect::<Vec<_>>(),
        )
    };
    state
        .public
        .answer(Key::Introductions, &headers, answer)
        .await
}

/// Where an umbrella is now (the store it stands at or was rented from).
#[utoipa::path(get, path = "/umbrellas/{id}/location", tag = "public",
    params(("id" = i64, Path, description = "Umbrella id")),
    responses((status = 200, body = UmbrellaLocation), (status = 404, body = crate::error::Problem)))]
pub async fn umbrella_location(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<UmbrellaLocation>> {
    umbrellas::location(&state.db, id)
        .await?
        .map(|l| Json(l.into()))
        .ok_or(Error::NotFound("umbrella"))
}

/// What renters need to know before renting: the deposit and how long a rental lasts.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ServiceInfo {
    /// In won.
    pub deposit_amount: u32,
    /// Where to send the deposit; `null` when the operator sends it by message.
    pub deposit_account: Option<String>,
    /// Days until a rental is due back.
    pub rental_days: i64,
    /// Kakao Maps' JavaScript key; `null`: show the store list without a map.
    pub map_key: Option<String>,
    /// How to reach the operators (shown in the footer, the guide and under errors).
    pub support: crate::config::Support,
}

/// The deposit and the rental period, for the rent page and the renter's page.
#[utoipa::path(get, path = "/service-info", tag = "public", responses((status = 200, body = ServiceInfo)))]
pub async fn service_info(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let config = &state.config;
    let answer = || async {
        Ok(ServiceInfo {
            deposit_amount: config.deposit_amount,
            deposit_account: config.deposit_account.clone(),
            rental_days: crate::http::views::RENTAL_DAYS,
            map_key: config.kakao_map_key.clone(),
            support: config.support.clone(),
        })
    };
    state
        .public
        .answer(Key::ServiceInfo, &headers, answer)
        .await
}

/// What a state-changing request to `path` changes of the public reads, for
/// [`crate::http::csrf::writes`]: a write through this replica that succeeded starts a
/// new generation at once, before the notification comes back. Sign-in, sign-up and
/// logout (`/api/auth/…`) write nothing the public reads show, and a sign-in storm must
/// not empty the map's cache; renting, returning and a locker's password
/// (`/api/rentals…`) change only the counts.
pub fn change_of(path: &str) -> Option<Change> {
    if path.starts_with("/api/auth/") {
        None
    } else if path.starts_with("/api/rentals") {
        Some(Change::Stock)
    } else {
        Some(Change::Any)
    }
}
