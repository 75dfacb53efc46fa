//! Renting and returning umbrellas.
//!
//! Both are single transactions. The invariants (one open rental per umbrella, one per
//! user) are unique indexes, so even requests that race past the checks here cannot
//! break them; the row lock on the umbrella makes the common race a clean 409.
//!
//! Both accept `Idempotency-Key` (`http::idempotency`): the response is recorded in the
//! same transaction, and a retry gets it back.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, Transaction};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{BankAccount, Owner};
use crate::domain::codes::Subject as Code;
use crate::domain::deposit::Operation;
use crate::domain::locker;
use crate::domain::values::Report;
use crate::error::{Error, Result, ResultExt};
use crate::http::edge::ClientAddr;
use crate::http::extract::{Json, Path, Query};
use crate::http::idempotency::{self, Key};
use crate::http::session::CurrentUser;
use crate::http::views::{RentResult, RentalView};
use crate::ledger;
use crate::limits::{Limit, Subject};
use crate::repo::rentals::Actor;
use crate::repo::stores::ReturnPoint;
use crate::repo::users::SavedAccount;
use crate::repo::{lockers, rentals, stores, umbrellas, users};
use crate::state::AppState;

mod locker_passwords;
pub use locker_passwords::*;

/// A locker issues at most one password per this interval.
const LOCKER_INTERVAL: Duration = Duration::from_secs(60);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rent_form))
        .routes(routes!(rent))
        .routes(routes!(return_form))
        .routes(routes!(return_umbrella))
        .routes(routes!(resync_locker))
}

#[derive(Serialize, ToSchema)]
pub struct RentForm {
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub store_id: i64,
    pub store_name: String,
    pub region_name: String,
    pub rentable: bool,
}

#[derive(Deserialize, IntoParams)]
pub struct CodeQuery {
    /// The code of the scanned QR sticker (`?code=` of its URL).
    pub code: Option<String>,
}

/// What the rent page shows after scanning an umbrella's QR code. A wrong code is 403;
/// no code is 400 when `QR_LEGACY_CODES=refuse`.
#[utoipa::path(get, path = "/umbrellas/{id}/rent-form", tag = "rentals",
    params(("id" = i64, Path, description = "Umbrella id"), CodeQuery),
    responses((status = 200, body = RentForm), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 429, description = "too many rents and returns from this user or address", body = crate::error::Problem)))]
