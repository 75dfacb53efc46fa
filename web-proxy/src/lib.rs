//! web-proxy: the upbrella web tier. Behind the external ALB (which ends TLS) it serves
//! the front-end and forwards `/api` to the WAS (through the internal ALB in AWS, or
//! straight to the replicas locally, balancing over them itself).
//!
//! Each concern is its own module; [`edge`] takes every request through them in order:
//! `upstream` (resolution, balancing, health), `forward` (headers, retries, timeouts,
//! streaming), `static_files`, `security` (https redirect, HSTS, security headers),
//! `observe` (access log, metrics, load shedding), `lifecycle` (health and draining),
//! `tls`.

pub mod body;
pub mod config;
pub mod edge;
pub mod error;
pub mod forward;
pub mod headers;
pub mod lean;
pub mod lifecycle;
pub mod methods;
pub mod metrics;
pub mod observe;
pub mod security;
pub mod static_files;
pub mod tls;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use config::Config;

use crate::forward::UpstreamClient;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use crate::static_files::StaticFiles;
use crate::upstream::{HealthPolicy, Pool};

/// Everything a request can reach. Cloned into every middleware layer for every
/// request, so it is one `Arc`: a clone is one atomic increment (the profile showed
/// clones of the many-field struct, the HTTP client's among them, at a few percent).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub pool: Arc<Pool>,
    pub client: UpstreamClient,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Arc<Lifecycle>,
    pub static_files: Option<Arc<StaticFiles>>,
    pub limiter: Arc<Semaphore>,
    pub tls: bool,
    pub security: security::Prepared,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("WEB_PROXY_STATIC_DIR {path}: {source}")]
    StaticDir {
        path: String,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}

pub struct Proxy {
    listener: TcpListener,
    admin: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The pooled client to the upstreams. Its idle timeout stays below the internal ALB's
/// 60 s, or the ALB closes a connection just as we reuse it (a sporadic 502); connecting
/// has its own timeout; idle connections per address are bounded; the pool has a timer so
/// it actually evicts.
fn upstream_client(config: &Config) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(config.connect_timeout));
    connector.set_nodelay(true);
    connector.set_keepalive(Some(std::time::Duration::from_secs(30)));
    connector.enforce_http(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(config.upstream_idle_timeout)
        .pool_max_idle_per_host(config.upstream_max_idle)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector)
}

impl Proxy {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_resolver(config, Arc::new(upstream::SystemResolver)).await
    }

    /// As [`Proxy::build`], resolving upstream host names with `resolver`.
    pub async fn build_with_resolver(
        config: Config,
        resolver: Arc<dyn upstream::Resolve>,
    ) -> Result<Self, StartError> {
        let static_files = match &config.static_dir {
            Some(dir) => Some(Arc::new(StaticFiles::new(dir).map_err(|source| {
                StartError::StaticDir {
                    path: dir.display().to_string(),
                    source,
                }
            })?)),
            None => None,
        };
        let tls = match &config.tls {
            Some(files) => Some(tls::acceptor(files).map_err(StartError::Tls)?),
            None => None,
        };
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen_addr,
                source,
            })?;
        let admin = TcpListener::bind(config.admin_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.admin_addr,
                source,
            })?;
        let pool = Pool::new(HealthPolicy::from_config(&config));
        pool.start(config.upstreams.clone(), config.resolve_interval, resolver);
        let state = AppState(Arc::new(Shared {
            client: upstream_client(&config),
            security: security::Prepared::new(&config.instance_id, &config.content_security_policy),
            limiter: Arc::new(Semaphore::new(config.max_concurrent)),
            config: Arc::new(config),
            pool,
            metrics: Arc::new(Metrics::default()),
            lifecycle: Arc::new(Lifecycle::default()),
            static_files,
            tls: tls.is_some(),
        }));
        Ok(Self {
            listener,
            admin,
            state,
            tls,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; then /health turns 503 at once, requests keep
    /// being served for the drain period (so the load balancer sees the failing check and
    /// stops sending), and then the listener closes and in-flight requests get the grace
    /// period to finish.
    pub async fn run_until<F>(self, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let Self {
            listener,
            admin,
            state,
            tls,
        } = self;
        let config = Arc::clone(&state.config);
        let options = shared::serve::ServeOptions {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            grace_period: config.shutdown_grace,
            max_header_bytes: config.max_header_bytes,
            max_connections: config.max_connections,
            max_connections_per_ip: config.max_connections_per_ip,
        };
        let lifecycle = Arc::clone(&state.lifecycle);
        let drain = config.drain_period;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            lifecycle.start_draining();
            tracing::info!(drain_period = ?drain, "draining: /health now answers 503");
            tokio::time::sleep(drain).await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Some(every) = config.emf_interval {
            let state = state.clone();
            let mut deltas = shared::emf::Deltas::default();
            // Ends with the process (nothing to drain).
            drop(shared::emf::spawn(
                every,
                "web-proxy",
                config.instance_id.clone(),
                move || state.metrics.emf(Some(&state.pool), &mut deltas),
            ));
        }
        let admin_router = lifecycle::admin_router(state.clone());
        let admin_task = tokio::spawn(shared::serve::serve(
            admin,
            admin_router,
            options.clone(),
            stopped(stop_rx.clone()),
        ));
        let app = router(state);
        tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), tls = tls.is_some(), "web-proxy listening");
        match tls {
            Some(acceptor) => {
                shared::serve::serve_with(
                    listener,
                    app,
                    options,
                    stopped(stop_rx),
                    move |stream| {
                        let acceptor = acceptor.clone();
                        async move { acceptor.accept(stream).await }
                    },
                )
                .await;
            }
            None => shared::serve::serve(listener, app, options, stopped(stop_rx)).await,
        }
        let _ = admin_task.await;
    }
}

/// The main listener's service: every request takes the steps of [`edge`].
pub fn router(state: AppState) -> edge::Edge {
    edge::Edge::new(state)
}
