//! Admin: lockers (at most one per store) and counter resync.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::locker::{self, LockerSecret};
use crate::error::{Error, Result, ResultExt, unknown_store};
use crate::http::extract::{Json, Path};
use crate::http::session::Operator;
use crate::repo::lockers::{self, Locker};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(resync))
}

/// A locker. Its secret is shown once, in the answer that installs it (to be entered into
/// the device); never listed.
#[derive(Serialize, ToSchema)]
pub struct LockerView {
    pub id: i64,
    pub store_id: i64,
    /// Only in the answer of `POST /lockers`.
    pub secret: Option<String>,
    pub counter: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_access: Option<OffsetDateTime>,
}

/// The largest counter an admin may set (2^40).
const MAX_COUNTER: i64 = 1 << 40;

impl From<Locker> for LockerView {
    fn from(l: Locker) -> Self {
        Self {
            id: l.id,
            store_id: l.store_id,
            secret: None,
            counter: l.counter,
            last_access: l.last_access,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LockerInput {
    pub store_id: i64,
    /// At least 32 hex digits: the device's. Omitted on installation: a fresh one is
    /// generated (and shown once).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{32,128}$")]
    pub secret: Option<String>,
}

fn secret_required() -> Error {
    Error::invalid("locker_secret_required", "보관함 비밀키를 입력해 주세요.")
}

fn constraints(c: &str) -> Option<Error> {
    match c {
        "lockers_store_key" => Some(Error::conflict(
            "store_has_locker",
            "이 매장에는 이미 보관함이 있습니다.",
        )),
        "lockers_store_id_fkey" => Some(unknown_store()),
        _ => None,
    }
}

/// All lockers.
#[utoipa::path(get, operation_id = "list_lockers", path = "/lockers", tag = "admin", responses((status = 200, body = [LockerView])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
) -> Result<Json<Vec<LockerView>>> {
    let mut all = lockers::all(&state.db).await?;
    if let Some(mine) = operator.store_scope() {
        all.retain(|l| mine.contains(&l.store_id));
    }
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Installs a locker at a store, with the device's secret or a generated one; the answer
/// is the only place the secret is ever shown.
#[utoipa::path(post, operation_id = "create_locker", path = "/lockers", tag = "admin",
    responses((status = 201, body = LockerView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Json(body): Json<LockerInput>,
) -> Result<(StatusCode, Json<LockerView>)> {
    let secret = match body.secret.as_deref() {
        Some(raw) => LockerSecret::parse(raw)?,
        None => LockerSecret::generate(),
    };
    let mut tx = state.db.begin().await?;
    let id = lockers::next_id(&mut *tx).await?;
    let sealed = locker::seal(&state.cipher, id, &secret)?;
    let locker = lockers::create(&mut *tx, id, body.store_id, &sealed)
        .await
        .on_constraint(constraints)?
        .ok_or_else(unknown_store)?;
    admin
        .log(
            &mut *tx,
            "locker.install",
            "locker",
            Some(id),
            json!({"store_id": body.store_id, "secret_generated": body.secret.is_none()}),
        )
        .await?;
    tx.commit().await?;
    let mut view = LockerView::from(locker);
    view.secret = Some(secret.as_str().to_owned());
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replaces a locker's store and secret.
#[utoipa::path(put, operation_id = "update_locker", path = "/lockers/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = LockerView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<LockerInput>,
) -> Result<Json<LockerView>> {
    let secret = LockerSecret::parse(body.secret.as_deref().ok_or_else(secret_required)?)?;
    let sealed = locker::seal(&state.cipher, id, &secret)?;
    let mut tx = state.db.begin().await?;
    let locker = lockers::update(&mut *tx, id, body.store_id, &sealed)
        .await
        .on_constraint(constraints)?
        .ok_or(Error::NotFound("locker"))?;
    admin
        .log(
            &mut *tx,
            "locker.replace",
            "locker",
            Some(id),
            json!({"store_id": body.store_id}),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(locker.into()))
}

/// Removes a locker.
#[utoipa::path(delete, operation_id = "delete_locker", path = "/lockers/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !lockers::delete(&mut *tx, id).await? {
        return Err(Error::NotFound("locker"));
    }
    admin
        .log(&mut *tx, "locker.remove", "locker", Some(id), json!({}))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct CounterInput {
    /// The counter the physical locker expects next.
    #[schema(minimum = 0, maximum = 1_099_511_627_776_i64)]
    pub counter: i64,
}

/// Resynchronises a locker's counter with the device.
#[utoipa::path(put, path = "/lockers/{id}/counter", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = LockerView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn resync(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<CounterInput>,
) -> Result<Json<LockerView>> {
    // A real locker counts one per rental: 2^40 is far beyond any device's life, and
    // leaves the counter room to grow (at i64::MAX the next rent would overflow).
    if !(0..=MAX_COUNTER).contains(&body.counter) {
        return Err(Error::invalid(
            "invalid_counter",
            format!("카운터는 0부터 {MAX_COUNTER}까지입니다."),
        ));
    }
    let mut tx = state.db.begin().await?;
    let locker = lockers::set_counter(&mut *tx, id, body.counter)
        .await?
        .ok_or(Error::NotFound("locker"))?;
    // Staff only at their stores (the change rolls back otherwise).
    admin.may_manage(locker.store_id)?;
    admin
        .log(
            &mut *tx,
            "locker.set_counter",
            "locker",
            Some(id),
            json!({"counter": body.counter}),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(locker.into()))
}
