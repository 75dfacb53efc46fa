//! The owner's control of their account: the e-mail address verified (and changed only
//! through a link sent to the new one), the password changed or reset by a single-use
//! link, the password given again before sensitive changes, and every session ended at
//! once.
//!
//! Links are 256-bit random tokens, stored only as a SHA-256 (`repo::tokens`), used once
//! and expiring (`EMAIL_VERIFY_TTL`, `PASSWORD_RESET_TTL`). Asking for a reset answers
//! the same whether or not the address has an account; how many mails one account gets
//! is limited without saying so.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::password::Password;
use crate::domain::values::Email;
use crate::error::{Error, Result, ResultExt};
use crate::http::edge::ClientAddr;
use crate::http::extract::Json;
use crate::http::session::{self, CurrentUser};
use crate::limits::{Limit, RateLimiter, Standing, Subject};
use crate::mail::templates;
use crate::repo::tokens::{self, Purpose};
use crate::repo::users;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm_email))
        .routes(routes!(resend_verification))
        .routes(routes!(change_email))
        .routes(routes!(change_password))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(reauthenticate))
        .routes(routes!(log_out_everywhere))
}

/// A new link's token (64 hex digits from two random UUIDs: 244 random bits) and the
/// hash that is stored.
fn new_token() -> (String, Vec<u8>) {
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = token_hash(&token);
    (token, hash)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Where links point: `PUBLIC_URL` (required to send mail), the page, the token after `#`.
fn link(state: &AppState, page: &str, token: &str) -> String {
    let base = state
        .config
        .public_url
        .as_deref()
        .unwrap_or("http://localhost");
    format!("{base}{page}#t={token}")
}

fn ttl_secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

fn invalid_link() -> Error {
    Error::bad_request(
        "invalid_link",
        "링크가 만료되었거나 이미 사용되었습니다. 새 링크를 요청해 주세요. (This link has expired or was already used; ask for a new one.)",
    )
}

/// Sends the verification link for the account's current address.
pub async fn send_verification(
    state: &AppState,
    user_id: i64,
    name: &str,
    email: &str,
) -> Result<()> {
    let (token, hash) = new_token();
    tokens::create(
        &state.db,
        &hash,
        user_id,
        Purpose::VerifyEmail,
        email,
        ttl_secs(state.config.email_verify_ttl),
    )
    .await?;
    state.mailer.send(templates::verify_email(
        email,
        name,
        &link(state, "/verify-email", &token),
        state.config.email_verify_ttl.as_secs() / 3600,
    ));
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token from the link (after `#t=`).
    #[schema(min_length = 1, max_length = 128, pattern = "^[0-9a-f]+$")]
    pub token: String,
}

/// Confirms an e-mail address from the link sent to it: the sign-up's address becomes
/// verified, or a new address replaces the account's. Works without a session (the link
/// may be opened on another device).
#[utoipa::path(post, path = "/auth/email/confirm", tag = "auth", request_body = TokenBody, responses(
    (status = 204, description = "verified (or changed)"),
    (status = 400, description = "expired, used or unknown link", body = crate::error::Problem),
    (status = 409, description = "the new address was taken meanwhile", body = crate::error::Problem)))]
