//! Health: the ejection state machine, and the active prober.
//!
//! A backend is ejected after `unhealthy_threshold` failed probes in a row, or at once
//! after a passive failure (refused connection, reset, timeout). It stays out for a
//! backoff that doubles with each consecutive ejection (from `eject_base` up to
//! `eject_max`), and comes back only when, after that, `healthy_threshold` probes in a row
//! succeed. A hung process (accepts TCP, never answers) fails its probes by timeout, so
//! it is ejected within about `interval × threshold + timeout`, load or no load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{HealthPolicy, Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect (refused, unreachable, connect timeout).
    Connect,
    /// No response head within the upstream timeout.
    Timeout,
    /// The connection broke before a response arrived.
    Reset,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
        }
    }
}

#[derive(Debug, Default)]
pub struct Health {
    ejected: bool,
    out_until: Option<Instant>,
    /// Consecutive ejections, for the backoff.
    ejections: u32,
    failed_probes: u32,
    good_probes: u32,
}

impl Health {
    fn eject(&mut self, now: Instant, policy: &HealthPolicy) {
        let factor = 2u32.saturating_pow(self.ejections.min(16));
        let backoff = policy
            .eject_base
            .saturating_mul(factor)
            .min(policy.eject_max);
        self.ejected = true;
        self.out_until = Some(now + backoff);
        self.ejections = self.ejections.saturating_add(1);
        self.good_probes = 0;
    }

    /// Returns whether the backend becomes ejected now.
    pub fn passive_failure(
        &mut self,
        _failure: Failure,
        now: Instant,
        policy: &HealthPolicy,
    ) -> bool {
        if self.ejected {
            return false;
        }
        self.eject(now, policy);
        true
    }

    /// Returns `Some(ejected)` when the state flips.
    pub fn probe(&mut self, ok: bool, now: Instant, policy: &HealthPolicy) -> Option<bool> {
        if ok {
            self.failed_probes = 0;
            self.good_probes = self.good_probes.saturating_add(1);
            if self.ejected {
                let backoff_over = self.out_until.is_none_or(|t| now >= t);
                if backoff_over && self.good_probes >= policy.healthy_threshold {
                    self.ejected = false;
                    self.out_until = None;
                    return Some(false);
                }
            } else if self.good_probes >= 10 {
                // Healthy for a while: forget earlier ejections.
                self.ejections = 0;
            }
            None
        } else {
            self.good_probes = 0;
            self.failed_probes = self.failed_probes.saturating_add(1);
            if !self.ejected && self.failed_probes >= policy.unhealthy_threshold {
                self.eject(now, policy);
                return Some(true);
            }
            None
        }
    }
}

/// Probes every backend every `interval`, concurrently, each with its own connection.
pub fn spawn_prober(pool: Arc<Pool>) {
    let policy = pool.policy().clone();
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(policy.timeout));
    connector.set_nodelay(true);
    // No pooling: each probe proves the backend still accepts and answers.
    let client: Client<HttpConnector, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .pool_timer(TokioTimer::new())
        .build(connector);
    let weak = Arc::downgrade(&pool);
    drop(pool);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else { return };
            let backends = pool.snapshot();
            let probes = backends.iter().map(|b| {
                let client = client.clone();
                let policy = &policy;
                async move {
                    let ok =
                        probe(&client, b.authority.as_str(), &policy.path, policy.timeout).await;
                    b.report_probe(ok, policy);
                }
            });
            futures::future::join_all(probes).await;
        }
    });
}

async fn probe(
    client: &Client<HttpConnector, Empty<bytes::Bytes>>,
    authority: &str,
    path: &str,
    timeout: Duration,
) -> bool {
    let Ok(uri) = format!("http://{authority}{path}").parse::<http::Uri>() else {
        return false;
    };
    let Ok(request) = http::Request::get(uri)
        .header(http::header::USER_AGENT, "upbrella-web-proxy-health")
        .body(Empty::new())
    else {
        return false;
    };
    match tokio::time::timeout(timeout, client.request(request)).await {
        Ok(Ok(response)) => response.status().is_success(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HealthPolicy {
        HealthPolicy::for_tests()
    }

    #[test]
    fn probes_eject_after_the_threshold_and_readmit_after_backoff() {
        let p = policy();
        let mut h = Health::default();
        let t0 = Instant::now();
        assert_eq!(h.probe(false, t0, &p), None);
        assert_eq!(h.probe(false, t0, &p), Some(true));
        // Good probes during the backoff do not re-admit.
        assert_eq!(h.probe(true, t0 + Duration::from_millis(100), &p), None);
        assert_eq!(h.probe(true, t0 + Duration::from_millis(200), &p), None);
        assert_eq!(
            h.probe(true, t0 + Duration::from_millis(1100), &p),
            Some(false)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        let mut h = Health::default();
        let mut now = Instant::now();
        let mut outs = Vec::new();
        for _ in 0..4 {
            assert!(h.passive_failure(Failure::Connect, now, &p));
            outs.push(h.out_until.unwrap() - now);
            now = h.out_until.unwrap();
            h.probe(true, now, &p);
            assert_eq!(h.probe(true, now, &p), Some(false));
        }
        assert_eq!(outs, [1, 2, 4, 4].map(Duration::from_secs));
    }
}
