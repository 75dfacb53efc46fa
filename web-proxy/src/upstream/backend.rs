//! One upstream address and its health.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use super::HealthPolicy;
use super::health::{Failure, Health};
use crate::lean::IdleConns;

pub struct Backend {
    pub addr: SocketAddr,
    /// Which configured target this address came from.
    pub target: usize,
    pub authority: http::uri::Authority,
    outstanding: AtomicUsize,
    health: Mutex<Health>,
    ejected_tx: watch::Sender<bool>,
    pub ejections_total: AtomicU64,
    pub requests_total: AtomicU64,
    pub failures_total: AtomicU64,
    /// Kept connections of the lean forwarding path (`WEB_PROXY_FORWARDING=lean`).
    pub idle: Arc<IdleConns>,
}

impl Backend {
    pub fn new(addr: SocketAddr, target: usize) -> Self {
        let authority = addr
            .to_string()
            .parse()
            .expect("a socket address is a valid authority");
        Self {
            addr,
            target,
            authority,
            outstanding: AtomicUsize::new(0),
            health: Mutex::new(Health::default()),
            ejected_tx: watch::Sender::new(false),
            ejections_total: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            failures_total: AtomicU64::new(0),
            idle: Arc::default(),
        }
    }

    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }

    pub fn is_ejected(&self) -> bool {
        *self.ejected_tx.borrow()
    }

    /// Resolves when this backend is ejected (at once if it already is). Lets a request
    /// waiting on a backend that just got ejected give up and retry elsewhere.
    pub async fn ejected(&self) {
        let mut rx = self.ejected_tx.subscribe();
        let _ = rx.wait_for(|ejected| *ejected).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request failed in a way that says the backend is sick (passive check).
    pub fn report_failure(&self, failure: Failure, policy: &HealthPolicy) {
        self.failures_total.fetch_add(1, Ordering::Relaxed);
        let eject = self.lock().passive_failure(failure, Instant::now(), policy);
        if eject {
            self.set_ejected(true, failure.as_str());
        }
    }

    /// The result of an active probe.
    pub fn report_probe(&self, ok: bool, policy: &HealthPolicy) {
        let change = self.lock().probe(ok, Instant::now(), policy);
        if let Some(ejected) = change {
            self.set_ejected(ejected, if ejected { "health check" } else { "recovered" });
        }
    }

    fn set_ejected(&self, ejected: bool, reason: &str) {
        let changed = self.ejected_tx.send_if_modified(|v| {
            let changed = *v != ejected;
            *v = ejected;
            changed
        });
        if changed {
            if ejected {
                self.ejections_total.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(upstream = %self.addr, reason, "upstream ejected");
            } else {
                tracing::info!(upstream = %self.addr, "upstream re-admitted");
            }
        }
    }
}

/// Counts a request as outstanding on a backend until dropped.
pub struct InFlight(Arc<Backend>);

impl InFlight {
    pub fn start(backend: &Arc<Backend>) -> Self {
        backend.outstanding.fetch_add(1, Ordering::Relaxed);
        backend.requests_total.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(backend))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}
