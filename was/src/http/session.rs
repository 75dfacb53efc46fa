//! Who is calling: the session (in Redis, through tower-sessions) and the extractors that
//! turn it into a [`CurrentUser`] or an admin.
//!
//! Only the user id, the role, the login time and a touch time live in the session.
//! An operator's session ends after `SESSION_IDLE_TIMEOUT` without use (Redis expiry)
//! and, however busy, `SESSION_ABSOLUTE_TIMEOUT` after login; a renter's, on their own
//! phone, lasts `RENTER_SESSION_IDLE_TIMEOUT` / `RENTER_SESSION_ABSOLUTE_TIMEOUT` (weeks),
//! so returning an umbrella is one scan, not a login in the rain. A renter made an
//! operator gets the operator's limits at the next request. The session is
//! written only at login, at logout, and when it is touched to extend its inactivity
//! expiry (at most once per `idle_timeout / 30`), because concurrent requests that both
//! write one session lose a write. Every authenticated request still checks the user's
//! row, so a ban, a departure or a changed role takes effect at once; and the
//! session's generation against the user's, so changing or resetting the password, or
//! "log out everywhere", ends every other session at its next request.
//!
//! A password given again (`POST /api/auth/reauth`) or a fresh login is remembered as
//! the session's last authentication: changing the refund account or the e-mail address
//! needs one within `REAUTH_WINDOW`, so a stolen cookie alone cannot redirect refunds.

use std::future::Future;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session};

use crate::domain::role::Role;
use crate::error::Error;
use crate::repo::users;
use crate::state::AppState;

const KEY: &str = "user";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SessionUser {
    user_id: i64,
    /// Sessions written before roles existed read as renters until their first check.
    #[serde(default = "renter")]
    role: Role,
    touched_at: i64,
    /// When the user logged in: the session ends `SESSION_ABSOLUTE_TIMEOUT` later,
    /// however active. Sessions written before this field existed get it on first use.
    #[serde(default)]
    logged_in_at: Option<i64>,
    /// The user's session generation at login.
    #[serde(default)]
    generation: i32,
    /// When the password was last given again in this session.
    #[serde(default)]
    reauth_at: Option<i64>,
}

fn renter() -> Role {
    Role::Renter
}

/// How long a session of this role lasts: (idle, absolute).
fn lifetimes(state: &AppState, role: Role) -> (Duration, Duration) {
    let c = &state.config;
    if role == Role::Renter {
        (
            c.renter_session_idle_timeout,
            c.renter_session_absolute_timeout,
        )
    } else {
        (c.session_idle_timeout, c.session_absolute_timeout)
    }
}

/// Gives the session this role's inactivity expiry (the layer's default is the
/// operators'); it takes effect when the session is saved.
fn set_lifetime(state: &AppState, session: &Session, role: Role) {
    if role == Role::Renter {
        let idle = lifetimes(state, role).0;
        session.set_expiry(Some(Expiry::OnInactivity(
            time::Duration::try_from(idle).unwrap_or(time::Duration::days(30)),
        )));
    }
}

/// A logged-in, active user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub role: Role,
    pub session: Session,
    /// When this session last proved who it is (login or re-authentication), Unix seconds.
    pub authenticated_at: i64,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses (401 `reauth_required`) unless the password was given (or Kakao logged
    /// in) within `REAUTH_WINDOW`.
    pub fn require_recent_auth(&self, state: &AppState) -> Result<(), Error> {
        let window = i64::try_from(state.config.reauth_window.as_secs()).unwrap_or(i64::MAX);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if now.saturating_sub(self.authenticated_at) <= window {
            return Ok(());
        }
        Err(Error::ReauthRequired)
    }
}

/// An operator (any role but renter), inserted into request extensions by
/// [`require_operator`]: who, with which role and stores, and from which address, for
/// the policy, the store scope and the operator action log.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: i64,
    pub role: Role,
    /// The stores a staff member works for (empty for other roles).
    pub stores: Vec<i64>,
    pub address: Option<std::net::IpAddr>,
}

impl Operator {
    /// Staff act on their own stores only (403 `store_forbidden`); other roles that
    /// reach a route may act on any store.
    pub fn may_manage(&self, store_id: i64) -> Result<(), Error> {
        if self.role != Role::Staff || self.stores.contains(&store_id) {
            return Ok(());
        }
        Err(Error::forbidden(
            "store_forbidden",
            "담당하는 매장의 일만 할 수 있습니다. (Only your own store's.)",
        ))
    }

    /// The stores a listing is limited to: `Some` for staff.
    pub fn store_scope(&self) -> Option<&[i64]> {
        (self.role == Role::Staff).then_some(self.stores.as_slice())
    }
}

/// Runs a session-store operation with a bound: when Redis is down, the request fails
/// with 503 after `REDIS_TIMEOUT` instead of waiting for a reconnect.
pub async fn bounded<T>(
    state: &AppState,
    op: impl Future<Output = Result<T, tower_sessions::session::Error>>,
) -> Result<T, Error> {
    let started = std::time::Instant::now();
    let outcome =
        tokio::time::timeout(state.config.redis_timeout + Duration::from_millis(250), op).await;
    state
        .metrics
        .record_redis(started.elapsed(), !matches!(outcome, Ok(Ok(_))));
    match outcome {
        Ok(result) => Ok(result?),
        Err(_) => {
            tracing::warn!("session store timed out");
            Err(Error::Unavailable("the session store"))
        }
    }
}

