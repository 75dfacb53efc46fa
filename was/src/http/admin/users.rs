//! Admin: users and the blacklist.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::role::Role;
use crate::error::{Error, Result};
use crate::http::extract::{Json, Paging, Path, Query, Search};
use crate::http::session::Operator;
use crate::repo::users::{self, Blacklisted, Identity, User};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user))
        .routes(routes!(ban_user))
        .routes(routes!(list_blacklist))
        .routes(routes!(lift_ban))
}

#[derive(Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: i64,
    pub email: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// A staff member's stores.
    pub store_ids: Vec<i64>,
    /// `role == "admin"`.
    pub is_admin: bool,
    pub kakao_id: Option<i64>,
    /// `active`, `left` or `banned`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl AdminUserView {
    fn new(u: User, store_ids: Vec<i64>) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            phone: u.phone,
            role: u.role,
            store_ids,
            is_admin: u.role == Role::Admin,
            kakao_id: u.kakao_id,
            status: u.status,
            created_at: u.created_at,
        }
    }
}

/// Users, newest first; `q` finds a name, e-mail or phone number.
#[utoipa::path(get, path = "/users", tag = "admin", params(Paging, Search), responses((status = 200, body = [AdminUserView])))]
pub async fn list_users(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
    Query(search): Query<Search>,
) -> Result<Json<Vec<AdminUserView>>> {
    let page = users::page(&state.db, search.text()?, paging.limit(), paging.offset()).await?;
    let staff: Vec<i64> = page
        .iter()
        .filter(|u| u.role == Role::Staff)
        .map(|u| u.id)
        .collect();
    let stores = users::staff_stores_of(&state.db, &staff).await?;
    Ok(Json(
        page.into_iter()
            .map(|u| {
                let mine = stores
                    .iter()
                    .filter(|(user, _)| *user == u.id)
                    .map(|(_, store)| *store)
                    .collect();
                AdminUserView::new(u, mine)
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UserUpdate {
    pub role: Role,
    /// The stores a staff member works for: required (at least one) with `staff`,
    /// ignored otherwise.
    #[serde(default)]
    pub store_ids: Vec<i64>,
}

/// A role other than renter goes only to an account whose owner proved the e-mail
/// address is theirs: otherwise whoever signed up first with an operator's address
/// would get it.
pub fn unverified_admin() -> Error {
    Error::conflict(
        "email_unverified",
        "이메일 주소를 확인한 계정만 운영진이 될 수 있습니다. 본인이 받은 확인 메일의 링크를 먼저 열어 주세요. (Only an account with a verified e-mail address can be an operator.)",
    )
}

/// Gives a user a role: renter, staff (of `store_ids`), clerk or admin (any role but
/// renter needs a verified e-mail address). Takes effect on the user's next request.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminUserView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdate>,
) -> Result<Json<AdminUserView>> {
    if id == admin.id && body.role != Role::Admin {
        return Err(Error::conflict(
            "own_admin_rights",
            "자기 자신의 관리자 권한은 해제할 수 없습니다. (You cannot take away your own admin rights.)",
        ));
    }
    let mut stores = body.store_ids.clone();
    stores.sort_unstable();
    stores.dedup();
    if body.role == Role::Staff && stores.is_empty() {
        return Err(Error::invalid(
            "stores_required",
            "매장 직원은 담당 매장을 하나 이상 골라야 합니다. (Pick the staff member's stores.)",
        ));
    }
    let mut tx = state.db.begin().await?;
    let account = users::account(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    if body.role.is_operator() && !account.email_verified {
        return Err(unverified_admin());
    }
    if body.role == Role::Staff {
        for store in &stores {
            if !crate::repo::stores::exists(&mut *tx, *store).await? {
                return Err(Error::invalid(
                    "unknown_store",
                    format!("매장 {store}번이 없습니다. (No such store.)"),
                ));
            }
        }
    }
    let user = users::set_role(&mut tx, id, body.role, &stores)
        .await?
        .ok_or(Error::NotFound("user"))?;
    admin
        .log(
            &mut *tx,
            "user.set_role",
            "user",
            Some(id),
            json!({"email": user.email, "role": body.role.as_str(), "from": account.role.as_str(), "store_ids": stores}),
        )
        .await?;
    tx.commit().await?;
    let stores = if body.role == Role::Staff {
        stores
    } else {
        Vec::new()
    };
    Ok(Json(AdminUserView::new(user, stores)))
}

/// Bans a user: the identity goes on the blacklist, the account is anonymised, and the
/// user's sessions stop working at once.
#[utoipa::path(post, path = "/users/{id}/ban", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn ban_user(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    if id == admin.id {
        return Err(Error::conflict(
            "ban_self",
            "자기 자신은 차단할 수 없습니다.",
        ));
    }
    let mut tx = state.db.begin().await?;
    let identities = users::lock_active(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    if let Some(email) = &identities.email {
        users::blacklist(&mut *tx, &Identity::Local(email), id).await?;
    }
    if let Some(kakao_id) = identities.kakao_id {
        users::blacklist(&mut *tx, &Identity::Kakao(kakao_id), id).await?;
    }
    // Someone who still holds an umbrella or owes a deposit keeps the contact details we
    // would chase them with until that is settled; the login ends either way.
    let keep_contact = users::has_unsettled(&mut *tx, id).await?;
    if keep_contact {
        users::ban_keeping_contact(&mut *tx, id).await?;
    } else {
        users::anonymise(&mut *tx, id, "banned").await?;
    }
    admin
        .log(
            &mut *tx,
            "user.ban",
            "user",
            Some(id),
            json!({"contact_kept_until_settled": keep_contact}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct BlacklistEntry {
    pub id: i64,
    /// `local` (the subject is an e-mail address) or `kakao` (a Kakao id).
    pub provider: String,
    pub subject: String,
    pub user_id: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub blocked_at: OffsetDateTime,
}

impl From<Blacklisted> for BlacklistEntry {
    fn from(b: Blacklisted) -> Self {
        Self {
            id: b.id,
            provider: b.provider,
            subject: b.subject,
            user_id: b.user_id,
            blocked_at: b.blocked_at,
        }
    }
}

/// Banned identities.
#[utoipa::path(get, path = "/blacklist", tag = "admin", params(Paging), responses((status = 200, body = [BlacklistEntry])))]
pub async fn list_blacklist(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<BlacklistEntry>>> {
    let page = users::blacklist_page(&state.db, paging.limit(), paging.offset()).await?;
    Ok(Json(page.into_iter().map(Into::into).collect()))
}

/// Lifts a ban: the identity may sign up again (as a new account).
#[utoipa::path(delete, path = "/blacklist/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn lift_ban(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if !users::lift_ban(&mut *tx, id).await? {
        return Err(Error::NotFound("blacklist entry"));
    }
    admin
        .log(&mut *tx, "user.lift_ban", "blacklist", Some(id), json!({}))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
