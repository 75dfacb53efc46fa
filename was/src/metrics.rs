//! Prometheus metrics of a WAS replica, served on its admin listener
//! (`WAS_ADMIN_ADDR`, `/metrics`): requests by route and status class with latency
//! histograms, the database pool, the session store's Redis operations, the password-hash
//! queue, and rentals and returns. Kept in atomics; a route's entry is made once, under a
//! write lock, the first time the route is answered.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::Method;
use shared::metrics::Histogram;

use crate::state::AppState;

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
struct RouteStats {
    statuses: [AtomicU64; 5],
    duration: Histogram,
}

#[derive(Default)]
pub struct Metrics {
    /// By method and route template (`/api/stores/{id}`, never the raw path) and status
    /// class: every label comes from a fixed set, never from what a client sends, so the
    /// series stay as few as the API's operations however many distinct methods or paths
    /// arrive (a method outside RFC 9110's set and PATCH is `other`).
    routes: RwLock<HashMap<(&'static str, &'static str), Arc<RouteStats>>>,
    in_flight: AtomicI64,
    redis: Histogram,
    redis_errors: AtomicU64,
    rentals: AtomicU64,
    returns: AtomicU64,
    locker_passwords: AtomicU64,
}

pub struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Route templates are few (the router's, or `unmatched`); each is leaked once so that
/// labels are `&'static str`.
fn intern(route: &str) -> &'static str {
    Box::leak(route.to_owned().into_boxed_str())
}

/// The method's label: one of RFC 9110's methods or PATCH (RFC 5789), else `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

impl Metrics {
    /// One answered request. `route` is the matched template, or `None` for a path no
    /// route matched.
    pub fn record(&self, method: &Method, route: Option<&str>, status: u16, took: Duration) {
        let method = method_label(method);
        let route = route.unwrap_or("unmatched");
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        let known = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(method, route))
            .cloned();
        let stats = known.unwrap_or_else(|| {
            let mut routes = self
                .routes
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(routes.entry((method, intern(route))).or_default())
        });
        stats.statuses[class].fetch_add(1, Ordering::Relaxed);
        stats.duration.observe(took);
    }

    /// Counts a request in flight until the guard is dropped (also when the client goes
    /// away and the request's future is dropped unfinished).
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// One operation on the session store (Redis), and whether it failed or timed out.
    pub fn record_redis(&self, took: Duration, failed: bool) {
        self.redis.observe(took);
        if failed {
            self.redis_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn rented(&self) {
        self.rentals.fetch_add(1, Ordering::Relaxed);
    }

    pub fn returned(&self) {
        self.returns.fetch_add(1, Ordering::Relaxed);
    }

    /// A locker password handed to a renter (at rent, or a re-sync).
    pub fn locker_password_issued(&self) {
        self.locker_passwords.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let mut routes: Vec<_> = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (*k, Arc::clone(v)))
            .collect();
        routes.sort_by(|a, b| (a.0.1, a.0.0).cmp(&(b.0.1, b.0.0)));
        out.push_str("# HELP upbrella_was_requests_total Requests answered, by method, route and status class.\n# TYPE upbrella_was_requests_total counter\n");
        for ((method, route), stats) in &routes {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = stats.statuses[c].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "upbrella_was_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{class}\"}} {n}"
                    );
                }
            }
        }
        out.push_str("# HELP upbrella_was_request_duration_seconds Time from request to response head.\n# TYPE upbrella_was_request_duration_seconds histogram\n");
        for ((method, route), stats) in &routes {
            stats.duration.render(
                &mut out,
                "upbrella_was_request_duration_seconds",
                &format!("method=\"{method}\",route=\"{route}\""),
            );
        }
        let _ = writeln!(
            out,
            "# HELP upbrella_was_in_flight_requests Requests being served.\n# TYPE upbrella_was_in_flight_requests gauge\nupbrella_was_in_flight_requests {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let size = state.db.size();
        let idle = u32::try_from(state.db.num_idle()).unwrap_or(u32::MAX);
        let gauges = [
            (
                "upbrella_was_db_pool_connections",
                "Open database connections.",
                u64::from(size),
            ),
            (
                "upbrella_was_db_pool_in_use",
                "Database connections lent to a request.",
                u64::from(size.saturating_sub(idle)),
            ),
            (
                "upbrella_was_db_pool_max",
                "The pool's limit (DATABASE_MAX_CONNECTIONS).",
                u64::from(state.db.options().get_max_connections()),
            ),
            (
                "upbrella_was_password_hashes_running",
                "Password hashes being computed.",
                state.hasher.running() as u64,
            ),
            (
                "upbrella_was_password_hash_queue",
                "Requests waiting for a password hash to start.",
                state.hasher.in_use().saturating_sub(state.hasher.running()) as u64,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out.push_str("# HELP upbrella_was_session_store_seconds Session store (Redis) operations.\n# TYPE upbrella_was_session_store_seconds histogram\n");
        self.redis
            .render(&mut out, "upbrella_was_session_store_seconds", "");
        let counters = [
            (
                "upbrella_was_session_store_errors_total",
                "Session store operations that failed or timed out.",
                self.redis_errors.load(Ordering::Relaxed),
            ),
            (
                "upbrella_was_rentals_total",
                "Umbrellas rented.",
                self.rentals.load(Ordering::Relaxed),
            ),
            (
                "upbrella_was_returns_total",
                "Umbrellas returned.",
                self.returns.load(Ordering::Relaxed),
            ),
            (
                "upbrella_was_locker_passwords_total",
                "Locker passwords handed to renters (rents and re-syncs).",
                self.locker_passwords.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        state.mailer.render(&mut out);
        out
    }
}
