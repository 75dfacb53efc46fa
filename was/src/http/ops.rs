//! Operations endpoints: liveness, readiness (the load balancer's, and the public one a
//! deploy checks through the service's own URL).

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fred::prelude::ClientLike;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::extract::Json;
use crate::http::views::ServiceReadiness;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// Under `/api`: reachable through web-proxy and both load balancers.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_ready))
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
    let redis = check(limit, ping_redis(&state));
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

const READINESS_REUSE: Duration = Duration::from_secs(1);

/// Readiness as the deploy checks it through the public URL: the database as the
/// application role, Redis with its AUTH and TLS, and the schema at this release's
/// migration version. 503 with the same body when any of them fails.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, body = ServiceReadiness), (status = 503, body = ServiceReadiness)))]
pub async fn api_ready(State(state): State<AppState>) -> impl IntoResponse {
    let mut cached = state.readiness.0.lock().await;
    let answer = match &*cached {
        Some((at, answer)) if at.elapsed() < READINESS_REUSE => answer.clone(),
        _ => {
            let answer = service_readiness(&state).await;
            *cached = Some((Instant::now(), answer.clone()));
            answer
        }
    };
    drop(cached);
    let status = if answer.message.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(answer),
    )
}

async fn service_readiness(state: &AppState) -> ServiceReadiness {
    let limit = Duration::from_secs(2);
    let expected = crate::migrate::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let db = check_value(limit, async {
        sqlx::query_scalar!(
            r#"SELECT max(version) AS "applied" FROM _sqlx_migrations WHERE success"#
        )
        .fetch_one(&state.db)
        .await
        .map_err(|e| e.to_string())
    });
    let redis = check_value(limit, ping_redis(state));
    let ((database, applied), (redis, _)) = tokio::join!(db, redis);
    let applied = applied.flatten();
    let schema = applied.is_some_and(|a| a >= expected);
    let mut failed = Vec::new();
    if !database.ok {
        failed.push("데이터베이스 (database)");
    }
    if !redis.ok {
        failed.push("세션 저장소 (Redis)");
    }
    if database.ok && !schema {
        failed.push("스키마가 이 릴리스보다 오래됨 (schema behind this release)");
    }
    if !failed.is_empty() {
        tracing::warn!(
            database = ?database.error,
            redis = ?redis.error,
            schema_applied = ?applied,
            schema_expected = expected,
            "not ready"
        );
    }
    ServiceReadiness {
        status: if failed.is_empty() {
            "ready"
        } else {
            "unavailable"
        },
        release: state.config.release.clone(),
        database: database.ok,
        redis: redis.ok,
        schema,
        schema_expected: expected,
        schema_applied: applied,
        message: (!failed.is_empty()).then(|| {
            format!(
                "서비스가 준비되지 않았습니다 (not ready): {}",
                failed.join(", ")
            )
        }),
    }
}

/// One command through the pool the sessions use (its AUTH, TLS and timeouts).
async fn ping_redis(state: &AppState) -> Result<(), String> {
    state
        .redis
        .next_connected()
        .ping::<String>(None)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn check_value<T>(
    limit: Duration,
    probe: impl Future<Output = Result<T, String>>,
) -> (DependencyStatus, Option<T>) {
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(limit, probe).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {limit:?}")),
    };
    let status = DependencyStatus {
        ok: result.is_ok(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        error: result.as_ref().err().cloned(),
    };
    (status, result.ok())
}

async fn check(
    limit: Duration,
    probe: impl Future<Output = Result<(), String>>,
) -> DependencyStatus {
    check_value(limit, probe).await.0
}

/// Prometheus metrics (text exposition format 0.0.4).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(metric_sources(&state)),
    )
}

/// What the metrics read from the state besides their own counters.
pub fn metric_sources(state: &AppState) -> crate::metrics::Sources<'_> {
    crate::metrics::Sources {
        db: &state.db,
        hasher: &state.hasher,
        mailer: &state.mailer,
        notifier: state.notifier.as_deref(),
        public: &state.public,
    }
}
