//! The WAS's baseline: a bare axum server doing the same work as the WAS's hot reads
//! (the same SQL on the same database through sqlx, the same Redis read of the session
//! through fred, pools of the same size) and nothing else: no middleware, no session
//! layer, no request id, no deadline, no metrics, no ETag. The WAS at some fraction of it
//! says what our layers cost; the hello server says what the work itself costs.
//!
//! - `GET /regions/{id}/stores`: the region check, the markers with their rentable
//!   counts, and the stores' hours: the three queries of the WAS's public store list.
//! - `GET /me`: the session read from Redis by the cookie's id, the account's standing and
//!   its profile: the Redis read and two queries of the WAS's `/api/me` (without the
//!   refund account's decryption, a few microseconds).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use fred::prelude::{ClientLike, KeysInterface};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::PgPoolOptions;

#[derive(Clone)]
struct Work {
    db: sqlx::PgPool,
    redis: fred::clients::Pool,
    cookie: String,
    /// The benchmark's logged-in user, whom the session names.
    user_id: i64,
}

pub async fn serve(
    port: u16,
    database_url: &str,
    redis_url: &str,
    pool_size: u32,
    cookie: String,
    user_id: i64,
) -> Result<(), String> {
    let db = PgPoolOptions::new()
        .max_connections(pool_size)
        .connect(database_url)
        .await
        .map_err(|e| format!("PostgreSQL: {e}"))?;
    let config = fred::prelude::Config::from_url(redis_url).map_err(|e| e.to_string())?;
    let redis = fred::prelude::Builder::from_config(config)
        .build_pool(4)
        .map_err(|e| e.to_string())?;
    redis.init().await.map_err(|e| format!("Redis: {e}"))?;
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/regions/{id}/stores", get(markers))
        .route("/me", get(me))
        .with_state(Work {
            db,
            redis,
            cookie,
            user_id,
        });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|e| e.to_string())?;
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

type Answer = Result<Json<Value>, (StatusCode, String)>;

fn failed(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn markers(State(w): State<Work>, Path(id): Path<i64>) -> Answer {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM classifications WHERE id = $1 AND kind = 'region')",
    )
    .bind(id)
    .fetch_one(&w.db)
    .await
    .map_err(failed)?;
    if !exists {
        return Err((StatusCode::NOT_FOUND, "region".into()));
    }
    let rows = sqlx::query(
        "SELECT s.id, s.name, s.latitude, s.longitude,
                (SELECT count(*) FROM umbrella_states u WHERE u.store_id = s.id AND u.available) AS rentable_count
         FROM stores s WHERE s.region_id = $1 AND s.activated AND NOT s.deleted ORDER BY s.id",
    )
    .bind(id)
    .fetch_all(&w.db)
    .await
    .map_err(failed)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("id")).collect();
    let hours = sqlx::query(
        "SELECT store_id, weekday, open_at, close_at FROM business_hours \
         WHERE store_id = ANY($1) ORDER BY store_id, weekday",
    )
    .bind(&ids)
    .fetch_all(&w.db)
    .await
    .map_err(failed)?;
    let markers: Vec<Value> = rows
        .iter()
        .map(|r| {
            let id: i64 = r.get("id");
            let open = hours
                .iter()
                .filter(|h| h.get::<i64, _>("store_id") == id)
                .count();
            json!({
                "id": id,
                "name": r.get::<String, _>("name"),
                "latitude": r.get::<f64, _>("latitude"),
                "longitude": r.get::<f64, _>("longitude"),
                "rentable_count": r.get::<i64, _>("rentable_count"),
                "hours": open,
            })
        })
        .collect();
    Ok(Json(Value::Array(markers)))
}

async fn me(State(w): State<Work>, headers: HeaderMap) -> Answer {
    let prefix = format!("{}=", w.cookie);
    let id = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&prefix))
        .ok_or((StatusCode::UNAUTHORIZED, "no session".into()))?
        .to_owned();
    let record: Option<Vec<u8>> = w.redis.get(&id).await.map_err(failed)?;
    if record.is_none_or(|r| r.is_empty()) {
        return Err((StatusCode::UNAUTHORIZED, "no session".into()));
    }
    let user_id = w.user_id;
    let standing = sqlx::query(
        "SELECT status, role::text AS role, session_generation FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&w.db)
    .await
    .map_err(failed)?
    .ok_or((StatusCode::UNAUTHORIZED, "no user".into()))?;
    let profile = sqlx::query(
        "SELECT id, email, name, phone, role::text AS role, kakao_id, bank_name, bank_account,
                terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL AS agreed,
                email_verified_at IS NOT NULL AS email_verified, password_hash IS NOT NULL AS has_password
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&w.db)
    .await
    .map_err(failed)?
    .ok_or((StatusCode::NOT_FOUND, "no user".into()))?;
    Ok(Json(json!({
        "id": profile.get::<i64, _>("id"),
        "email": profile.get::<Option<String>, _>("email"),
        "name": profile.get::<String, _>("name"),
        "phone": profile.get::<Option<String>, _>("phone"),
        "is_admin": standing.get::<String, _>("role") == "admin",
        "agreed": profile.get::<bool, _>("agreed"),
        "email_verified": profile.get::<bool, _>("email_verified"),
        "has_password": profile.get::<bool, _>("has_password"),
        "status": standing.get::<String, _>("status"),
        "bank_name": profile.get::<Option<String>, _>("bank_name"),
    })))
}
