//! Admin: address search for the store form (Kakao Local), so coordinates are picked, not
//! typed. Without a Kakao key the console keeps its latitude/longitude fields: 404
//! `geocode_unavailable` tells it so.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, Result};
use crate::http::extract::{Json, Query};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Deserialize, IntoParams)]
pub struct GeocodeQuery {
    /// An address or part of one (1 to 100 characters), e.g. `서울 서대문구 연세로 50`.
    pub query: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PlaceView {
    #[schema(example = "서울 서대문구 신촌동 134")]
    pub address: String,
    #[schema(example = 37.5659)]
    pub latitude: f64,
    #[schema(example = 126.9386)]
    pub longitude: f64,
}

/// Addresses matching the query, with their coordinates (at most 10).
#[utoipa::path(get, path = "/geocode", tag = "admin", params(GeocodeQuery),
    responses((status = 200, body = [PlaceView]),
        (status = 404, description = "no Kakao key configured (`geocode_unavailable`)", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem),
        (status = 503, description = "Kakao did not answer in time (`geocode_failed`)", body = crate::error::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Query(q): Query<GeocodeQuery>,
) -> Result<Json<Vec<PlaceView>>> {
    let Some(geocoder) = &state.geocoder else {
        return Err(Error::unconfigured(
            "geocode_unavailable",
            "주소 검색이 설정되어 있지 않습니다. 위도와 경도를 직접 입력해 주세요. \
             (Address search is not configured; type the latitude and longitude.)",
        ));
    };
    let query = q.query.as_deref().map(str::trim).unwrap_or_default();
    let length = query.chars().count();
    if !(1..=100).contains(&length) || query.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_geocode_query",
            "검색할 주소를 1자 이상 100자 이하로 입력해 주세요. (Type an address of 1 to 100 characters.)",
        ));
    }
    let places = geocoder.search(query).await?;
    Ok(Json(
        places
            .into_iter()
            .map(|p| PlaceView {
                address: p.address,
                latitude: p.latitude,
                longitude: p.longitude,
            })
            .collect(),
    ))
}
