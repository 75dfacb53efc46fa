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
use shared::emf::{Deltas, Metric};
use shared::metrics::{Histogram, header, single};

use crate::domain::password::PasswordHasher;
use crate::mail::Mailer;
use crate::notify::ReturnNotifier;

/// What the metrics read besides their own counters: the pool, the hash queue, the mail
/// queue and the webhook.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub db: &'a sqlx::PgPool,
    pub hasher: &'a PasswordHasher,
    pub mailer: &'a Mailer,
    pub notifier: Option<&'a ReturnNotifier>,
    pub public: &'a crate::public_reads::PublicReads,
}

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

    /// The line for CloudWatch (see `shared::emf`): counters as the change since the
    /// previous line, gauges as they are now.
    pub fn emf(&self, sources: Sources<'_>, deltas: &mut Deltas) -> Vec<Metric> {
        let (requests, errors) = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .fold((0, 0), |(all, failed), stats| {
                let sum: u64 = stats
                    .statuses
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .sum();
                (
                    all + sum,
                    failed + stats.statuses[4].load(Ordering::Relaxed),
                )
            });
        let operations = deltas.since_last("SessionStoreOperations", self.redis.count());
        let store_micros = deltas.since_last("session_store_micros", self.redis.sum_micros());
        let latency = if operations > 0.0 {
            store_micros / operations / 1000.0
        } else {
            0.0
        };
        let (size, in_use, max) = pool(sources.db);
        let hashes_waiting = sources
            .hasher
            .in_use()
            .saturating_sub(sources.hasher.running());
        vec![
            Metric::count("Requests", deltas.since_last("Requests", requests)),
            Metric::count("Requests5xx", deltas.since_last("Requests5xx", errors)),
            Metric::count(
                "InFlightRequests",
                self.in_flight.load(Ordering::Relaxed).max(0) as f64,
            ),
            Metric::count("DbPoolConnections", f64::from(size)),
            Metric::count("DbPoolInUse", f64::from(in_use)),
            Metric::count("DbPoolMax", f64::from(max)),
            Metric::count("PasswordHashQueue", hashes_waiting as f64),
            Metric::count("SessionStoreOperations", operations),
            Metric::count(
                "SessionStoreErrors",
                deltas.since_last(
                    "SessionStoreErrors",
                    self.redis_errors.load(Ordering::Relaxed),
                ),
            ),
            Metric::millis("SessionStoreLatency", latency),
            Metric::count("MailQueue", sources.mailer.waiting() as f64),
            Metric::count(
                "MailFailures",
                deltas.since_last("MailFailures", sources.mailer.failures()),
            ),
            Metric::count(
                "WebhookFailures",
                deltas.since_last(
                    "WebhookFailures",
                    sources.notifier.map_or(0, ReturnNotifier::given_up),
                ),
            ),
            Metric::count(
                "Rentals",
                deltas.since_last("Rentals", self.rentals.load(Ordering::Relaxed)),
            ),
            Metric::count(
                "Returns",
                deltas.since_last("Returns", self.returns.load(Ordering::Relaxed)),
            ),
        ]
    }

    pub fn render(&self, sources: Sources<'_>) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.render_routes(&mut out);
        let o = &mut out;
        single(
            o,
            "upbrella_was_in_flight_requests",
            "gauge",
            "Requests being served.",
            self.in_flight.load(Ordering::Relaxed),
        );
        let (size, in_use, max) = pool(sources.db);
        let hasher = sources.hasher;
        single(
            o,
            "upbrella_was_db_pool_connections",
            "gauge",
            "Open database connections.",
            size,
        );
        single(
            o,
            "upbrella_was_db_pool_in_use",
            "gauge",
            "Database connections lent to a request.",
            in_use,
        );
        single(
            o,
            "upbrella_was_db_pool_max",
            "gauge",
            "The pool's limit (DATABASE_MAX_CONNECTIONS).",
            max,
        );
        single(
            o,
            "upbrella_was_password_hashes_running",
            "gauge",
            "Password hashes being computed.",
            hasher.running(),
        );
        single(
            o,
            "upbrella_was_password_hash_queue",
            "gauge",
            "Requests waiting for a password hash to start.",
            hasher.in_use().saturating_sub(hasher.running()),
        );
        header(
            o,
            "upbrella_was_session_store_seconds",
            "histogram",
            "Session store (Redis) operations.",
        );
        self.redis
            .render(o, "upbrella_was_session_store_seconds", "");
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        single(
            o,
            "upbrella_was_session_store_errors_total",
            "counter",
            "Session store operations that failed or timed out.",
            count(&self.redis_errors),
        );
        single(
            o,
            "upbrella_was_rentals_total",
            "counter",
            "Umbrellas rented.",
            count(&self.rentals),
        );
        single(
            o,
            "upbrella_was_returns_total",
            "counter",
            "Umbrellas returned.",
            count(&self.returns),
        );
        single(
            o,
            "upbrella_was_locker_passwords_total",
            "counter",
            "Locker passwords handed to renters (rents and re-syncs).",
            count(&self.locker_passwords),
        );
        single(
            o,
            "upbrella_was_log_lines_dropped_total",
            "counter",
            "Log lines dropped because the log writer fell too far behind.",
            shared::telemetry::dropped_lines(),
        );
        sources.mailer.render(o);
        sources.public.render(o);
        out
    }

    /// Requests and their durations by method, route and status class.
    fn render_routes(&self, out: &mut String) {
        let mut routes: Vec<_> = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (*k, Arc::clone(v)))
            .collect();
        routes.sort_by(|a, b| (a.0.1, a.0.0).cmp(&(b.0.1, b.0.0)));
        header(
            out,
            "upbrella_was_requests_total",
            "counter",
            "Requests answered, by method, route and status class.",
        );
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
        header(
            out,
            "upbrella_was_request_duration_seconds",
            "histogram",
            "Time from request to response head.",
        );
        for ((method, route), stats) in &routes {
            stats.duration.render(
                out,
                "upbrella_was_request_duration_seconds",
                &format!("method=\"{method}\",route=\"{route}\""),
            );
        }
    }
}

/// The pool's open connections, those lent to a request, and its limit.
fn pool(db: &sqlx::PgPool) -> (u32, u32, u32) {
    let size = db.size();
    let idle = u32::try_from(db.num_idle()).unwrap_or(u32::MAX);
    (
        size,
        size.saturating_sub(idle),
        db.options().get_max_connections(),
    )
}