pub async fn rent_form(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
    Query(query): Query<CodeQuery>,
) -> Result<Json<RentForm>> {
    limit_rentals(&state, &user, client).await?;
    check_code(&state, Code::Umbrella(id), query.code.as_deref())?;
    let umbrella = umbrellas::location(&state.db, id)
        .await?
        .ok_or(Error::NotFound("umbrella"))?;
    Ok(Json(RentForm {
        umbrella_id: umbrella.id,
        umbrella_number: umbrella.number,
        store_id: umbrella.store_id,
        store_name: umbrella.store_name,
        region_name: umbrella.region_name,
        rentable: umbrella.available && umbrella.store_activated,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct RentRequest {
    pub umbrella_id: i64,
    /// The store the umbrella is rented at (from the QR code); must be where it stands.
    pub store_id: i64,
    /// The umbrella's condition as the renter sees it (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub condition_report: Option<String>,
    /// The code of the umbrella's QR sticker; required when `QR_LEGACY_CODES=refuse`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub code: Option<String>,
}

/// Rents an umbrella. Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/rentals", tag = "rentals",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses(
        (status = 201, body = RentResult), (status = 401, body = crate::error::Problem),
        (status = 403, description = "the QR code is not this umbrella's", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "not rentable, not at that store, the user already rents one, owes an earlier deposit (`deposit_outstanding`), or their profile lacks a phone number or the agreements", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem),
        (status = 429, description = "the store's locker issued a password less than 60 s ago, this user asked for too many locker passwords, or too many rents and returns", body = crate::error::Problem)))]
pub async fn rent(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<RentRequest>,
) -> Result<Response> {
    let report = Report::parse(body.condition_report.as_deref(), "우산 상태")?;
    let presence = check_code(
        &state,
        Code::Umbrella(body.umbrella_id),
        body.code.as_deref(),
    )?;
    let key = Key::from_request(&state.config.server_keys, &headers, user.id, "rent", &body)?;
    let mut tx = state.db.begin().await?;
    if let Some(key) = &key
        && let Some(replay) = key.claim(&mut tx, ttl_secs(&state)).await?
    {
        return Ok(replay);
    }
    // After the replay: a retry of a request that went through gets its first answer,
    // never a 429 for the retry itself.
    limit_rentals(&state, &user, client).await?;
    if !users::ready_to_rent(&mut *tx, user.id).await? {
        return Err(Error::conflict(
            "profile_incomplete",
            "대여하려면 휴대폰 번호와 약관 동의가 필요합니다. 먼저 입력해 주세요.",
        ));
    }
    if rentals::has_open(&mut *tx, user.id).await? {
        return Err(already_renting());
    }
    refuse_while_owing(&state, &mut tx, user.id).await?;
    let umbrella = umbrellas::lock(&mut *tx, body.umbrella_id)
        .await?
        .ok_or(Error::NotFound("umbrella"))?;
    if umbrella.store_id != body.store_id {
        return Err(Error::conflict(
            "umbrella_not_at_store",
            "이 우산은 이 매장에 있지 않습니다.",
        ));
    }
    if !umbrella.rentable || umbrella.missed {
        return Err(Error::conflict(
            "umbrella_not_rentable",
            "지금은 이 우산을 빌릴 수 없습니다.",
        ));
    }
    if !stores::is_in_service(&mut *tx, body.store_id).await? {
        return Err(Error::conflict(
            "store_not_in_service",
            "지금 운영하지 않는 매장입니다.",
        ));
    }
    let locker_password = issue_locker_password(&mut tx, &state, user.id, body.store_id).await?;
    let rental_id = rentals::start(
        &mut *tx,
        &rentals::NewRental {
            umbrella_id: body.umbrella_id,
            user_id: user.id,
            store_id: body.store_id,
            condition_report: report.as_deref(),
            deposit_amount: i32::try_from(state.config.deposit_amount).unwrap_or(i32::MAX),
            verified: presence == Presence::Verified,
        },
    )
    .await
    .on_constraint(|c| match c {
        "rentals_open_umbrella_key" => Some(Error::conflict(
            "umbrella_rented",
            "이미 대여 중인 우산입니다.",
        )),
        "rentals_open_user_key" => Some(already_renting()),
        _ => None,
    })?;
    umbrellas::mark_rented(&mut *tx, body.umbrella_id).await?;
    let result = RentResult {
        rental: rental_view(&mut tx, rental_id).await?,
        locker_password,
    };
    let response = idempotency::finish(&mut tx, key.as_ref(), StatusCode::CREATED, &result).await?;
    tx.commit().await?;
    state.metrics.rented();
    tracing::info!(
        user_id = user.id,
        rental_id,
        umbrella_id = body.umbrella_id,
        "umbrella rented"
    );
    Ok(response)
}

/// Rents and returns (and their forms) per user and per client address, shared by every
/// replica: throw-away accounts cannot mark every umbrella rented, and one account cannot
/// hammer the codes.
async fn limit_rentals(state: &AppState, user: &CurrentUser, client: IpAddr) -> Result<()> {
    state
        .limiter
        .check(Limit::RentalPerAddress, Subject::Address(client))
        .await?;
    state
        .limiter
        .check(Limit::RentalPerUser, Subject::User(user.id))
        .await
}

/// No new umbrella while an earlier one is lost and its deposit never paid, or returned
/// with the deposit unpaid for longer than `DEPOSIT_UNPAID_DAYS`.
async fn refuse_while_owing(state: &AppState, tx: &mut PgConnection, user_id: i64) -> Result<()> {
    let days = i32::from(state.config.deposit_unpaid_days);
    match rentals::owing(&mut *tx, user_id, days).await? {
        None => Ok(()),
        Some(rentals::Owing::Lost { rental_id }) => Err(Error::conflict(
            "deposit_outstanding",
            format!(
                "분실 처리된 대여(#{rental_id})의 보증금이 정산되지 않아 새로 빌릴 수 없습니다. 보증금을 입금하거나 운영진에게 문의해 주세요. (A lost umbrella's deposit is unsettled: pay it or contact us.)"
            ),
        )),
        Some(rentals::Owing::Unpaid { rental_id }) => Err(Error::conflict(
            "deposit_outstanding",
            format!(
                "반납한 대여(#{rental_id})의 보증금이 {days}일 넘게 입금되지 않아 새로 빌릴 수 없습니다. 보증금을 입금하면 다시 빌릴 수 있습니다. (An earlier deposit is unpaid: pay it to rent again.)"
            ),
        )),
    }
}

fn ttl_secs(state: &AppState) -> f64 {
    state.config.idempotency_ttl.as_secs_f64()
}

async fn rental_view(tx: &mut PgConnection, id: i64) -> Result<RentalView> {
    rentals::find(tx, id)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::internal("the rental just written is missing"))
}

