//! The upstream group: every address the configured targets resolve to, each with its
//! own health, balanced by power-of-two-choices over outstanding requests.
//!
//! Health checking and resolution run in background tasks and only write state;
//! selection only reads it, with no lock held across an await.

mod backend;
mod health;
mod resolve;

pub use resolve::{Resolve, SystemResolver};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use backend::{Backend, InFlight};
pub use health::Failure;

use crate::config::Config;

/// Health-check and ejection settings.
#[derive(Debug, Clone)]
pub struct HealthPolicy {
    pub path: String,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub eject_base: std::time::Duration,
    pub eject_max: std::time::Duration,
}

impl HealthPolicy {
    /// Fast checks, ejection for 1 s doubling up to 4 s.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self {
            path: "/health".into(),
            interval: std::time::Duration::from_millis(100),
            timeout: std::time::Duration::from_millis(100),
            unhealthy_threshold: 2,
            healthy_threshold: 2,
            eject_base: std::time::Duration::from_secs(1),
            eject_max: std::time::Duration::from_secs(4),
        }
    }

    pub fn from_config(c: &Config) -> Self {
        Self {
            path: c.health_path.clone(),
            interval: c.health_interval,
            timeout: c.health_timeout,
            unhealthy_threshold: c.unhealthy_threshold,
            healthy_threshold: c.healthy_threshold,
            eject_base: c.eject_base,
            eject_max: c.eject_max,
        }
    }
}

pub struct Pool {
    backends: RwLock<Arc<Vec<Arc<Backend>>>>,
    policy: HealthPolicy,
    pub fail_open_total: AtomicU64,
}

impl Pool {
    pub fn new(policy: HealthPolicy) -> Arc<Self> {
        Arc::new(Self {
            backends: RwLock::new(Arc::new(Vec::new())),
            policy,
            fail_open_total: AtomicU64::new(0),
        })
    }

    pub fn policy(&self) -> &HealthPolicy {
        &self.policy
    }

    /// The current backends.
    pub fn snapshot(&self) -> Arc<Vec<Arc<Backend>>> {
        Arc::clone(
            &self
                .backends
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Replaces the addresses that came from one target, keeping the health state of
    /// addresses that stay.
    pub fn set_target_addresses(&self, target: usize, addrs: &[SocketAddr]) {
        let mut guard = self
            .backends
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = Arc::clone(&guard);
        let mut next: Vec<Arc<Backend>> = current
            .iter()
            .filter(|b| b.target != target || addrs.contains(&b.addr))
            .cloned()
            .collect();
        for addr in addrs {
            if !next.iter().any(|b| b.target == target && b.addr == *addr) {
                tracing::info!(upstream = %addr, "upstream address added");
                next.push(Arc::new(Backend::new(*addr, target)));
            }
        }
        for gone in current
            .iter()
            .filter(|b| b.target == target && !addrs.contains(&b.addr))
        {
            tracing::info!(upstream = %gone.addr, "upstream address removed");
        }
        *guard = Arc::new(next);
    }

    /// Picks a backend, avoiding `exclude` (the address a retry failed on). Returns the
    /// backend and whether it was chosen although ejected ("fail open": when every
    /// address is ejected, trying them anyway beats refusing everything, as the ALB does).
    pub fn pick(&self, exclude: Option<SocketAddr>) -> Option<(Arc<Backend>, bool)> {
        let all = self.snapshot();
        let eligible = |b: &&Arc<Backend>| Some(b.addr) != exclude;
        if let Some(b) = p2c(all.iter().filter(eligible).filter(|b| !b.is_ejected())) {
            return Some((b, false));
        }
        let fallback = p2c(all.iter().filter(eligible)).or_else(|| p2c(all.iter()))?;
        self.fail_open_total.fetch_add(1, Ordering::Relaxed);
        Some((fallback, true))
    }

    /// Starts resolution and health checking for `targets`.
    pub fn start(
        self: &Arc<Self>,
        targets: Vec<crate::config::Upstream>,
        resolve_every: std::time::Duration,
        resolver: Arc<dyn Resolve>,
    ) {
        for (i, t) in targets.into_iter().enumerate() {
            resolve::spawn(Arc::clone(self), i, t, resolve_every, Arc::clone(&resolver));
        }
        health::spawn_prober(Arc::clone(self));
    }
}

/// Power of two choices: two distinct random candidates, the one with fewer requests in
/// flight wins. Nearly as good as least-outstanding over all, without scanning them all
/// or herding onto one backend. Allocation-free: it walks the candidates again instead.
fn p2c<'a>(candidates: impl Iterator<Item = &'a Arc<Backend>> + Clone) -> Option<Arc<Backend>> {
    let n = candidates.clone().count();
    match n {
        0 => None,
        1 => candidates.clone().next().map(Arc::clone),
        n => {
            let a = fastrand::usize(..n);
            let mut b = fastrand::usize(..n - 1);
            if b >= a {
                b += 1;
            }
            let x = candidates.clone().nth(a)?;
            let y = candidates.clone().nth(b)?;
            Some(Arc::clone(if y.outstanding() < x.outstanding() {
                y
            } else {
                x
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HealthPolicy {
        HealthPolicy::for_tests()
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn p2c_prefers_the_less_loaded_backend() {
        let pool = Pool::new(policy());
        pool.set_target_addresses(0, &[addr(1), addr(2)]);
        let busy = pool.snapshot()[0].clone();
        let _load: Vec<_> = (0..10).map(|_| InFlight::start(&busy)).collect();
        for _ in 0..50 {
            let (b, fail_open) = pool.pick(None).unwrap();
            assert_eq!(b.addr, addr(2));
            assert!(!fail_open);
        }
    }

    #[test]
    fn ejected_backends_are_skipped_and_all_ejected_fails_open() {
        let pool = Pool::new(policy());
        pool.set_target_addresses(0, &[addr(1), addr(2)]);
        let snapshot = pool.snapshot();
        snapshot[0].report_failure(Failure::Connect, pool.policy());
        for _ in 0..20 {
            assert_eq!(pool.pick(None).unwrap().0.addr, addr(2));
        }
        snapshot[1].report_failure(Failure::Connect, pool.policy());
        let (_, fail_open) = pool.pick(None).unwrap();
        assert!(fail_open);
        assert_eq!(pool.fail_open_total.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_retry_avoids_the_failed_address() {
        let pool = Pool::new(policy());
        pool.set_target_addresses(0, &[addr(1), addr(2)]);
        for _ in 0..20 {
            assert_eq!(pool.pick(Some(addr(1))).unwrap().0.addr, addr(2));
        }
    }

    #[test]
    fn re_resolution_keeps_the_state_of_addresses_that_stay() {
        let pool = Pool::new(policy());
        pool.set_target_addresses(0, &[addr(1), addr(2)]);
        pool.snapshot()[0].report_failure(Failure::Connect, pool.policy());
        pool.set_target_addresses(0, &[addr(1), addr(3)]);
        let s = pool.snapshot();
        assert_eq!(s.len(), 2);
        assert!(
            s.iter().find(|b| b.addr == addr(1)).unwrap().is_ejected(),
            "state kept"
        );
        assert!(s.iter().all(|b| b.addr != addr(2)));
    }
}
