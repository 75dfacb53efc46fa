//! Renting and returning umbrellas.
//!
//! Both are single transactions. The invariants (one open rental per umbrella, one per
//! user) are unique indexes, so even requests that race past the checks here cannot
//! break them; the row lock on the umbrella makes the common race a clean 409.
//!
//! A request carrying `Idempotency-Key` records its response in the same transaction. A
//! replay (same user, same key) gets that response back; a concurrent duplicate waits
//! on the key's row and then gets it too; the same key with a different request is 422.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{BankAccount, Owner};
use crate::domain::locker;
use crate::domain::values::Report;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Path, Query};
use crate::http::me::rental_by_id;
use crate::http::session::CurrentUser;
use crate::http::views::{RentResult, RentalView};
use crate::limits::{Limit, Subject};
use crate::repo::stores;
use crate::state::AppState;

/// A locker issues at most one password per this interval.
const LOCKER_INTERVAL: Duration = Duration::from_secs(60);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rent_form))
        .routes(routes!(rent))
        .routes(routes!(return_form))
        .routes(routes!(return_umbrella))
}

#[derive(Serialize, ToSchema, sqlx::FromRow)]
pub struct RentForm {
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub store_id: i64,
    pub store_name: String,
    pub region_name: String,
    pub rentable: bool,
}

/// What the rent page shows after scanning an umbrella's QR code.
#[utoipa::path(get, path = "/umbrellas/{id}/rent-form", tag = "rentals",
    params(("id" = i64, Path, description = "Umbrella id")),
    responses((status = 200, body = RentForm), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn rent_form(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<RentForm>> {
    let sql = format!(
        "SELECT u.id AS umbrella_id, u.number AS umbrella_number, s.id AS store_id, s.name AS store_name, \
                c.name AS region_name, ({}) AND s.activated AS rentable \
         FROM umbrellas u JOIN stores s ON s.id = u.store_id JOIN classifications c ON c.id = s.region_id \
         WHERE u.id = $1 AND NOT u.deleted AND NOT s.deleted",
        stores::RENTABLE
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .map(Json)
        .ok_or(Error::NotFound("umbrella"))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct RentRequest {
    pub umbrella_id: i64,
    /// The store the umbrella is rented at (from the QR code); must be where it stands.
    pub store_id: i64,
    /// The umbrella's condition as the renter sees it (at most 400 characters).
    #[serde(default)]
    pub condition_report: Option<String>,
}

/// Rents an umbrella. Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/rentals", tag = "rentals",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses(
        (status = 201, body = RentResult), (status = 401, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "not rentable, not at that store, or the user already rents one", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem),
        (status = 429, description = "the store's locker issued a password less than 60 s ago, or this user asked for too many locker passwords", body = crate::error::Problem)))]
pub async fn rent(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Json(body): Json<RentRequest>,
) -> Result<Response> {
    let report = Report::parse(body.condition_report.as_deref(), "condition report")?;
    let key = idempotency_key(&headers)?;
    let mut tx = state.db.begin().await?;
    if let Some(key) = &key
        && let Some(replay) = claim_key(&mut tx, &state, user.id, key, "rent", &body).await?
    {
        return Ok(replay);
    }
    let already: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rentals WHERE user_id = $1 AND returned_at IS NULL)",
    )
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    if already {
        return Err(Error::conflict(
            "you already have a rented umbrella; return it first",
        ));
    }
    let umbrella: Option<(i64, bool, bool)> = sqlx::query_as(
        "SELECT store_id, rentable, missed FROM umbrellas WHERE id = $1 AND NOT deleted FOR UPDATE",
    )
    .bind(body.umbrella_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (at_store, rentable, missed) = umbrella.ok_or(Error::NotFound("umbrella"))?;
    if at_store != body.store_id {
        return Err(Error::conflict("this umbrella is not at that store"));
    }
    if !rentable || missed {
        return Err(Error::conflict("this umbrella is not rentable right now"));
    }
    if !stores::is_in_service(&mut *tx, body.store_id).await? {
        return Err(Error::conflict("this store is not in service"));
    }
    let locker_password = issue_locker_password(&mut tx, &state, user.id, body.store_id).await?;
    let rental_id: i64 = sqlx::query_scalar(
        "INSERT INTO rentals (umbrella_id, user_id, rent_store_id, condition_report) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(body.umbrella_id)
    .bind(user.id)
    .bind(body.store_id)
    .bind(report.into_inner())
    .fetch_one(&mut *tx)
    .await
    .on_constraint(|c| match c {
        "rentals_open_umbrella_key" => Some(Error::conflict("this umbrella is already rented")),
        "rentals_open_user_key" => Some(Error::conflict("you already have a rented umbrella; return it first")),
        _ => None,
    })?;
    sqlx::query("UPDATE umbrellas SET rentable = false WHERE id = $1")
        .bind(body.umbrella_id)
        .execute(&mut *tx)
        .await?;
    let result = RentResult {
        rental: rental_by_id(&mut *tx, rental_id).await?,
        locker_password,
    };
    let response = finish(
        &mut tx,
        user.id,
        key.as_deref(),
        StatusCode::CREATED,
        &result,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        user_id = user.id,
        rental_id,
        umbrella_id = body.umbrella_id,
        "umbrella rented"
    );
    Ok(response)
}

async fn issue_locker_password(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    user_id: i64,
    store_id: i64,
) -> Result<Option<String>> {
    let locker: Option<(i64, String, i64, Option<OffsetDateTime>)> = sqlx::query_as(
        "SELECT id, secret, counter, last_access FROM lockers WHERE store_id = $1 FOR UPDATE",
    )
    .bind(store_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, secret, counter, last_access)) = locker else {
        return Ok(None);
    };
    state
        .limiter
        .check(Limit::LockerPerUser, Subject::User(user_id))
        .await?;
    let now = OffsetDateTime::now_utc();
    if let Some(last) = last_access {
        let since = now - last;
        if since < LOCKER_INTERVAL && since >= time::Duration::ZERO {
            let wait = LOCKER_INTERVAL - Duration::try_from(since).unwrap_or_default();
            return Err(Error::TooManyRequests {
                message: "this store's locker issued a password less than a minute ago; please retry shortly".into(),
                retry_after: wait,
            });
        }
    }
    let password = locker::locker_password(&secret, u64::try_from(counter).unwrap_or_default())?;
    sqlx::query("UPDATE lockers SET counter = counter + 1, last_access = now() WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(Some(password))
}

#[derive(Deserialize, IntoParams)]
pub struct LockerProof {
    /// The salt printed in the store's QR code.
    pub salt: Option<String>,
    /// The signature printed in the store's QR code.
    pub signature: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnForm {
    pub store_id: i64,
    pub store_name: String,
    pub has_locker: bool,
    /// The umbrella being returned.
    pub rental: RentalView,
}

/// What the return page shows at a store. At a store with a locker, the QR code's salt
/// and signature are required (400 if missing, 403 if wrong).
#[utoipa::path(get, path = "/stores/{id}/return-form", tag = "rentals",
    params(("id" = i64, Path, description = "Store id"), LockerProof),
    responses((status = 200, body = ReturnForm), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, description = "nothing to return", body = crate::error::Problem)))]
