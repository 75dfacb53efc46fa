//! The HTTP layer: one module per resource, the middleware stack, and the router that
//! lists every route together with its OpenAPI entry.

pub mod account;
pub mod admin;
pub mod auth;
pub mod caching;
pub mod csrf;
pub mod edge;
pub mod extract;
pub mod idempotency;
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
use axum::middleware::from_fn_with_state;
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
        (name = "admin", description = "Operators only: 401 without a session, 403 for renters and for roles the operation is not for (staff: their stores; clerks: money)"),
        (name = "operations", description = "Health, readiness, this document"),
    ),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

/// The API routes and the OpenAPI document describing them.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let admin =
        admin::routes().route_layer(from_fn_with_state(state.clone(), session::require_operator));
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(
            "/api",
            OpenApiRouter::new()
                .merge(public::routes())
                .merge(auth::routes())
                .merge(account::routes())
                .merge(me::routes())
                .merge(rentals::routes())
                .merge(ops::api_routes())
                .nest("/admin", admin),
        )
        .merge(ops::routes())
        .split_for_parts();
    let mut doc = doc;
    document_errors_and_sessions(&mut doc, &state.config.session_cookie());
    (router, doc)
}

/// What every operation can answer without saying so in its own annotation, written
/// into the document once so that it describes the API as it behaves (and a fuzzer can
/// hold the API to it): errors are `application/problem+json`; any request can be
/// malformed (400) or meet a dependency outage (503); a request with a body can be too
/// large (413), not JSON (415) or invalid (422); the `me`, `rentals` and `admin`
/// operations need the session cookie (401), and the admin ones an admin (403).
fn document_errors_and_sessions(doc: &mut utoipa::openapi::OpenApi, cookie: &str) {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    const PROBLEM: &str = "application/problem+json";
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie,
            "The session cookie set by sign-up and login",
        ))),
    );
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let tags = operation.tags.clone().unwrap_or_default();
            let has_tag = |t: &str| tags.iter().any(|x| x == t);
            let responses = &mut operation.responses.responses;
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(response) = response
                    && status.as_str() >= "400"
                    && let Some(content) = response.content.shift_remove("application/json")
                {
                    response.content.insert(PROBLEM.to_owned(), content);
                }
            }
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            };
            add(
                "400",
                "Malformed request (path, query, headers or JSON syntax)",
            );
            add(
                "503",
                "A dependency (database, session store) is unavailable, or the server is busy",
            );
            if operation.request_body.is_some() {
                add("413", "Request body too large");
                add("415", "Request body is not JSON");
                add("422", "A value is invalid");
            }
            if has_tag("me") || has_tag("rentals") || has_tag("admin") {
                add("401", "Not logged in");
                operation.security = Some(vec![SecurityRequirement::new(
                    "session",
                    Vec::<String>::new(),
                )]);
            }
            if has_tag("admin") {
                add(
                    "403",
                    "Logged in, but not an operator, not in a role for this operation, or (staff) not at this store",
                );
            }
        }
    }
}

/// The admin listener's routes (`WAS_ADMIN_ADDR`): Prometheus metrics and liveness. Not
/// behind the main listener's layers, so a scrape neither counts as a request nor waits
/// behind a busy replica's limits.
pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/health", axum::routing::get(ops::health))
        .route("/metrics", axum::routing::get(ops::metrics))
        .with_state(state)
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
                .layer(from_fn_with_state(state.clone(), csrf::writes))
                .layer(sessions),
        );
    Router::new()
        .merge(api)
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), observe::edge))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}
