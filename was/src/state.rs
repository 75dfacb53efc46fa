//! What every handler can reach: the database pool, the Redis pool (sessions, readiness),
//! the bank-account cipher, the Kakao client and the configuration.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::config::Config;
use crate::domain::bank::BankCipher;
use crate::kakao::KakaoClient;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub redis: fred::clients::Pool,
    pub cipher: BankCipher,
    pub kakao: Option<Arc<KakaoClient>>,
    pub config: Arc<Config>,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
