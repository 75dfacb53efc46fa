//! Operations endpoints: liveness, readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fred::prelude::ClientLike;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::extract::Json;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process serves HTTP. Touches no dependency, so a Redis or database
/// outage never gets healthy replicas killed by their health checks.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every dependency answered, else `unavailable`.
    pub status: &'static str,
    pub database: DependencyStatus,
    pub redis: DependencyStatus,
}

#[derive(Serialize, ToSchema)]
pub struct DependencyStatus {
    pub ok: bool,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Readiness: PostgreSQL and Redis both answer within a short timeout. 503 otherwise,
/// with the state of each.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let limit = Duration::from_secs(1);
    let db = check(limit, async {
        sqlx::query_scalar!(r#"SELECT 1 AS "one!""#)
            .fetch_one(&state.db)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    });
    let redis = check(limit, async {
        state
            .redis
            .next_connected()
            .ping::<String>(None)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    });
    let (database, redis) = tokio::join!(db, redis);
    let ok = database.ok && redis.ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "unavailable" },
        database,
        redis,
    };
    (status, Json(body))
}

async fn check(
    limit: Duration,
    probe: impl Future<Output = Result<(), String>>,
) -> DependencyStatus {
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(limit, probe).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {limit:?}")),
    };
    DependencyStatus {
        ok: result.is_ok(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        error: result.err(),
    }
}

/// Prometheus metrics (text exposition format 0.0.4).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state),
    )
}
