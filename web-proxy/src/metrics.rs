//! Prometheus metrics, kept in atomics and rendered in the text exposition format on the
//! admin listener. Names follow `upbrella_*` with units in the name.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use shared::emf::{Deltas, Metric};
use shared::metrics::{Histogram, header, single};

use crate::upstream::{Backend, Pool};

/// Where a request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Api,
    Static,
    Health,
    Redirect,
}

impl Route {
    const ALL: [Route; 4] = [Route::Api, Route::Static, Route::Health, Route::Redirect];

    fn index(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Route::Api => "api",
            Route::Static => "static",
            Route::Health => "health",
            Route::Redirect => "redirect",
        }
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; 4],
    durations: [Histogram; 4],
    upstream_duration: Histogram,
    pub retries_total: AtomicU64,
    pub shed_total: AtomicU64,
    pub in_flight: AtomicI64,
    pub response_bytes_total: AtomicU64,
}

/// A request counted in flight until dropped: when its response body is done, or when
/// its future is dropped unfinished (a client that went away mid-request).
pub struct Serving(Arc<Metrics>);

impl std::ops::Deref for Serving {
    type Target = Metrics;

    fn deref(&self) -> &Metrics {
        &self.0
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn serving(self: &Arc<Self>) -> Serving {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Serving(Arc::clone(self))
    }

    pub fn record(&self, route: Route, status: u16, duration: Duration, bytes: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[route.index()][class].fetch_add(1, Ordering::Relaxed);
        self.durations[route.index()].observe(duration);
        self.response_bytes_total
            .fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn record_upstream(&self, duration: Duration) {
        self.upstream_duration.observe(duration);
    }

    /// The line for CloudWatch (see `shared::emf`): counters as the change since the
    /// previous line, gauges as they are now. Upstream figures are summed over the
    /// addresses (behind an ALB there is one).
    pub fn emf(&self, pool: Option<&Pool>, deltas: &mut Deltas) -> Vec<Metric> {
        let requests: u64 = self
            .requests
            .iter()
            .flat_map(|route| route.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        let errors: u64 = self
            .requests
            .iter()
            .map(|route| route[4].load(Ordering::Relaxed))
            .sum();
        let snapshot = pool.map(Pool::snapshot);
        let backends = snapshot.as_deref().map_or(&[][..], Vec::as_slice);
        let failures: u64 = backends
            .iter()
            .map(|b| b.failures_total.load(Ordering::Relaxed))
            .sum();
        let ejections: u64 = backends
            .iter()
            .map(|b| b.ejections_total.load(Ordering::Relaxed))
            .sum();
        let healthy = backends.iter().filter(|b| !b.is_ejected()).count();
        vec![
            Metric::count("Requests", deltas.since_last("Requests", requests)),
            Metric::count("Requests5xx", deltas.since_last("Requests5xx", errors)),
            Metric::count(
                "Shed",
                deltas.since_last("Shed", self.shed_total.load(Ordering::Relaxed)),
            ),
            Metric::count(
                "Retries",
                deltas.since_last("Retries", self.retries_total.load(Ordering::Relaxed)),
            ),
            Metric::count(
                "UpstreamFailures",
                deltas.since_last("UpstreamFailures", failures),
            ),
            Metric::count(
                "UpstreamEjections",
                deltas.since_last("UpstreamEjections", ejections),
            ),
            Metric::count(
                "InFlightRequests",
                self.in_flight.load(Ordering::Relaxed).max(0) as f64,
            ),
            Metric::count("UpstreamHealthy", healthy as f64),
            Metric::count("UpstreamAddresses", backends.len() as f64),
        ]
    }

    pub fn render(&self, pool: Option<&Pool>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let o = &mut out;
        header(
            o,
            "upbrella_proxy_requests_total",
            "counter",
            "Requests answered, by route and status class.",
        );
        for route in Route::ALL {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = self.requests[route.index()][c].load(Ordering::Relaxed);
                let _ = writeln!(
                    o,
                    "upbrella_proxy_requests_total{{route=\"{}\",status=\"{class}\"}} {n}",
                    route.label()
                );
            }
        }
        header(
            o,
            "upbrella_proxy_request_duration_seconds",
            "histogram",
            "Time from request to the end of the response body.",
        );
        for route in Route::ALL {
            self.durations[route.index()].render(
                o,
                "upbrella_proxy_request_duration_seconds",
                &format!("route=\"{}\"", route.label()),
            );
        }
        header(
            o,
            "upbrella_proxy_upstream_response_seconds",
            "histogram",
            "Time until the upstream's response head.",
        );
        self.upstream_duration.render(
            o,
            "upbrella_proxy_upstream_response_seconds",
            "upstream=\"all\"",
        );
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        single(
            o,
            "upbrella_proxy_retries_total",
            "counter",
            "Requests retried on another upstream address.",
            count(&self.retries_total),
        );
        single(
            o,
            "upbrella_proxy_shed_total",
            "counter",
            "Requests refused with 503 over the concurrency limit.",
            count(&self.shed_total),
        );
        single(
            o,
            "upbrella_proxy_response_bytes_total",
            "counter",
            "Response body bytes sent.",
            count(&self.response_bytes_total),
        );
        single(
            o,
            "upbrella_proxy_log_lines_dropped_total",
            "counter",
            "Log lines dropped because the log writer fell too far behind.",
            shared::telemetry::dropped_lines(),
        );
        single(
            o,
            "upbrella_proxy_fail_open_total",
            "counter",
            "Requests sent to an ejected upstream because all were ejected.",
            pool.map_or(0, |p| count(&p.fail_open_total)),
        );
        single(
            o,
            "upbrella_proxy_in_flight_requests",
            "gauge",
            "Requests being served.",
            self.in_flight.load(Ordering::Relaxed),
        );
        if let Some(pool) = pool {
            render_upstreams(o, &pool.snapshot());
        }
        out
    }
}

/// One series per upstream address of each per-address family.
fn render_upstreams(out: &mut String, backends: &[Arc<Backend>]) {
    type Read = fn(&Backend) -> u64;
    let families: [(&str, &str, &str, Read); 5] = [
        (
            "upbrella_proxy_upstream_healthy",
            "gauge",
            "1 when the upstream address is in rotation, 0 when ejected.",
            |b| u64::from(!b.is_ejected()),
        ),
        (
            "upbrella_proxy_upstream_outstanding_requests",
            "gauge",
            "Requests in flight per upstream address.",
            |b| b.outstanding() as u64,
        ),
        (
            "upbrella_proxy_upstream_ejections_total",
            "counter",
            "Times the upstream address was ejected.",
            |b| b.ejections_total.load(Ordering::Relaxed),
        ),
        (
            "upbrella_proxy_upstream_requests_total",
            "counter",
            "Requests sent to the upstream address.",
            |b| b.requests_total.load(Ordering::Relaxed),
        ),
        (
            "upbrella_proxy_upstream_failures_total",
            "counter",
            "Failed requests (connect, reset, timeout) per upstream address.",
            |b| b.failures_total.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, read) in families {
        header(out, name, kind, help);
        for b in backends {
            let _ = writeln!(out, "{name}{{upstream=\"{}\"}} {}", b.addr, read(b));
        }
    }
}
