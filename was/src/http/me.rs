//! The logged-in user: profile, current and past rentals, bank account, leaving.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{self, BankAccount, Owner};
use crate::domain::deposit::Operation;
use crate::domain::values::Phone;
use crate::error::{Error, Result};
use crate::http::extract::{Json, Path};
use crate::http::session::{self, CurrentUser};
use crate::http::views::{BankView, CurrentRental, RentalView, UserView};
use crate::ledger;
use crate::repo::rentals::Actor;
use crate::repo::{rentals, users};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, leave))
        .routes(routes!(current_rental))
        .routes(routes!(my_rentals))
        .routes(routes!(set_bank_account, delete_bank_account))
        .routes(routes!(complete_profile))
        .routes(routes!(set_rental_refund_account))
}

pub async fn user_view(state: &AppState, id: i64) -> Result<UserView> {
    let user = users::profile(&state.db, id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let bank = match (user.bank_name, user.bank_account) {
        (Some(bank_name), Some(sealed)) => Some(BankView {
            bank_name,
            account_number: bank::mask(&state.cipher.decrypt(&sealed, Owner::User(user.id))?),
        }),
        _ => None,
    };
    Ok(UserView {
        id: user.id,
        email: user.email,
        name: user.name,
        ready_to_rent: user.phone.is_some() && user.agreed,
        agreed: user.agreed,
        phone: user.phone,
        is_admin: user.is_admin,
        kakao_linked: user.kakao_id.is_some(),
        email_verified: user.email_verified,
        has_password: user.has_password,
        bank,
    })
}

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "me", responses((status = 200, body = UserView), (status = 401, body = crate::error::Problem)))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<UserView>> {
    Ok(Json(user_view(&state, user.id).await?))
}

/// The user's open rental, if any: umbrella, days elapsed, due date.
#[utoipa::path(get, path = "/me/rental", tag = "me", responses((status = 200, body = CurrentRental), (status = 401, body = crate::error::Problem)))]
pub async fn current_rental(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CurrentRental>> {
    let rental = rentals::open_of(&state.db, user.id).await?;
    Ok(Json(CurrentRental {
        rental: rental.map(Into::into),
    }))
}

/// All of the user's rentals, newest first.
#[utoipa::path(get, path = "/me/rentals", tag = "me", responses((status = 200, body = [RentalView]), (status = 401, body = crate::error::Problem)))]
pub async fn my_rentals(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<RentalView>>> {
    let all = rentals::of_user(&state.db, user.id).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct ProfileInput {
    #[schema(
        example = "010-1234-5678",
        pattern = "^01[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}$"
    )]
    pub phone: String,
    /// Must be `true`: the terms of service are agreed to.
    pub agree_terms: bool,
    /// Must be `true`: the collection and use of personal data is agreed to.
    pub agree_privacy: bool,
}

/// Completes the profile renting needs: the phone number and both agreements (asked of
/// Kakao sign-ups before their first rent; also how anyone changes their number).
#[utoipa::path(put, path = "/me/profile", tag = "me", responses((status = 200, body = UserView), (status = 422, body = crate::error::Problem)))]
pub async fn complete_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<ProfileInput>,
) -> Result<Json<UserView>> {
    let phone = Phone::parse(&body.phone)?;
    if !(body.agree_terms && body.agree_privacy) {
        return Err(crate::http::auth::consent_required());
    }
    users::complete_profile(&state.db, user.id, phone.as_str()).await?;
    Ok(Json(user_view(&state, user.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct BankAccountInput {
    #[schema(example = "신한", min_length = 1, max_length = 30)]
    pub bank_name: String,
    #[schema(example = "110-123-456789", pattern = "^[0-9][0-9-]{4,28}[0-9]$")]
    pub account_number: String,
}

/// Sets the bank account deposits are refunded to (stored encrypted). Needs the password
/// given within `REAUTH_WINDOW` (or a fresh login): a stolen session cookie alone cannot
/// redirect refunds.
#[utoipa::path(put, path = "/me/bank-account", tag = "me", responses((status = 200, body = UserView),
    (status = 401, description = "log in, or give the password again (`reauth_required`)", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem)))]
pub async fn set_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<BankAccountInput>,
) -> Result<Json<UserView>> {
    let account = BankAccount::parse(&body.bank_name, &body.account_number)?;
    user.require_recent_auth(&state)?;
    let sealed = state
        .cipher
        .encrypt(&account.number, Owner::User(user.id))?;
    users::set_bank_account(&state.db, user.id, &account.bank_name, &sealed).await?;
    Ok(Json(user_view(&state, user.id).await?))
}

/// Deletes the stored bank account.
#[utoipa::path(delete, path = "/me/bank-account", tag = "me", responses((status = 204)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode> {
    users::delete_bank_account(&state.db, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves the service: the account is anonymised (rentals keep pointing at it) and the
/// session ends. Refused while an umbrella is still rented, or while a deposit is owed
/// either way (leaving and signing up again must not wipe a debt, nor lose a refund).
#[utoipa::path(delete, path = "/me", tag = "me", responses((status = 204), (status = 409, description = "umbrella not returned, or a deposit not settled", body = crate::error::Problem)))]
pub async fn leave(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if rentals::has_open(&mut *tx, user.id).await? {
        return Err(Error::conflict(
            "umbrella_not_returned",
            "빌린 우산을 반납한 뒤에 탈퇴할 수 있습니다.",
        ));
    }
    if users::has_unsettled(&mut *tx, user.id).await? {
        return Err(Error::conflict(
            "deposit_not_settled",
            "보증금 정산(입금 또는 환급)이 끝난 뒤에 탈퇴할 수 있습니다. (A deposit is still to be settled.)",
        ));
    }
    users::anonymise(&mut *tx, user.id, "left").await?;
    tx.commit().await?;
    session::log_out(&state, &user.session).await?;
    tracing::info!(user_id = user.id, "user left");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RefundAccount {
    #[schema(example = "신한", min_length = 1, max_length = 30)]
    pub bank_name: String,
    /// Digits, optionally with hyphens.
    #[schema(example = "110-123-456789", pattern = "^[0-9][0-9-]{4,28}[0-9]$")]
    pub account_number: String,
}

/// Gives (or replaces) the refund account of one of the user's returned rentals: one
/// taken back by staff has none, and one whose refund the bank rejected needs a new one
/// (which puts it back in the refund queue). Needs a recent password, like the saved
/// account.
#[utoipa::path(put, path = "/me/rentals/{id}/refund-account", tag = "me", params(("id" = i64, Path)), request_body = RefundAccount,
    responses((status = 200, body = RentalView), (status = 401, description = "log in, or give the password again (`reauth_required`)", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "the rental is still open, or needs no account", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn set_rental_refund_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<RefundAccount>,
) -> Result<Json<RentalView>> {
    let account = BankAccount::parse(&body.bank_name, &body.account_number)?;
    user.require_recent_auth(&state)?;
    let mut tx = state.db.begin().await?;
    let rental = rentals::find(&mut *tx, id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or(Error::NotFound("rental"))?;
    ledger::apply(
        &mut tx,
        rental.id,
        Operation::NewAccount,
        Actor(Some(user.id)),
        None,
    )
    .await?;
    let sealed = state
        .cipher
        .encrypt(&account.number, Owner::Rental(rental.id))?;
    rentals::set_refund_account(&mut *tx, rental.id, &account.bank_name, &sealed).await?;
    tx.commit().await?;
    let view = rentals::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    Ok(Json(view.into()))
}