fn session_of(parts: &Parts) -> Result<Session, Error> {
    parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| Error::internal("session layer missing"))
}

/// Starts a session for `user_id` with a fresh id (no session fixation), in the user's
/// current session generation.
pub async fn log_in(
    state: &AppState,
    session: &Session,
    user_id: i64,
    role: Role,
) -> Result<(), Error> {
    let generation = users::record_login(&state.db, user_id).await?;
    start(state, session, user_id, role, generation).await
}

/// Keeps this session after its user's generation moved on (the password changed here):
/// a new id, the new generation, authenticated now.
pub async fn renew(state: &AppState, user: &CurrentUser, generation: i32) -> Result<(), Error> {
    start(state, &user.session, user.id, user.role, generation).await
}

async fn start(
    state: &AppState,
    session: &Session,
    user_id: i64,
    role: Role,
    generation: i32,
) -> Result<(), Error> {
    bounded(state, session.cycle_id()).await?;
    set_lifetime(state, session, role);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let user = SessionUser {
        user_id,
        role,
        touched_at: now,
        logged_in_at: Some(now),
        generation,
        reauth_at: None,
    };
    bounded(state, session.insert(KEY, user)).await?;
    // Save now rather than after the response, so a Redis failure is a 503 here and
    // not a bare 500 from the session layer.
    bounded(state, session.save()).await
}

/// Records that the password was just given again in this session.
pub async fn reauthenticated(state: &AppState, user: &CurrentUser) -> Result<(), Error> {
    let Some(mut stored) = bounded(state, user.session.get::<SessionUser>(KEY)).await? else {
        return Err(Error::Unauthenticated);
    };
    stored.reauth_at = Some(OffsetDateTime::now_utc().unix_timestamp());
    bounded(state, user.session.insert(KEY, stored)).await?;
    bounded(state, user.session.save()).await
}

/// Ends the session and deletes it from Redis.
pub async fn log_out(state: &AppState, session: &Session) -> Result<(), Error> {
    bounded(state, session.flush()).await
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let session = session_of(parts)?;
        let Some(mut user) = bounded(state, session.get::<SessionUser>(KEY)).await? else {
            return Err(Error::Unauthenticated);
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let standing = users::standing(&state.db, user.user_id).await?;
        let role = match standing {
            Some(s) if s.status == "active" && s.session_generation == user.generation => s.role,
            _ => {
                // Banned or left since logging in, or the password changed (or "log
                // out everywhere") in another session: end this one for good.
                bounded(state, session.flush()).await?;
                return Err(Error::Unauthenticated);
            }
        };
        // The limits of the role the account has now: a renter made an operator keeps
        // a renter's long session no longer.
        let (idle, absolute) = lifetimes(state, role);
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let idle_for = now.saturating_sub(user.touched_at);
        if user
            .logged_in_at
            .is_some_and(|at| now.saturating_sub(at) >= secs(absolute))
            || idle_for >= secs(idle)
        {
            bounded(state, session.flush()).await?;
            return Err(Error::Unauthenticated);
        }
        let touch_every = secs(idle / 30).max(1);
        if idle_for >= touch_every || user.role != role || user.logged_in_at.is_none() {
            user.touched_at = now;
            user.logged_in_at.get_or_insert(now);
            user.role = role;
            set_lifetime(state, &session, role);
            bounded(state, session.insert(KEY, user)).await?;
        }
        let authenticated_at = user
            .reauth_at
            .unwrap_or(0)
            .max(user.logged_in_at.unwrap_or(0));
        Ok(CurrentUser {
            id: user.user_id,
            role,
            session,
            authenticated_at,
        })
    }
}

/// Middleware for the console's routes: 401 without a session, 403 `admin_only` for a
/// renter, 403 `role_forbidden` for a role the route is not for
/// (`http::admin::policy`).
pub async fn require_operator(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let (mut parts, body) = request.into_parts();
    let user = CurrentUser::from_request_parts(&mut parts, &state).await?;
    if !user.role.is_operator() {
        return Err(Error::forbidden(
            "admin_only",
            "운영진만 쓸 수 있습니다. (Operators only.)",
        ));
    }
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().trim_start_matches("/api/admin").to_owned())
        .unwrap_or_default();
    if !crate::http::admin::policy::allows(user.role, &parts.method, &route) {
        return Err(Error::forbidden(
            "role_forbidden",
            format!(
                "{} 역할로는 할 수 없는 일입니다. (Not for this role.)",
                user.role.label()
            ),
        ));
    }
    let stores = if user.role == Role::Staff {
        users::staff_stores(&state.db, user.id).await?
    } else {
        Vec::new()
    };
    let address = parts
        .extensions
        .get::<crate::http::edge::ClientAddr>()
        .map(|a| a.0);
    parts.extensions.insert(Operator {
        id: user.id,
        role: user.role,
        stores,
        address,
    });
    Ok(next.run(Request::from_parts(parts, body)).await)
}
