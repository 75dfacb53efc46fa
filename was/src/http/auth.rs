//! Sign-up and login (local accounts with argon2 passwords, and Kakao), and logout.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use fred::interfaces::KeysInterface;
use serde::Deserialize;
use sha2::Digest;
use tower_sessions::Session;
use tower_sessions::cookie::{Cookie, SameSite};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::password::Password;
use crate::domain::role::Role;
use crate::domain::values::{Email, Name, Phone};
use crate::error::{Error, Result, ResultExt};
use crate::http::edge::ClientAddr;
use crate::http::extract::{Json, Query};
use crate::http::me::{consent_required, user_view};
use crate::http::session;
use crate::http::views::UserView;
use crate::limits::{Limit, RateLimiter, Standing, Subject};
use crate::repo::users::{self, Identity, Login};
use crate::state::AppState;

/// The browser's half of a Kakao login in progress: a random value, also sent to Kakao
/// as `state`. The server's half (where to return, single use) is in Redis under a hash
/// of it, for ten minutes. With `SESSION_COOKIE_SECURE` the cookie carries the `__Host-`
/// prefix, so a sibling subdomain cannot plant one and log a victim into its account.
const OAUTH_COOKIE: &str = "upbrella_oauth";
const OAUTH_TTL_SECS: i64 = 600;

fn oauth_cookie_name(secure: bool) -> String {
    if secure {
        format!("__Host-{OAUTH_COOKIE}")
    } else {
        OAUTH_COOKIE.to_owned()
    }
}

fn pre_session_key(nonce: &str) -> String {
    format!(
        "upbrella:oauth:{}",
        hex::encode(sha2::Sha256::digest(nonce.as_bytes()))
    )
}

/// A path on this site to go back to: `/…`, but not `//host` or `/\host` (which browsers
/// read as another site); visible ASCII that a cookie can carry (a browser's path and
/// query are percent-encoded), at most 512 bytes.
fn same_site_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 512
        && next
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'));
    safe.then_some(next)
}

fn oauth_cookie(value: String, secure: bool, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build((oauth_cookie_name(secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .build()
}

/// Runs a Redis command for the login pre-session, bounded like the session store's.
async fn pre_session<T>(
    state: &AppState,
    call: impl std::future::Future<Output = Result<T, fred::error::Error>>,
) -> Result<T> {
    match tokio::time::timeout(
        state.config.redis_timeout + std::time::Duration::from_millis(250),
        call,
    )
    .await
    {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "login pre-session unavailable");
            Err(Error::Unavailable("the session store"))
        }
        Err(_) => Err(Error::Unavailable("the session store")),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct KakaoStart {
    /// A path of this site to return to after login (e.g. the QR code's page).
    pub next: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(log_in))
        .routes(routes!(log_out))
        .routes(routes!(kakao_start))
        .routes(routes!(kakao_callback))
}

#[derive(Deserialize, ToSchema)]
pub struct SignUp {
    #[schema(example = "kim@example.com", format = "email", max_length = 254)]
    pub email: String,
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(example = "김우산", min_length = 1, max_length = 50)]
    pub name: String,
    #[schema(
        example = "010-1234-5678",
        pattern = r"^(01[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}|\+[1-9][0-9 ().-]{6,20})$"
    )]
    pub phone: String,
    /// Agrees to the terms of service (`/terms`); required.
    #[serde(default)]
    pub agree_terms: bool,
    /// Agrees to the privacy policy (`/privacy`): name, e-mail, phone and, for refunds, a
    /// bank account are collected; required.
    #[serde(default)]
    pub agree_privacy: bool,
}

/// Creates a local account and logs it in. Limited per client address.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", responses(
    (status = 201, body = UserView), (status = 403, description = "banned identity", body = crate::error::Problem),
    (status = 409, description = "e-mail taken", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem),
    (status = 429, description = "too many sign-ups from this address", body = crate::error::Problem),
    (status = 503, description = "busy, or the session store is down", body = crate::error::Problem)))]
