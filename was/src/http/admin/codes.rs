//! Admin: the QR codes to print for a store, its return code and one per umbrella at it,
//! as links and as a printable SVG sheet.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::codes::Subject;
use crate::domain::sheet::{self, Label};
use crate::error::{Error, Result};
use crate::http::extract::{Json, Path};
use crate::repo::{stores, umbrellas};
use crate::state::AppState;

/// More umbrellas than any store holds; the sheet stays one request.
const MAX_UMBRELLAS: i64 = 500;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(codes))
        .routes(routes!(sheet))
}

#[derive(Serialize, ToSchema)]
pub struct StoreCode {
    pub id: i64,
    pub name: String,
    /// Opens the return page at this store.
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct UmbrellaCode {
    pub id: i64,
    pub number: i64,
    /// Opens the rent page of this umbrella.
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct StoreCodes {
    pub store: StoreCode,
    pub umbrellas: Vec<UmbrellaCode>,
}

/// The origin the codes point at: `PUBLIC_URL`, else the one the admin is using.
fn origin(state: &AppState, headers: &HeaderMap) -> Result<String> {
    if let Some(url) = &state.config.public_url {
        return Ok(url.clone());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| {
            Error::bad_request(
                "public_url_unknown",
                "QR 코드에 넣을 주소를 알 수 없습니다. PUBLIC_URL을 설정해 주세요.",
            )
        })?;
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

async fn store_codes(state: &AppState, headers: &HeaderMap, id: i64) -> Result<StoreCodes> {
    let store = stores::find(&state.db, id, false)
        .await?
        .ok_or(Error::NotFound("store"))?;
    let origin = origin(state, headers)?;
    let url = |subject: Subject| format!("{origin}{}", subject.path(&state.codes.sign(subject)));
    let umbrellas = umbrellas::page(&state.db, Some(id), MAX_UMBRELLAS, 0).await?;
    let mut umbrellas: Vec<UmbrellaCode> = umbrellas
        .into_iter()
        .map(|u| UmbrellaCode {
            id: u.id,
            number: u.number,
            url: url(Subject::Umbrella(u.id)),
        })
        .collect();
    umbrellas.sort_by_key(|u| u.number);
    Ok(StoreCodes {
        store: StoreCode {
            id,
            url: url(Subject::Store(id)),
            name: store.summary.name,
        },
        umbrellas,
    })
}

/// The signed links of a store's codes (its return code, one rent code per umbrella).
#[utoipa::path(get, path = "/stores/{id}/codes", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StoreCodes), (status = 404, body = crate::error::Problem)))]
pub async fn codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<StoreCodes>> {
    Ok(Json(store_codes(&state, &headers, id).await?))
}

/// The same codes as a printable A4-wide SVG sheet, each with a caption.
#[utoipa::path(get, path = "/stores/{id}/codes.svg", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = crate::error::Problem)))]
pub async fn sheet(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response> {
    let codes = store_codes(&state, &headers, id).await?;
    let store_caption = format!("{} · 반납", codes.store.name);
    let numbers: Vec<String> = codes
        .umbrellas
        .iter()
        .map(|u| format!("우산 {}번", u.number))
        .collect();
    let mut labels = vec![Label {
        url: &codes.store.url,
        title: "이 매장에 반납하기",
        caption: &store_caption,
    }];
    labels.extend(
        codes
            .umbrellas
            .iter()
            .zip(&numbers)
            .map(|(u, title)| Label {
                url: &u.url,
                title,
                caption: &codes.store.name,
            }),
    );
    let svg = sheet::render(&labels)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            // An SVG opened on its own is a document: it may run nothing and load nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        svg,
    )
        .into_response())
}
