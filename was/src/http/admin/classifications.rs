//! Admin: regions and tags.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Path};
use crate::http::session::Operator;
use crate::http::views::ClassificationView;
use crate::repo::classifications::{self, ClassificationFields};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ClassificationInput {
    /// `region` or `tag`.
    #[schema(pattern = "^(region|tag)$")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: f64,
}

impl ClassificationInput {
    fn parse(&self) -> Result<ClassificationFields> {
        if !matches!(self.kind.as_str(), "region" | "tag") {
            return Err(Error::invalid(
                "invalid_kind",
                "종류는 region(지역) 또는 tag(태그)여야 합니다.",
            ));
        }
        let name = values::label(&self.name, "이름", 100)?;
        let (latitude, longitude) = values::coordinates(self.latitude, self.longitude)?;
        Ok(ClassificationFields {
            kind: self.kind.clone(),
            name,
            latitude,
            longitude,
        })
    }
}

fn duplicate(c: &str) -> Option<Error> {
    (c == "classifications_kind_name_key").then(|| {
        Error::conflict(
            "duplicate_classification",
            "같은 종류에 같은 이름이 이미 있습니다.",
        )
    })
}

/// Regions and tags.
#[utoipa::path(get, operation_id = "list_classifications", path = "/classifications", tag = "admin", responses((status = 200, body = [ClassificationView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ClassificationView>>> {
    let all = classifications::all(&state.db).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Creates a region or tag.
#[utoipa::path(post, operation_id = "create_classification", path = "/classifications", tag = "admin",
    responses((status = 201, body = ClassificationView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Json(body): Json<ClassificationInput>,
) -> Result<(StatusCode, Json<ClassificationView>)> {
    let fields = body.parse()?;
    let mut tx = state.db.begin().await?;
    let created = classifications::create(&mut *tx, &fields)
        .await
        .on_constraint(duplicate)?;
    admin
        .log(
            &mut *tx,
            "classification.create",
            "classification",
            Some(created.id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Renames or moves a region or tag. Its kind cannot change while stores use it.
#[utoipa::path(put, operation_id = "update_classification", path = "/classifications/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = ClassificationView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<ClassificationInput>,
) -> Result<Json<ClassificationView>> {
    let fields = body.parse()?;
    let mut tx = state.db.begin().await?;
    let updated = classifications::update(&mut *tx, id, &fields)
        .await
        .on_constraint(|c| match c {
            "stores_region_fkey" | "stores_tag_fkey" => Some(Error::conflict(
                "classification_in_use",
                "매장이 쓰고 있어 종류를 바꿀 수 없습니다.",
            )),
            other => duplicate(other),
        })?
        .ok_or(Error::NotFound("classification"))?;
    admin
        .log(
            &mut *tx,
            "classification.update",
            "classification",
            Some(id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(updated.into()))
}

/// Deletes a region or tag that no store uses.
#[utoipa::path(delete, operation_id = "delete_classification", path = "/classifications/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let deleted = classifications::delete(&mut *tx, id)
        .await
        .on_constraint(|c| {
            matches!(c, "stores_region_fkey" | "stores_tag_fkey").then(|| {
                Error::conflict(
                    "classification_in_use",
                    "매장이 쓰고 있어 삭제할 수 없습니다.",
                )
            })
        })?;
    if !deleted {
        return Err(Error::NotFound("classification"));
    }
    admin
        .log(
            &mut *tx,
            "classification.delete",
            "classification",
            Some(id),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
