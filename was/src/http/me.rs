//! The logged-in user: profile, current and past rentals, bank account, leaving.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{self, BankAccount, Owner};
use crate::error::{Error, Result};
use crate::http::extract::Json;
use crate::http::session::{self, CurrentUser};
use crate::http::views::{BankView, CurrentRental, RentalView, StoreRef, UserView};
use crate::repo::users;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, leave))
        .routes(routes!(current_rental))
        .routes(routes!(my_rentals))
        .routes(routes!(set_bank_account, delete_bank_account))
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: Option<String>,
    name: String,
    phone: Option<String>,
    is_admin: bool,
    kakao_id: Option<i64>,
    bank_name: Option<String>,
    bank_account: Option<Vec<u8>>,
}

pub async fn user_view(state: &AppState, id: i64) -> Result<UserView> {
    let row: UserRow = sqlx::query_as(
        "SELECT id, email, name, phone, is_admin, kakao_id, bank_name, bank_account FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("user"))?;
    let bank = match (row.bank_name, row.bank_account) {
        (Some(bank_name), Some(sealed)) => Some(BankView {
            bank_name,
            account_number: bank::mask(&state.cipher.decrypt(&sealed, Owner::User(row.id))?),
        }),
        _ => None,
    };
    Ok(UserView {
        id: row.id,
        email: row.email,
        name: row.name,
        phone: row.phone,
        is_admin: row.is_admin,
        kakao_linked: row.kakao_id.is_some(),
        bank,
    })
}

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "me", responses((status = 200, body = UserView), (status = 401, body = crate::error::Problem)))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<UserView>> {
    Ok(Json(user_view(&state, user.id).await?))
}

#[derive(sqlx::FromRow)]
pub(crate) struct RentalRow {
    id: i64,
    umbrella_id: i64,
    umbrella_number: i64,
    rent_store_id: i64,
    rent_store_name: String,
    rented_at: OffsetDateTime,
    returned_at: Option<OffsetDateTime>,
    return_store_id: Option<i64>,
    return_store_name: Option<String>,
}

pub(crate) const RENTAL_SELECT: &str = "SELECT r.id, r.umbrella_id, u.number AS umbrella_number, \
        r.rent_store_id, rs.name AS rent_store_name, r.rented_at, r.returned_at, \
        r.return_store_id, ts.name AS return_store_name \
    FROM rentals r JOIN umbrellas u ON u.id = r.umbrella_id JOIN stores rs ON rs.id = r.rent_store_id \
    LEFT JOIN stores ts ON ts.id = r.return_store_id";

impl From<RentalRow> for RentalView {
    fn from(r: RentalRow) -> Self {
        let end = r.returned_at.unwrap_or_else(OffsetDateTime::now_utc);
        RentalView {
            id: r.id,
            umbrella_id: r.umbrella_id,
            umbrella_number: r.umbrella_number,
            rent_store: StoreRef {
                id: r.rent_store_id,
                name: r.rent_store_name,
            },
            rented_at: r.rented_at,
            due_at: r.rented_at + time::Duration::days(14),
            elapsed_days: (end - r.rented_at).whole_days(),
            returned_at: r.returned_at,
            return_store: r
                .return_store_id
                .zip(r.return_store_name)
                .map(|(id, name)| StoreRef { id, name }),
        }
    }
}

pub(crate) async fn rental_by_id(db: impl sqlx::PgExecutor<'_>, id: i64) -> Result<RentalView> {
    let row: RentalRow = sqlx::query_as(&format!("{RENTAL_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_one(db)
        .await?;
    Ok(row.into())
}

/// The user's open rental, if any: umbrella, days elapsed, due date.
#[utoipa::path(get, path = "/me/rental", tag = "me", responses((status = 200, body = CurrentRental), (status = 401, body = crate::error::Problem)))]
pub async fn current_rental(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CurrentRental>> {
    let row: Option<RentalRow> = sqlx::query_as(&format!(
        "{RENTAL_SELECT} WHERE r.user_id = $1 AND r.returned_at IS NULL"
    ))
    .bind(user.id)
    .fetch_optional(&state.db)
    .await?;
    Ok(Json(CurrentRental {
        rental: row.map(Into::into),
    }))
}

/// All of the user's rentals, newest first.
#[utoipa::path(get, path = "/me/rentals", tag = "me", responses((status = 200, body = [RentalView]), (status = 401, body = crate::error::Problem)))]
pub async fn my_rentals(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<RentalView>>> {
    let rows: Vec<RentalRow> = sqlx::query_as(&format!(
        "{RENTAL_SELECT} WHERE r.user_id = $1 ORDER BY r.rented_at DESC, r.id DESC"
    ))
    .bind(user.id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct BankAccountInput {
    #[schema(example = "신한")]
    pub bank_name: String,
    #[schema(example = "110-123-456789")]
    pub account_number: String,
}

/// Sets the bank account deposits are refunded to (stored encrypted).
#[utoipa::path(put, path = "/me/bank-account", tag = "me", responses((status = 200, body = UserView), (status = 422, body = crate::error::Problem)))]
pub async fn set_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<BankAccountInput>,
) -> Result<Json<UserView>> {
    let account = BankAccount::parse(&body.bank_name, &body.account_number)?;
    let sealed = state
        .cipher
        .encrypt(&account.number, Owner::User(user.id))?;
    sqlx::query("UPDATE users SET bank_name = $2, bank_account = $3 WHERE id = $1")
        .bind(user.id)
        .bind(&account.bank_name)
        .bind(sealed)
        .execute(&state.db)
        .await?;
    Ok(Json(user_view(&state, user.id).await?))
}

/// Deletes the stored bank account.
#[utoipa::path(delete, path = "/me/bank-account", tag = "me", responses((status = 204)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode> {
    sqlx::query("UPDATE users SET bank_name = NULL, bank_account = NULL WHERE id = $1")
        .bind(user.id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves the service: the account is anonymised (rentals keep pointing at it) and the
/// session ends. Refused while an umbrella is still rented.
#[utoipa::path(delete, path = "/me", tag = "me", responses((status = 204), (status = 409, description = "umbrella not returned", body = crate::error::Problem)))]
pub async fn leave(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let open: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rentals WHERE user_id = $1 AND returned_at IS NULL)",
    )
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    if open {
        return Err(Error::conflict("return the rented umbrella before leaving"));
    }
    users::anonymise(&mut *tx, user.id, "left").await?;
    tx.commit().await?;
    session::log_out(&state, &user.session).await?;
    tracing::info!(user_id = user.id, "user left");
    Ok(StatusCode::NO_CONTENT)
}