pub async fn sign_up(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: Session,
    Json(body): Json<SignUp>,
) -> Result<(StatusCode, Json<UserView>)> {
    state
        .limiter
        .check(Limit::SignupPerAddress, Subject::Address(client))
        .await?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let name = Name::parse(&body.name)?;
    let phone = Phone::parse(&body.phone)?;
    if !(body.agree_terms && body.agree_privacy) {
        return Err(consent_required());
    }
    if users::is_blacklisted(&state.db, &Identity::Local(email.as_str())).await? {
        return Err(banned());
    }
    let hash = state.hasher.hash(password).await?;
    let account = users::NewAccount {
        email: email.as_str(),
        password_hash: &hash,
        name: name.as_str(),
        phone: phone.as_str(),
        role: Role::Renter,
        agreed: true,
        email_verified: false,
    };
    let id = users::sign_up(&state.db, &account)
        .await
        .on_constraint(|c| {
            (c == "users_email_key")
                .then(|| Error::conflict("email_taken", "이미 가입된 이메일입니다."))
        })?;
    tracing::info!(user_id = id, "user signed up");
    session::log_in(&state, &session, id, Role::Renter).await?;
    // The account exists and is logged in; a link that could not be made is asked for
    // again from the account page, not a failed sign-up.
    if let Err(e) =
        crate::http::account::send_verification(&state, id, name.as_str(), email.as_str()).await
    {
        tracing::warn!(user_id = id, error = %e, "verification link not sent");
    }
    Ok((StatusCode::CREATED, Json(user_view(&state, id).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct LogIn {
    #[schema(example = "kim@example.com", max_length = 254)]
    pub email: String,
    #[schema(max_length = 128)]
    pub password: String,
}

/// Logs in with e-mail and password. The session id is replaced.
///
/// Limits that a stranger cannot turn against the owner: attempts are limited per client
/// address (a burst and a sustained rate); wrong passwords are counted per (account,
/// address), and per account with a much higher ceiling that only stops addresses which
/// have already failed for it. A right password from an address without failures is
/// never refused for what others tried. Whether an identity is banned is told only to
/// someone who knows its password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LogIn, responses(
    (status = 200, body = UserView), (status = 401, body = crate::error::Problem),
    (status = 403, description = "banned", body = crate::error::Problem),
    (status = 429, description = "too many attempts from this address, or too many wrong passwords for this account from it", body = crate::error::Problem),
    (status = 503, description = "busy, or the session store is down", body = crate::error::Problem)))]
pub async fn log_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: Session,
    Json(body): Json<LogIn>,
) -> Result<Json<UserView>> {
    let limiter = &state.limiter;
    limiter
        .check(Limit::LoginBurstPerAddress, Subject::Address(client))
        .await?;
    limiter
        .check(Limit::LoginPerAddress, Subject::Address(client))
        .await?;
    let email = Email::parse(&body.email).map_err(|_| Error::BadCredentials)?;
    let pair = Subject::AccountFrom(email.as_str(), client);
    match limiter.peek(Limit::LoginFailures, pair).await? {
        Standing::Over(wait) => return Err(RateLimiter::refusal(Limit::LoginFailures, wait)),
        // This address has failed for this account before: the account's ceiling
        // applies to it too.
        Standing::Counted => {
            if let Standing::Over(wait) = limiter
                .peek(
                    Limit::LoginFailuresPerAccount,
                    Subject::Account(email.as_str()),
                )
                .await?
            {
                return Err(RateLimiter::refusal(Limit::LoginFailuresPerAccount, wait));
            }
        }
        Standing::Clear => {}
    }
    let (id, hash, role) = match users::credentials(&state.db, email.as_str()).await? {
        Some(c) => (Some(c.id), c.password_hash, c.role),
        None => (None, None, Role::Renter),
    };
    let matches = state.hasher.verify(body.password, hash).await?;
    let Some(id) = id.filter(|_| matches) else {
        limiter
            .charge(
                Limit::LoginFailures,
                Subject::AccountFrom(email.as_str(), client),
            )
            .await?;
        limiter
            .charge(
                Limit::LoginFailuresPerAccount,
                Subject::Account(email.as_str()),
            )
            .await?;
        return Err(Error::BadCredentials);
    };
    if users::is_blacklisted(&state.db, &Identity::Local(email.as_str())).await? {
        return Err(banned());
    }
    limiter
        .clear(
            Limit::LoginFailures,
            Subject::AccountFrom(email.as_str(), client),
        )
        .await?;
    session::log_in(&state, &session, id, role).await?;
    tracing::info!(user_id = id, "user logged in");
    Ok(Json(user_view(&state, id).await?))
}

/// Logs out: the session is deleted from Redis and the cookie removed.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn log_out(State(state): State<AppState>, session: Session) -> Result<StatusCode> {
    session::log_out(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts Kakao login: redirects the browser to Kakao's authorize page.
#[utoipa::path(get, path = "/auth/kakao", tag = "auth", params(KakaoStart), responses(
    (status = 302, description = "to Kakao"), (status = 404, description = "Kakao login not configured", body = crate::error::Problem),
    (status = 429, description = "too many Kakao logins started from this address", body = crate::error::Problem)))]
