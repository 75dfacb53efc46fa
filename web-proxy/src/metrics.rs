//! Prometheus metrics, kept in atomics and rendered in the text exposition format on the
//! admin listener. Names follow `upbrella_*` with units in the name.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use shared::metrics::Histogram;

use crate::upstream::Pool;

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

    pub fn render(&self, pool: Option<&Pool>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        out.push_str("# HELP upbrella_proxy_requests_total Requests answered, by route and status class.\n# TYPE upbrella_proxy_requests_total counter\n");
        for route in Route::ALL {
            for (c, class) in CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "upbrella_proxy_requests_total{{route=\"{}\",status=\"{class}\"}} {}",
                    route.label(),
                    self.requests[route.index()][c].load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP upbrella_proxy_request_duration_seconds Time from request to the end of the response body.\n# TYPE upbrella_proxy_request_duration_seconds histogram\n");
        for route in Route::ALL {
            self.durations[route.index()].render(
                &mut out,
                "upbrella_proxy_request_duration_seconds",
                &format!("route=\"{}\"", route.label()),
            );
        }
        out.push_str("# HELP upbrella_proxy_upstream_response_seconds Time until the upstream's response head.\n# TYPE upbrella_proxy_upstream_response_seconds histogram\n");
        self.upstream_duration.render(
            &mut out,
            "upbrella_proxy_upstream_response_seconds",
            "upstream=\"all\"",
        );
        let counters = [
            (
                "upbrella_proxy_retries_total",
                "Requests retried on another upstream address.",
                self.retries_total.load(Ordering::Relaxed),
            ),
            (
                "upbrella_proxy_shed_total",
                "Requests refused with 503 over the concurrency limit.",
                self.shed_total.load(Ordering::Relaxed),
            ),
            (
                "upbrella_proxy_response_bytes_total",
                "Response body bytes sent.",
                self.response_bytes_total.load(Ordering::Relaxed),
            ),
            (
                "upbrella_proxy_fail_open_total",
                "Requests sent to an ejected upstream because all were ejected.",
                pool.map_or(0, |p| p.fail_open_total.load(Ordering::Relaxed)),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP upbrella_proxy_in_flight_requests Requests being served.\n# TYPE upbrella_proxy_in_flight_requests gauge\nupbrella_proxy_in_flight_requests {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        if let Some(pool) = pool {
            let backends = pool.snapshot();
            out.push_str("# HELP upbrella_proxy_upstream_healthy 1 when the upstream address is in rotation, 0 when ejected.\n# TYPE upbrella_proxy_upstream_healthy gauge\n");
            for b in backends.iter() {
                let _ = writeln!(
                    out,
                    "upbrella_proxy_upstream_healthy{{upstream=\"{}\"}} {}",
                    b.addr,
                    u8::from(!b.is_ejected())
                );
            }
            out.push_str("# HELP upbrella_proxy_upstream_outstanding_requests Requests in flight per upstream address.\n# TYPE upbrella_proxy_upstream_outstanding_requests gauge\n");
            for b in backends.iter() {
                let _ = writeln!(
                    out,
                    "upbrella_proxy_upstream_outstanding_requests{{upstream=\"{}\"}} {}",
                    b.addr,
                    b.outstanding()
                );
            }
            let per = [
                (
                    "upbrella_proxy_upstream_ejections_total",
                    "Times the upstream address was ejected.",
                ),
                (
                    "upbrella_proxy_upstream_requests_total",
                    "Requests sent to the upstream address.",
                ),
                (
                    "upbrella_proxy_upstream_failures_total",
                    "Failed requests (connect, reset, timeout) per upstream address.",
                ),
            ];
            for (name, help) in per {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for b in backends.iter() {
                    let v = match name {
                        "upbrella_proxy_upstream_ejections_total" => {
                            b.ejections_total.load(Ordering::Relaxed)
                        }
                        "upbrella_proxy_upstream_requests_total" => {
                            b.requests_total.load(Ordering::Relaxed)
                        }
                        _ => b.failures_total.load(Ordering::Relaxed),
                    };
                    let _ = writeln!(out, "{name}{{upstream=\"{}\"}} {v}", b.addr);
                }
            }
        }
        out
    }
}
