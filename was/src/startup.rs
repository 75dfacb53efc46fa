//! Building the application: pools, state, router, listener.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fred::prelude::{Builder, ClientLike, ReconnectPolicy};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;

use crate::config::{Config, DatabaseConfig};
use crate::dbauth::DbCredentials;
use crate::domain::bank::BankCipher;
use crate::domain::codes::CodeSigner;
use crate::domain::password::PasswordHasher;
use crate::kakao::KakaoClient;
use crate::limits::RateLimiter;
use crate::notify::ReturnNotifier;
use crate::repo::idempotency;
use crate::state::{AppState, Shared};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("mail settings: {0}")]
    Mail(crate::mail::MailError),
    #[error("invalid DATABASE_URL: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error("invalid REDIS_URL: {0}")]
    RedisUrl(fred::error::Error),
    #[error("REDIS_CA_FILE {path}: {reason}")]
    RedisCa { path: String, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Credentials(#[from] crate::dbauth::CredentialError),
    #[error("cannot provision the application role: {0}")]
    AppRole(sqlx::Error),
    #[error("cannot build the HTTP client for Kakao: {0}")]
    Kakao(reqwest::Error),
    #[error("cannot build the HTTP client for the return webhook: {0}")]
    Webhook(reqwest::Error),
}

pub struct Application {
    listener: TcpListener,
    admin: Option<TcpListener>,
    state: AppState,
    credentials: Arc<DbCredentials>,
}

impl Application {
    /// Binds the listener and prepares the pools. Neither PostgreSQL nor Redis needs to be
    /// up yet: both pools connect lazily and keep retrying, so a replica that starts
    /// during a dependency outage serves as soon as the dependency is back.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let (db, credentials) = database(&config.database, &config.instance_id).await?;
        if config.migrate_on_start {
            crate::migrate::run(&db).await?;
        }
        let redis = redis_pool(&config)?;
        let kakao = match &config.kakao {
            Some(k) => Some(Arc::new(
                KakaoClient::new(k.clone()).map_err(StartError::Kakao)?,
            )),
            None => None,
        };
        let geocoder = match &config.geocode {
            Some(g) => Some(Arc::new(
                crate::geocode::Geocoder::new(g).map_err(StartError::Kakao)?,
            )),
            None => None,
        };
        let photos = config
            .photos
            .clone()
            .map(|p| Arc::new(crate::photos::PhotoUploads::new(p)));
        let notifier = match &config.return_webhook {
            Some(w) => Some(Arc::new(
                ReturnNotifier::new(w).map_err(StartError::Webhook)?,
            )),
            None => None,
        };
        let mailer = crate::mail::Mailer::start(&config.mail).map_err(StartError::Mail)?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen_addr,
                source,
            })?;
        let admin = match config.admin_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };
        let state = AppState::new(Shared {
            db,
            redis: redis.clone(),
            cipher: BankCipher::new(&config.bank_key.0),
            codes: CodeSigner::new(config.qr_key.0),
            hasher: Arc::new(PasswordHasher::new(config.password_hashing)),
            limiter: RateLimiter::new(redis.clone(), &config),
            kakao,
            geocoder,
            photos,
            notifier,
            mailer,
            instance_header: axum::http::HeaderValue::from_str(&config.instance_id).ok(),
            config: Arc::new(config),
            metrics: Arc::default(),
            public: Arc::default(),
            readiness: Default::default(),
        });
        tokio::spawn(seal_locker_secrets(state.clone()));
        Ok(Self {
            listener,
            admin,
            state,
            credentials,
        })
    }

    /// The pool's credential source (its generation counts refreshes that changed it).
    pub fn db_credentials(&self) -> Arc<DbCredentials> {
        self.credentials.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests within the
    /// configured grace period.
    pub async fn run_until<F>(self, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send,
    {
        let config = &self.state.config;
        let options = shared::serve::ServeOptions {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            grace_period: config.shutdown_grace,
            max_header_bytes: 64 * 1024,
            max_connections: config.max_connections,
            max_connections_per_ip: None,
        };
        let router = crate::http::router(self.state.clone());
        let sweeper = tokio::spawn(sweep_idempotency_keys(
            self.state.db.clone(),
            config.idempotency_ttl,
        ));
        let public_reads = tokio::spawn(crate::public_reads::follow_changes(
            self.state.public.clone(),
            self.state.db.clone(),
            config.instance_id.clone(),
        ));
        let refresher = (!self.credentials.is_static()).then(|| {
            tokio::spawn(crate::dbauth::keep_fresh(
                self.credentials.clone(),
                self.state.db.clone(),
                config.database.credentials_refresh,
            ))
        });
        let emf = config.emf_interval.map(|every| {
            let state = self.state.clone();
            let mut deltas = shared::emf::Deltas::default();
            shared::emf::spawn(every, "was", config.instance_id.clone(), move || {
                state
                    .metrics
                    .emf(crate::http::ops::metric_sources(&state), &mut deltas)
            })
        });
        tracing::info!(addr = %self.local_addr(), admin = ?self.admin_addr(), instance = %config.instance_id, "WAS listening");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let admin = self.admin.map(|listener| {
            let mut stop = stop_rx.clone();
            tokio::spawn(shared::serve::serve(
                listener,
                crate::http::admin_router(self.state.clone()),
                options.clone(),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ))
        });
        shared::serve::serve(self.listener, router, options, shutdown).await;
        let _ = stop_tx.send(true);
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        sweeper.abort();
        public_reads.abort();
        if let Some(emf) = emf {
            emf.abort();
        }
        if let Some(refresher) = refresher {
            refresher.abort();
        }
        let _ = self.state.redis.quit().await;
        self.state.db.close().await;
    }
}

/// Deletes stored idempotent responses older than `ttl`, every few minutes (each replica
/// does; the deletes are idempotent). They hold locker passwords, which must not outlive
/// their use.
async fn sweep_idempotency_keys(db: PgPool, ttl: Duration) {
    let every = (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(600));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let swept = idempotency::sweep(&db, ttl.as_secs_f64()).await;
        match swept {
            Ok(deleted) if deleted > 0 => {
                tracing::info!(deleted, "expired idempotency keys deleted");
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "idempotency sweep failed; retrying later"),
        }
        if let Err(e) = crate::repo::tokens::sweep(&db).await {
            tracing::debug!(error = %e, "account link sweep failed; retrying later");
        }
    }
}