pub async fn return_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(proof): Query<LockerProof>,
) -> Result<Json<ReturnForm>> {
    let store: (String, Option<String>) = sqlx::query_as(
        "SELECT s.name, l.secret FROM stores s LEFT JOIN lockers l ON l.store_id = s.id WHERE s.id = $1 AND s.activated AND NOT s.deleted",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("store"))?;
    check_locker_proof(store.1.as_deref(), &proof)?;
    let rental_id: i64 =
        sqlx::query_scalar("SELECT id FROM rentals WHERE user_id = $1 AND returned_at IS NULL")
            .bind(user.id)
            .fetch_optional(&state.db)
            .await?
            .ok_or_else(|| Error::conflict("you have no rented umbrella to return"))?;
    Ok(Json(ReturnForm {
        store_id: id,
        store_name: store.0,
        has_locker: store.1.is_some(),
        rental: rental_by_id(&state.db, rental_id).await?,
    }))
}

fn check_locker_proof(secret: Option<&str>, proof: &LockerProof) -> Result<()> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let (Some(salt), Some(signature)) = (proof.salt.as_deref(), proof.signature.as_deref()) else {
        return Err(Error::BadRequest(
            "this store has a locker: salt and signature from its QR code are required".into(),
        ));
    };
    if locker::verify_signature(secret, salt, signature) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "the locker signature does not match this store",
        ))
    }
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ReturnRequest {
    /// The store the umbrella is returned to.
    pub store_id: i64,
    /// Suggestions for the service (at most 400 characters).
    #[serde(default)]
    pub improvement_report: Option<String>,
    /// Refund account; the user's saved account is used when omitted.
    #[serde(default)]
    pub bank_name: Option<String>,
    #[serde(default)]
    pub account_number: Option<String>,
    /// Required at stores with a locker.
    #[serde(default)]
    pub salt: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// Returns the user's rented umbrella at a store. Send `Idempotency-Key` to make
/// retries safe.
#[utoipa::path(post, path = "/rentals/current/return", tag = "rentals",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 200, body = RentalView), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, description = "nothing to return", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn return_umbrella(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Json(body): Json<ReturnRequest>,
) -> Result<Response> {
    let report = Report::parse(body.improvement_report.as_deref(), "improvement report")?;
    let given_account = match (body.bank_name.as_deref(), body.account_number.as_deref()) {
        (Some(name), Some(number)) => Some(BankAccount::parse(name, number)?),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "give both bank_name and account_number, or neither",
            ));
        }
    };
    let key = idempotency_key(&headers)?;
    let mut tx = state.db.begin().await?;
    if let Some(key) = &key
        && let Some(replay) = claim_key(&mut tx, &state, user.id, key, "return", &body).await?
    {
        return Ok(replay);
    }
    let store: (Option<String>,) = sqlx::query_as(
        "SELECT l.secret FROM stores s LEFT JOIN lockers l ON l.store_id = s.id WHERE s.id = $1 AND s.activated AND NOT s.deleted",
    )
    .bind(body.store_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("store"))?;
    check_locker_proof(
        store.0.as_deref(),
        &LockerProof {
            salt: body.salt.clone(),
            signature: body.signature.clone(),
        },
    )?;
    // The account in plain text for a moment: it is sealed again for the rental's row.
    let (bank_name, number) = match given_account {
        Some(account) => (account.bank_name.clone(), account.number.clone()),
        None => {
            let saved: (Option<String>, Option<Vec<u8>>) =
                sqlx::query_as("SELECT bank_name, bank_account FROM users WHERE id = $1")
                    .bind(user.id)
                    .fetch_one(&mut *tx)
                    .await?;
            match saved {
                (Some(name), Some(sealed)) => {
                    (name, state.cipher.decrypt(&sealed, Owner::User(user.id))?)
                }
                _ => {
                    return Err(Error::invalid(
                        "a bank account is needed to refund the deposit",
                    ));
                }
            }
        }
    };
    let rental: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, umbrella_id FROM rentals WHERE user_id = $1 AND returned_at IS NULL FOR UPDATE",
    )
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let (rental_id, umbrella_id) =
        rental.ok_or_else(|| Error::conflict("you have no rented umbrella to return"))?;
    let sealed = state.cipher.encrypt(&number, Owner::Rental(rental_id))?;
    sqlx::query(
        "UPDATE rentals SET returned_at = now(), return_store_id = $2, improvement_report = $3, bank_name = $4, bank_account = $5 \
         WHERE id = $1",
    )
    .bind(rental_id)
    .bind(body.store_id)
    .bind(report.into_inner())
    .bind(bank_name)
    .bind(sealed)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE umbrellas SET store_id = $2, rentable = true WHERE id = $1")
        .bind(umbrella_id)
        .bind(body.store_id)
        .execute(&mut *tx)
        .await?;
    let view = rental_by_id(&mut *tx, rental_id).await?;
    let response = finish(&mut tx, user.id, key.as_deref(), StatusCode::OK, &view).await?;
    tx.commit().await?;
    tracing::info!(
        user_id = user.id,
        rental_id,
        umbrella_id,
        store_id = body.store_id,
        "umbrella returned"
    );
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Error::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?;
    Ok(Some(key.to_owned()))
}