pub async fn confirm_email(
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> Result<StatusCode> {
    let hash = token_hash(&body.token);
    let mut tx = state.db.begin().await?;
    if let Some(used) = tokens::take(&mut *tx, &hash, Purpose::VerifyEmail).await? {
        if !users::verify_email(&mut *tx, used.user_id, &used.email).await? {
            // The account's address changed (or it left) since the link was sent.
            return Err(invalid_link());
        }
        tx.commit().await?;
        tracing::info!(user_id = used.user_id, "e-mail address verified");
        return Ok(StatusCode::NO_CONTENT);
    }
    let Some(used) = tokens::take(&mut *tx, &hash, Purpose::ChangeEmail).await? else {
        return Err(invalid_link());
    };
    let before = users::account(&mut *tx, used.user_id)
        .await?
        .ok_or_else(invalid_link)?;
    let changed = users::change_email(&mut *tx, used.user_id, &used.email)
        .await
        .on_constraint(|c| (c == "users_email_key").then(email_taken))?;
    if !changed {
        return Err(invalid_link());
    }
    tokens::retire(&mut *tx, used.user_id, Purpose::ChangeEmail).await?;
    tokens::retire(&mut *tx, used.user_id, Purpose::VerifyEmail).await?;
    tokens::retire(&mut *tx, used.user_id, Purpose::ResetPassword).await?;
    tx.commit().await?;
    tracing::info!(user_id = used.user_id, "e-mail address changed");
    if let Some(old) = before
        .email
        .filter(|old| !old.eq_ignore_ascii_case(&used.email))
    {
        state
            .mailer
            .send(templates::email_changed(&old, &before.name, &used.email));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn email_taken() -> Error {
    Error::conflict(
        "email_taken",
        "이미 가입된 이메일입니다. (This e-mail address is taken.)",
    )
}

/// Sends the verification link again. Limited per account.
#[utoipa::path(post, path = "/me/email/verification", tag = "me", responses(
    (status = 202, description = "a link is on its way"),
    (status = 409, description = "already verified, or no e-mail address (Kakao)", body = crate::error::Problem),
    (status = 429, body = crate::error::Problem)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode> {
    let account = users::account(&state.db, user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let Some(email) = account.email.as_deref() else {
        return Err(Error::conflict(
            "no_email",
            "이메일 주소가 없는 계정입니다. (This account has no e-mail address.)",
        ));
    };
    if account.email_verified {
        return Err(Error::conflict(
            "already_verified",
            "이미 확인된 이메일 주소입니다. (Already verified.)",
        ));
    }
    state
        .limiter
        .check(Limit::MailPerAccount, Subject::User(user.id))
        .await?;
    send_verification(&state, user.id, &account.name, email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct NewEmail {
    #[schema(example = "kim@example.com", format = "email", max_length = 254)]
    pub email: String,
}

/// Asks to change the account's e-mail address: a link goes to the new address, which
/// becomes the account's when it is opened. Needs a recent password (`reauth_required`).
#[utoipa::path(put, path = "/me/email", tag = "me", request_body = NewEmail, responses(
    (status = 202, description = "a link went to the new address"),
    (status = 401, description = "log in, or give the password again (`reauth_required`)", body = crate::error::Problem),
    (status = 409, description = "taken, or a Kakao account", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem),
    (status = 429, body = crate::error::Problem)))]
pub async fn change_email(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<NewEmail>,
) -> Result<StatusCode> {
    let email = Email::parse(&body.email)?;
    user.require_recent_auth(&state)?;
    let account = users::account(&state.db, user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if account.password_hash.is_none() {
        return Err(Error::conflict(
            "kakao_account",
            "카카오 계정은 이메일 주소를 바꿀 수 없습니다. (A Kakao account has no e-mail to change.)",
        ));
    }
    if users::account_by_email(&state.db, email.as_str())
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    state
        .limiter
        .check(Limit::MailPerAccount, Subject::User(user.id))
        .await?;
    let (token, hash) = new_token();
    tokens::create(
        &state.db,
        &hash,
        user.id,
        Purpose::ChangeEmail,
        email.as_str(),
        ttl_secs(state.config.email_verify_ttl),
    )
    .await?;
    state.mailer.send(templates::change_email(
        email.as_str(),
        &account.name,
        &link(&state, "/verify-email", &token),
        state.config.email_verify_ttl.as_secs() / 3600,
    ));
    tracing::info!(user_id = user.id, "e-mail change requested");
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Changes the password: the current one first. Every other session of the user ends;
/// this one continues under a new id. A notice goes to the account's address.
#[utoipa::path(put, path = "/me/password", tag = "me", request_body = PasswordChange, responses(
    (status = 204, description = "changed; other sessions ended"),
    (status = 401, description = "the current password is wrong", body = crate::error::Problem),
    (status = 409, description = "a Kakao account has no password", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem),
    (status = 429, body = crate::error::Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: CurrentUser,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode> {
    let new = Password::parse(&body.new_password)?;
    let account = users::account(&state.db, user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if account.password_hash.is_none() {
        return Err(no_password());
    }
    check_password(&state, client, &account, body.current_password).await?;
    let hash = state.hasher.hash(new).await?;
    let generation = users::set_password(&state.db, user.id, &hash)
        .await?
        .ok_or(Error::Unauthenticated)?;
    session::renew(&state, &user, generation).await?;
    tokens::retire(&state.db, user.id, Purpose::ResetPassword).await?;
    tracing::info!(user_id = user.id, "password changed; other sessions ended");
    if let Some(email) = &account.email {
        state.mailer.send(templates::password_changed(
            email,
            &account.name,
            &format!(
                "{}/forgot-password",
                state
                    .config
                    .public_url
                    .as_deref()
                    .unwrap_or("http://localhost")
            ),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn no_password() -> Error {
    Error::conflict(
        "kakao_account",
        "카카오로 로그인하는 계정에는 비밀번호가 없습니다. 카카오로 다시 로그인해 주세요. (A Kakao account has no password: log in with Kakao again.)",
    )
}

/// Checks the password of the logged-in account, counted like a login's failures.
async fn check_password(
    state: &AppState,
    client: std::net::IpAddr,
    account: &users::Account,
    candidate: String,
) -> Result<()> {
    let email = account.email.clone().unwrap_or_default();
    if let Standing::Over(wait) = state
        .limiter
        .peek(Limit::LoginFailures, Subject::AccountFrom(&email, client))
        .await?
    {
        return Err(RateLimiter::refusal(Limit::LoginFailures, wait));
    }
    if state
        .hasher
        .verify(candidate, account.password_hash.clone())
        .await?
    {
        return Ok(());
    }
    state
        .limiter
        .charge(Limit::LoginFailures, Subject::AccountFrom(&email, client))
        .await?;
    state
        .limiter
        .charge(Limit::LoginFailuresPerAccount, Subject::Account(&email))
        .await?;
    Err(Error::BadCredentials)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequest {
    #[schema(example = "kim@example.com", format = "email", max_length = 254)]
    pub email: String,
}

/// Sends a password-reset link to the address if an account uses it. The answer is the
/// same either way (202), and so is its timing as far as the client can tell: the mail
/// leaves from the queue.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = ResetRequest, responses(
    (status = 202, description = "if the address has an account, a link is on its way"),
    (status = 422, body = crate::error::Problem),
    (status = 429, description = "too many requests from this address", body = crate::error::Problem)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode> {
    let email = Email::parse(&body.email)?;
    state
        .limiter
        .check(Limit::MailPerAddress, Subject::Address(client))
        .await?;
    let Some(account) = users::account_by_email(&state.db, email.as_str()).await? else {
        tracing::info!("password reset asked for an address without an account");
        return Ok(StatusCode::ACCEPTED);
    };
    // Over the account's allowance: silently nothing, so the answer tells no one
    // whether the address has an account.
    if state
        .limiter
        .check(Limit::MailPerAccount, Subject::User(account.id))
        .await
        .is_err()
    {
        tracing::warn!(
            user_id = account.id,
            "password reset mail withheld: too many"
        );
        return Ok(StatusCode::ACCEPTED);
    }
    let (token, hash) = new_token();
    tokens::create(
        &state.db,
        &hash,
        account.id,
        Purpose::ResetPassword,
        email.as_str(),
        ttl_secs(state.config.password_reset_ttl),
    )
    .await?;
    state.mailer.send(templates::reset_password(
        email.as_str(),
        &account.name,
        &link(&state, "/reset-password", &token),
        state.config.password_reset_ttl.as_secs() / 60,
    ));
    tracing::info!(user_id = account.id, "password reset link sent");
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirm {
    #[schema(min_length = 1, max_length = 128, pattern = "^[0-9a-f]+$")]
    pub token: String,
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    pub password: String,
}

/// Sets a new password from a reset link (once). Every session of the user ends, and
/// failed-login counts for the account are forgotten; the address counts as verified
/// (the link reached it). Log in afterwards.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirm, responses(
    (status = 204, description = "password set; log in with it"),
    (status = 400, description = "expired, used or unknown link", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem)))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetConfirm>,
) -> Result<StatusCode> {
    // The password is checked before the link is spent, so a too-short one can be fixed;
    // and no password is hashed for a link that cannot work (hashing is the expensive
    // part, and this needs no login).
    let password = Password::parse(&body.password)?;
    if !tokens::usable(&state.db, &token_hash(&body.token), Purpose::ResetPassword).await? {
        return Err(invalid_link());
    }
    let hash = state.hasher.hash(password).await?;
    let mut tx = state.db.begin().await?;
    let used = tokens::take(&mut *tx, &token_hash(&body.token), Purpose::ResetPassword)
        .await?
        .ok_or_else(invalid_link)?;
    users::set_password(&mut *tx, used.user_id, &hash)
        .await?
        .ok_or_else(invalid_link)?;
    users::verify_email(&mut *tx, used.user_id, &used.email).await?;
    tokens::retire(&mut *tx, used.user_id, Purpose::ResetPassword).await?;
    tx.commit().await?;
    state
        .limiter
        .clear(
            Limit::LoginFailuresPerAccount,
            Subject::Account(&used.email),
        )
        .await?;
    tracing::info!(
        user_id = used.user_id,
        "password reset; every session ended"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct Reauth {
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

/// Gives the password again, for the changes that need a recent one (refund account,
/// e-mail address) within `REAUTH_WINDOW`. A Kakao account logs in with Kakao again
/// instead (`/api/auth/kakao`), which counts the same.
#[utoipa::path(post, path = "/auth/reauth", tag = "me", request_body = Reauth, responses(
    (status = 204, description = "confirmed"),
    (status = 401, description = "wrong password", body = crate::error::Problem),
    (status = 409, description = "a Kakao account: log in with Kakao again", body = crate::error::Problem),
    (status = 429, body = crate::error::Problem)))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    user: CurrentUser,
    Json(body): Json<Reauth>,
) -> Result<StatusCode> {
    let account = users::account(&state.db, user.id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if account.password_hash.is_none() {
        return Err(no_password());
    }
    check_password(&state, client, &account, body.password).await?;
    session::reauthenticated(&state, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the user, this one included (a lost phone, a shared computer).
#[utoipa::path(post, path = "/auth/logout-everywhere", tag = "me", responses((status = 204)))]
pub async fn log_out_everywhere(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
) -> Result<StatusCode> {
    users::end_sessions(&state.db, user.id).await?;
    session::log_out(&state, &session).await?;
    tracing::info!(user_id = user.id, "every session ended");
    Ok(StatusCode::NO_CONTENT)
}