#[derive(Deserialize, IntoParams)]
pub struct ReturnProof {
    /// The code of the store's QR sticker.
    pub code: Option<String>,
    /// The salt printed in the original service's QR code of a store with a locker.
    pub salt: Option<String>,
    /// The signature printed in the original service's QR code of a store with a locker.
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

/// What the return page shows at a store. The store's QR code proves the renter is there:
/// a wrong code is 403. Without one (the original service's stickers), a store with a
/// locker needs the sticker's salt and signature, and `QR_LEGACY_CODES=refuse` refuses
/// (400).
#[utoipa::path(get, path = "/stores/{id}/return-form", tag = "rentals",
    params(("id" = i64, Path, description = "Store id"), ReturnProof),
    responses((status = 200, body = ReturnForm), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, description = "nothing to return", body = crate::error::Problem),
        (status = 429, description = "too many rents and returns from this user or address", body = crate::error::Problem)))]
pub async fn return_form(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
    Query(proof): Query<ReturnProof>,
) -> Result<Json<ReturnForm>> {
    limit_rentals(&state, &user, client).await?;
    let store = stores::return_point(&state.db, id)
        .await?
        .ok_or(Error::NotFound("store"))?;
    check_return_proof(&state, id, &store, proof)?;
    let rental = rentals::open_of(&state.db, user.id)
        .await?
        .ok_or_else(nothing_to_return)?;
    Ok(Json(ReturnForm {
        store_id: id,
        store_name: store.name,
        has_locker: store.locker_id.is_some(),
        rental: rental.into(),
    }))
}

fn already_renting() -> Error {
    Error::conflict(
        "already_renting",
        "이미 빌린 우산이 있습니다. 먼저 반납해 주세요.",
    )
}

fn nothing_to_return() -> Error {
    Error::conflict("nothing_to_return", "반납할 우산이 없습니다.")
}

/// How a rent or return proved the renter stands there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Our signed code.
    Verified,
    /// The original service's sticker, accepted in the dated migration mode: flagged.
    Unverified,
}

/// Checks the code of a scanned sticker. No code is the original service's sticker,
/// accepted only in the migration mode (`QR_LEGACY_CODES=accept` until
/// `QR_LEGACY_UNTIL`) and then flagged.
fn check_code(state: &AppState, subject: Code, code: Option<&str>) -> Result<Presence> {
    match code {
        Some(code) if state.codes.verify(subject, code) => Ok(Presence::Verified),
        Some(_) => Err(match subject {
            Code::Umbrella(_) => Error::forbidden(
                "qr_code_mismatch",
                "QR 코드가 이 우산의 것이 아닙니다. 우산에 붙은 QR 코드를 다시 찍어 주세요.",
            ),
            Code::Store(_) => Error::forbidden(
                "qr_code_mismatch",
                "QR 코드가 이 매장의 것이 아닙니다. 매장의 QR 코드를 다시 찍어 주세요.",
            ),
        }),
        None if state
            .config
            .legacy_codes
            .accepted_at(OffsetDateTime::now_utc()) =>
        {
            Ok(Presence::Unverified)
        }
        None => Err(Error::bad_request(
            "qr_code_required",
            "우산이나 매장에 붙은 QR 코드를 찍어 주세요. 코드 없이는 대여·반납할 수 없습니다. (Scan the QR code on the umbrella or at the store.)",
        )),
    }
}

