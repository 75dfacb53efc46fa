//! The proxy's own health, draining, and the admin listener.
//!
//! `/health` never touches the upstream: a sick WAS must not get healthy proxies killed
//! by their load balancer's health checks. It turns 503 the moment shutdown starts, so
//! the load balancer stops sending new requests during the drain period.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{AppState, Shared};

#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// `/health` of the proxy itself: 200 while serving, 503 once draining.
pub fn health_response(state: &Shared) -> Response {
    if state.lifecycle.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "draining"})),
        )
            .into_response()
    } else {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response()
    }
}

async fn health(State(state): State<AppState>) -> Response {
    health_response(&state)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(Some(&state.pool)),
    )
}

/// Upstream addresses and their state, for people.
async fn upstreams(State(state): State<AppState>) -> impl IntoResponse {
    let list: Vec<_> = state
        .pool
        .snapshot()
        .iter()
        .map(|b| serde_json::json!({"address": b.addr.to_string(), "healthy": !b.is_ejected(), "outstanding": b.outstanding(), "kept": b.idle.len()}))
        .collect();
    axum::Json(list)
}

pub fn admin_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/upstreams", get(upstreams))
        .with_state(state)
}
