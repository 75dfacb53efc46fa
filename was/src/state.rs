//! What every handler can reach: the database pool, the Redis pool (sessions, readiness),
//! the bank-account cipher, the QR code signer, the bounded password hasher, the rate limiter, the Kakao
//! client, the return webhook, the mailer and the configuration.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::config::Config;
use crate::domain::bank::BankCipher;
use crate::domain::codes::CodeSigner;
use crate::domain::password::PasswordHasher;
use crate::kakao::KakaoClient;
use crate::limits::RateLimiter;
use crate::notify::ReturnNotifier;

/// Cloned by every middleware layer and extractor of every request, so it is one `Arc`:
/// a clone is one atomic increment, not one per field (the fields' clones and drops cost
/// about 4 % of a logged-in request's CPU when they were separate).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: PgPool,
    pub redis: fred::clients::Pool,
    pub cipher: BankCipher,
    /// Signs and checks the QR codes on umbrellas and stores.
    pub codes: CodeSigner,
    pub hasher: Arc<PasswordHasher>,
    pub limiter: RateLimiter,
    pub kakao: Option<Arc<KakaoClient>>,
    /// The console's address search (Kakao Local), when a REST API key is configured.
    pub geocoder: Option<Arc<crate::geocode::Geocoder>>,
    /// Presigned photo uploads, when a bucket is configured.
    pub photos: Option<Arc<crate::photos::PhotoUploads>>,
    /// Operators' webhook for returns, when configured.
    pub notifier: Option<Arc<ReturnNotifier>>,
    /// Outgoing mail (verification, password reset, account notices).
    pub mailer: Arc<crate::mail::Mailer>,
    pub config: Arc<Config>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The public reads kept in memory, and what tells them a change happened.
    pub public: Arc<crate::public_reads::PublicReads>,
    /// `WAS_INSTANCE_ID` as the `X-Upbrella-Instance` header's value, made once.
    pub instance_header: Option<axum::http::HeaderValue>,
    /// `/api/ready`'s last answer (`http::ops`).
    pub readiness: crate::http::views::ReadinessCache,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