/// A return proves the renter stands at the store: the store's code, or (the original
/// service's stickers, while accepted) the locker's salt and signature where there is a
/// locker.
fn check_return_proof(
    state: &AppState,
    store_id: i64,
    store: &ReturnPoint,
    proof: ReturnProof,
) -> Result<Presence> {
    let presence = check_code(state, Code::Store(store_id), proof.code.as_deref())?;
    if presence == Presence::Verified {
        return Ok(presence);
    }
    let secret = store
        .locker_id
        .map(|id| {
            locker::unseal(
                &state.cipher,
                id,
                store.locker_secret.as_deref(),
                store.locker_sealed.as_deref(),
            )
        })
        .transpose()?;
    check_locker_proof(
        secret.as_deref(),
        proof.salt.as_deref(),
        proof.signature.as_deref(),
    )?;
    Ok(presence)
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ReturnRequest {
    /// The store the umbrella is returned to.
    pub store_id: i64,
    /// Suggestions for the service (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub improvement_report: Option<String>,
    /// Refund account; the user's saved account is used when omitted.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30)]
    pub bank_name: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9][0-9-]{4,28}[0-9]$")]
    pub account_number: Option<String>,
    /// The code of the store's QR sticker; required when `QR_LEGACY_CODES=refuse`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub code: Option<String>,
    /// The original service's sticker at a store with a locker, when there is no code.
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
        (status = 422, body = crate::error::Problem),
        (status = 429, description = "too many rents and returns from this user or address", body = crate::error::Problem)))]
pub async fn return_umbrella(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<ReturnRequest>,
) -> Result<Response> {
    let report = Report::parse(body.improvement_report.as_deref(), "개선 의견")?;
    let given_account = match (body.bank_name.as_deref(), body.account_number.as_deref()) {
        (Some(name), Some(number)) => Some(BankAccount::parse(name, number)?),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "incomplete_bank_account",
                "은행 이름과 계좌번호를 함께 입력해 주세요.",
            ));
        }
    };
    let key = Key::from_request(
        &state.config.server_keys,
        &headers,
        user.id,
        "return",
        &body,
    )?;
    let mut tx = state.db.begin().await?;
    if let Some(key) = &key
        && let Some(replay) = key.claim(&mut tx, ttl_secs(&state)).await?
    {
        return Ok(replay);
    }
    // After the replay: a retry of a request that went through gets its first answer,
    // never a 429 for the retry itself.
    limit_rentals(&state, &user, client).await?;
    let store = stores::return_point(&mut *tx, body.store_id)
        .await?
        .ok_or(Error::NotFound("store"))?;
    let presence = check_return_proof(
        &state,
        body.store_id,
        &store,
        ReturnProof {
            code: body.code.clone(),
            salt: body.salt.clone(),
            signature: body.signature.clone(),
        },
    )?;
    // The account in plain text for a moment: it is sealed again for the rental's row.
    let (bank_name, number) = match given_account {
        Some(account) => (account.bank_name.clone(), account.number.clone()),
        None => match users::saved_account(&mut *tx, user.id).await? {
            SavedAccount {
                bank_name: Some(name),
                bank_account: Some(sealed),
            } => (name, state.cipher.decrypt(&sealed, Owner::User(user.id))?),
            _ => {
                return Err(Error::invalid(
                    "bank_account_required",
                    "보증금을 돌려받을 계좌를 입력해 주세요.",
                ));
            }
        },
    };
    let rental = rentals::lock_open(&mut *tx, user.id)
        .await?
        .ok_or_else(nothing_to_return)?;
    let sealed = state.cipher.encrypt(&number, Owner::Rental(rental.id))?;
    let record = rentals::Return {
        store_id: body.store_id,
        improvement_report: report.as_deref(),
        bank_name: &bank_name,
        bank_account: &sealed,
        verified: presence == Presence::Verified,
    };
    ledger::apply(
        &mut tx,
        rental.id,
        Operation::Return,
        Actor(Some(user.id)),
        None,
    )
    .await?;
    rentals::close(&mut *tx, rental.id, &record).await?;
    umbrellas::place(&mut *tx, rental.umbrella_id, body.store_id).await?;
    let view = rental_view(&mut tx, rental.id).await?;
    let response = idempotency::finish(&mut tx, key.as_ref(), StatusCode::OK, &view).await?;
    tx.commit().await?;
    state.metrics.returned();
    if let Some(notifier) = &state.notifier {
        notifier.returned(&view);
    }
    tracing::info!(
        user_id = user.id,
        rental_id = rental.id,
        umbrella_id = rental.umbrella_id,
        store_id = body.store_id,
        "umbrella returned"
    );
    Ok(response)
}
