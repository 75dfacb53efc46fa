//! Admin: store photos uploaded from a phone. The console asks for an upload URL, PUTs the
//! file to S3 itself, then adds the returned `image_url` as the store's image
//! (`POST /stores/{id}/images`, as for any URL). Without `PHOTO_BUCKET`, 404
//! `uploads_unavailable` and the console offers the URL field only.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Error, Result};
use crate::http::extract::{Json, Path};
use crate::photos::{ImageType, MAX_BYTES, UPLOAD_EXPIRY};
use crate::repo::statistics;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_upload))
}

#[derive(Deserialize, ToSchema)]
pub struct UploadInput {
    /// `image/jpeg`, `image/png` or `image/webp`.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// The file's exact size in bytes (at most 10 MiB); the upload must send exactly this.
    #[schema(minimum = 1, maximum = 10485760, example = 123456)]
    pub size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct UploadView {
    /// Presigned S3 URL; valid for `expires_in` seconds.
    pub upload_url: String,
    #[schema(example = "PUT")]
    pub method: &'static str,
    /// Headers to send with the PUT (the browser adds `Content-Length` itself).
    pub headers: BTreeMap<&'static str, &'static str>,
    /// Where the photo is read from once uploaded: give it to `POST /stores/{id}/images`.
    pub image_url: String,
    #[schema(example = 600)]
    pub expires_in: u64,
}

/// Signs the upload of one photo of a store, straight to S3.
#[utoipa::path(post, path = "/stores/{id}/images/uploads", tag = "admin", params(("id" = i64, Path)),
    responses((status = 201, body = UploadView),
        (status = 404, description = "no such store, or uploads not configured (`uploads_unavailable`)", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create_upload(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<UploadInput>,
) -> Result<(StatusCode, Json<UploadView>)> {
    let Some(photos) = &state.photos else {
        return Err(Error::unconfigured(
            "uploads_unavailable",
            "사진 올리기가 설정되어 있지 않습니다. 이미지 주소(URL)를 입력해 주세요. \
             (Photo uploads are not configured; add the image by URL.)",
        ));
    };
    let kind = ImageType::parse(&body.content_type).ok_or_else(|| {
        Error::invalid(
            "unsupported_image_type",
            "JPEG, PNG, WebP 사진만 올릴 수 있습니다. (Only JPEG, PNG and WebP photos can be uploaded.)",
        )
    })?;
    if body.size == 0 || body.size > MAX_BYTES {
        return Err(Error::invalid(
            "invalid_image_size",
            "사진은 10MB 이하여야 합니다. (A photo may be at most 10 MiB.)",
        ));
    }
    if statistics::stock_of(&state.db, id).await?.is_none() {
        return Err(Error::NotFound("store"));
    }
    let upload = photos
        .sign(id, kind, body.size, OffsetDateTime::now_utc())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "cannot sign a photo upload");
            Error::upstream_unavailable(
                "uploads_failed",
                "지금은 사진을 올릴 수 없습니다. 잠시 후 다시 시도해 주세요. (Uploads are unavailable right now; try again shortly.)",
            )
        })?;
    Ok((
        StatusCode::CREATED,
        Json(UploadView {
            upload_url: upload.upload_url,
            method: "PUT",
            headers: BTreeMap::from([("Content-Type", kind.mime())]),
            image_url: upload.image_url,
            expires_in: UPLOAD_EXPIRY.as_secs(),
        }),
    ))
}