pub async fn kakao_start(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Query(start): Query<KakaoStart>,
) -> Result<Response> {
    let kakao = state.kakao.as_ref().ok_or(Error::NotFound("Kakao login"))?;
    // Each start keeps a pre-session in Redis: no client may make them without bound.
    state
        .limiter
        .check(Limit::KakaoStartPerAddress, Subject::Address(client))
        .await?;
    let nonce = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let secure = state.config.session_cookie_secure;
    // Another site's address is never kept: the login then lands on the default page.
    let next = start
        .next
        .as_deref()
        .and_then(same_site_path)
        .unwrap_or("")
        .to_owned();
    pre_session(
        &state,
        state.redis.next().set::<(), _, _>(
            pre_session_key(&nonce),
            next,
            Some(fred::types::Expiration::EX(OAUTH_TTL_SECS)),
            None,
            false,
        ),
    )
    .await?;
    let mut response = Redirect::to(kakao.authorize_url(&nonce).as_str()).into_response();
    *response.status_mut() = StatusCode::FOUND;
    let cookie = oauth_cookie(nonce, secure, time::Duration::seconds(OAUTH_TTL_SECS));
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie.to_string().parse().map_err(Error::internal)?,
    );
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
pub struct KakaoCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Where Kakao sends the browser back: exchanges the code, finds or creates the user,
/// logs in and redirects to the front-end. A browser (`Accept: text/html`) that meets an
/// error is sent to the login page with its code (`/login?error=…`), which explains it in
/// Korean; other clients get the problem+json.
#[utoipa::path(get, path = "/auth/kakao/callback", tag = "auth", params(KakaoCallback), responses(
    (status = 302, description = "logged in; to the front-end"), (status = 400, body = crate::error::Problem),
    (status = 403, description = "banned", body = crate::error::Problem),
    (status = 404, description = "Kakao login not configured", body = crate::error::Problem),
    (status = 429, description = "too many callbacks from this address", body = crate::error::Problem)))]
pub async fn kakao_callback(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<KakaoCallback>,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    match kakao_login(&state, client, &session, &headers, query).await {
        Ok(response) => response,
        Err(error) if browser => {
            let code = error.code();
            tracing::info!(%code, status = %error.status(), "Kakao login failed; back to the login page");
            let mut response = Redirect::to(&format!("/login?error={code}")).into_response();
            *response.status_mut() = StatusCode::FOUND;
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn kakao_login(
    state: &AppState,
    client: std::net::IpAddr,
    session: &Session,
    headers: &HeaderMap,
    query: KakaoCallback,
) -> Result<Response> {
    let kakao = state.kakao.as_ref().ok_or(Error::NotFound("Kakao login"))?;
    state
        .limiter
        .check(Limit::KakaoPerAddress, Subject::Address(client))
        .await?;
    if let Some(error) = query.error {
        tracing::info!(%error, "Kakao login not completed");
        return Err(Error::bad_request(
            "kakao_login_cancelled",
            "카카오 로그인이 완료되지 않았습니다. 처음부터 다시 시도해 주세요.",
        ));
    }
    let code = query.code.ok_or_else(|| {
        Error::bad_request(
            "kakao_code_missing",
            "카카오 로그인이 완료되지 않았습니다. 처음부터 다시 시도해 주세요.",
        )
    })?;
    let mismatch = || {
        Error::bad_request(
            "kakao_state_mismatch",
            "로그인 정보가 맞지 않습니다. 처음부터 다시 시도해 주세요.",
        )
    };
    let expected = cookie_value(
        headers,
        &oauth_cookie_name(state.config.session_cookie_secure),
    );
    // The nonce is a secret of this browser's: compared in constant time.
    let same = |e: &String| {
        query
            .state
            .as_deref()
            .is_some_and(|p| bool::from(subtle::ConstantTimeEq::ct_eq(e.as_bytes(), p.as_bytes())))
    };
    let Some(nonce) = expected.filter(same) else {
        return Err(mismatch());
    };
    // The server's half, used once: a replayed or planted state finds nothing.
    let next: Option<String> =
        pre_session(state, state.redis.next().getdel(pre_session_key(&nonce))).await?;
    let Some(next) = next else {
        return Err(mismatch());
    };
    let profile = kakao.profile_for_code(&code).await?;
    if users::is_blacklisted(&state.db, &Identity::Kakao(profile.id)).await? {
        return Err(banned());
    }
    let name = profile
        .nickname
        .as_deref()
        .and_then(|n| Name::parse(n).ok())
        .map_or_else(|| "카카오 사용자".to_owned(), |n| n.as_str().to_owned());
    // Insert or find in one statement, so two concurrent callbacks cannot create two users.
    let found = users::kakao_login(&state.db, profile.id, &name).await?;
    // A concurrent callback for the same new user may have inserted after this
    // statement's snapshot: then the row is visible now.
    let login = match found {
        Some(login) => login,
        None => users::kakao_account(&state.db, profile.id)
            .await?
            .ok_or_else(|| Error::internal("Kakao user vanished during login"))?,
    };
    let Login { id, role } = login;
    session::log_in(state, session, id, role).await?;
    tracing::info!(user_id = id, "user logged in with Kakao");
    let to = same_site_path(&next).unwrap_or(&kakao.config().success_redirect);
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::FOUND;
    let clear = oauth_cookie(
        String::new(),
        state.config.session_cookie_secure,
        time::Duration::ZERO,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        clear.to_string().parse().map_err(Error::internal)?,
    );
    Ok(response)
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn banned() -> Error {
    Error::forbidden("banned", "이용이 제한된 계정입니다.")
}
