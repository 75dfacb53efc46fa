//! The HTTP layer: one module per resource, the middleware stack, and the router that
//! lists every route together with its OpenAPI entry.

pub mod admin;
pub mod auth;
pub mod csrf;
pub mod edge;
pub mod extract;
pub mod me;
pub mod observe;
pub mod ops;
pub mod public;
pub mod rentals;
pub mod session;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_redis_store::RedisStore;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::Error;
use crate::state::AppState;

/// Our API bodies are small JSON documents; anything near this size is a mistake or an
/// attack.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "upbrella WAS API",
        description = "Umbrella rental through partner stores. Errors are application/problem+json (RFC 9457).",
    ),
    tags(
        (name = "public", description = "No login needed"),
        (name = "auth", description = "Sign-up, login, logout"),
        (name = "me", description = "The logged-in user"),
        (name = "rentals", description = "Renting and returning umbrellas"),
        (name = "admin", description = "Admins only: 401 without a session, 403 for other users"),
        (name = "operations", description = "Health, readiness, this document"),
    ),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

/// The API routes and the OpenAPI document describing them.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let admin =
        admin::routes().route_layer(from_fn_with_state(state.clone(), session::require_admin));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api",
            OpenApiRouter::new()
                .merge(public::routes())
                .merge(auth::routes())
                .merge(me::routes())
                .merge(rentals::routes())
                .nest("/admin", admin),
        )
        .merge(ops::routes())
        .split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let sessions = SessionManagerLayer::new(RedisStore::new(state.redis.clone()))
        .with_name(config.session_cookie())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.session_cookie_secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(config.session_idle_timeout)
                .unwrap_or(time::Duration::minutes(30)),
        ));
    let (api, openapi) = api(&state);
    let openapi = Arc::new(openapi);
    let api = api
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = Arc::clone(&openapi);
                async move { axum::Json(doc) }
            }),
        )
        .fallback(|| async { Error::NotFound("route") })
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), csrf::same_origin_only))
                .layer(sessions),
        );
    Router::new()
        .merge(api)
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), observe::request_context))
                .layer(from_fn_with_state(state.clone(), edge::client_address))
                .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                    observe::panic_response,
                ))
                .layer(from_fn_with_state(state.clone(), observe::deadline))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(from_fn(observe::method_not_allowed_as_problem)),
        )
        .with_state(state)
}