/// The pool with its first credential installed. A credential that cannot be had yet
/// (the credentials endpoint not answering) does not stop the start: the refresher keeps
/// trying, and the pool connects once it succeeds.
pub async fn database(
    config: &DatabaseConfig,
    instance: &str,
) -> Result<(PgPool, Arc<DbCredentials>), StartError> {
    let db = database_pool(config, instance)?;
    let credentials = DbCredentials::new(config.auth.clone());
    match credentials.refresh(&db).await {
        Ok(_) => {}
        Err(e @ crate::dbauth::CredentialError::Endpoint { .. }) => {
            tracing::warn!(error = %e, "no database credential yet; retrying in the background");
        }
        Err(e) => return Err(e.into()),
    }
    Ok((db, credentials))
}

pub fn database_pool(config: &DatabaseConfig, instance: &str) -> Result<PgPool, StartError> {
    let options = match &config.url {
        Some(url) => {
            PgConnectOptions::from_str(url.expose_secret()).map_err(StartError::DatabaseUrl)?
        }
        // libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE.
        None => PgConnectOptions::new(),
    }
    .application_name(&format!("upbrella-was/{instance}"))
    // A query that runs away must not hold a connection forever.
    .options([("statement_timeout", "10s"), ("lock_timeout", "5s")]);
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        // Bounded waits: when PostgreSQL is down, requests fail with 503 in about this
        // long instead of hanging.
        .acquire_timeout(config.timeout)
        .idle_timeout(Duration::from_secs(300))
        // sqlx's test before each use (a round trip per query) stays on: without it, a
        // connection the server ended (a failover, a password rotation) fails the request
        // that takes it (a logged-in request pays two of its six round trips for it).
        .connect_lazy_with(options))
}

fn redis_pool(config: &Config) -> Result<fred::clients::Pool, StartError> {
    let mut redis_config = fred::prelude::Config::from_url(config.redis_url.expose_secret())
        .map_err(StartError::RedisUrl)?;
    if let Some(password) = &config.redis_password {
        redis_config.password = Some(password.expose_secret().to_owned());
    }
    if let Some(path) = &config.redis_ca_file {
        redis_config.tls = Some(redis_tls(path)?.into());
    }
    let timeout = config.redis_timeout;
    let mut builder = Builder::from_config(redis_config);
    builder
        .with_config(|c| {
            // Keep retrying the first connection too, so the WAS can start before Redis.
            c.fail_fast = false;
        })
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
            c.max_command_attempts = 2;
        })
        .with_performance_config(|p| {
            p.default_command_timeout = timeout;
        })
        // Without a reconnect policy a Redis restart leaves the pool dead for good.
        .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2));
    let pool = builder
        .build_pool(config.redis_pool_size)
        .map_err(StartError::RedisUrl)?;
    pool.prefer_connected(true);
    drop(pool.connect_pool());
    Ok(pool)
}

/// A TLS connector for Redis that trusts exactly the CA certificates in `path` (PEM), as
/// `PGSSLROOTCERT` does for PostgreSQL; the host name in `REDIS_URL` is verified.
fn redis_tls(path: &std::path::Path) -> Result<fred::types::config::TlsConnector, StartError> {
    use fred::rustls::pki_types::CertificateDer;
    use fred::rustls::pki_types::pem::PemObject;
    let fail = |reason: String| StartError::RedisCa {
        path: path.display().to_string(),
        reason,
    };
    let mut roots = fred::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))? {
        let cert = cert.map_err(|e| fail(e.to_string()))?;
        roots.add(cert).map_err(|e| fail(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(fail("holds no certificate".into()));
    }
    let config = fred::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config.into())
}

/// Seals the locker secrets still stored in the clear (rows from before sealing). Runs in
/// the background at start, so a database that is not up yet delays nothing; every
/// replica may run it, and each row is sealed once (`lockers::seal` skips sealed rows).
async fn seal_locker_secrets(state: AppState) {
    let plain = match crate::repo::lockers::plain(&state.db).await {
        Ok(plain) => plain,
        Err(error) => {
            tracing::warn!(%error, "could not look for locker secrets to seal; next start tries again");
            return;
        }
    };
    for (id, secret) in plain {
        let sealed = match crate::domain::locker::LockerSecret::parse(&secret)
            .and_then(|s| crate::domain::locker::seal(&state.cipher, id, &s))
        {
            Ok(sealed) => sealed,
            Err(error) => {
                tracing::warn!(locker_id = id, %error, "locker secret left as it is");
                continue;
            }
        };
        match crate::repo::lockers::seal(&state.db, id, &sealed).await {
            Ok(()) => tracing::info!(locker_id = id, "locker secret sealed"),
            Err(error) => tracing::warn!(locker_id = id, %error, "locker secret not sealed"),
        }
    }
}