fn request_hash(operation: &str, body: &impl Serialize) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(body).map_err(Error::internal)?;
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(&json);
    Ok(hasher.finalize().to_vec())
}

/// Claims `key` for this request inside `tx`. Returns the stored response when the key
/// was already used (waiting for a concurrent holder of the key to finish first).
async fn claim_key(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    user_id: i64,
    key: &str,
    operation: &str,
    body: &impl Serialize,
) -> Result<Option<Response>> {
    let hash = request_hash(operation, body)?;
    // An expired record is gone for good (it may hold a locker password): the key
    // starts afresh. The sweep in `startup` removes the ones nobody reuses.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 \
         AND created_at < now() - make_interval(secs => $3)",
    )
    .bind(user_id)
    .bind(key)
    .bind(state.config.idempotency_ttl.as_secs_f64())
    .execute(&mut **tx)
    .await?;
    let claimed: Option<bool> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (user_id, key, operation, request_hash) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, key) DO NOTHING RETURNING true",
    )
    .bind(user_id)
    .bind(key)
    .bind(operation)
    .bind(&hash)
    .fetch_optional(&mut **tx)
    .await?;
    if claimed.is_some() {
        return Ok(None);
    }
    let stored: (String, Vec<u8>, Option<i16>, Option<serde_json::Value>) =
        sqlx::query_as("SELECT operation, request_hash, status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_one(&mut **tx)
            .await?;
    let (stored_op, stored_hash, status, stored_body) = stored;
    if stored_op != operation || stored_hash != hash {
        return Err(Error::invalid(
            "this Idempotency-Key was already used for a different request",
        ));
    }
    let (Some(status), Some(stored_body)) = (status, stored_body) else {
        return Err(Error::conflict(
            "a request with this Idempotency-Key is still in progress",
        ));
    };
    let status =
        StatusCode::from_u16(u16::try_from(status).unwrap_or(500)).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(stored_body)).into_response();
    response.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    Ok(Some(response))
}

/// Builds the response and, when the request had a key, records it in `tx`.
async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    user_id: i64,
    key: Option<&str>,
    status: StatusCode,
    body: &impl Serialize,
) -> Result<Response> {
    let json = serde_json::to_value(body).map_err(Error::internal)?;
    if let Some(key) = key {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
        )
        .bind(user_id)
        .bind(key)
        .bind(i16::try_from(status.as_u16()).unwrap_or(200))
        .bind(&json)
        .execute(&mut **tx)
        .await?;
    }
    Ok((status, axum::Json(json)).into_response())
}
