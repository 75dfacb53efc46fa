//! The benchmarks where targets take turns: what each loads, how one is measured, and
//! the two sets of them (the proxies, and the WAS against the same work).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::measure::{Cpu, rss_kib};
use crate::seed::Seeded;
use crate::wrk::Run;
use crate::{h2load, wrk};

/// The public store list: the WAS answers it from memory (`was/src/public_reads.rs`), the
/// same-work server runs its three queries every time.
pub const STORE_LIST: &str = "WAS: public store list (WAS from memory; same work: 3 queries)";
/// web-proxy on hyper's forwarding path (the default is the lean one), and the second
/// peer proxy.
pub const HYPER: &str = "web-proxy, hyper path";
pub const HAPROXY: &str = "HAProxy";
pub const ME: &str = "WAS: logged-in /api/me (Redis + 2 queries)";

/// How long each target is loaded, for how many rounds, over how many connections.
pub struct Settings {
    pub duration: Duration,
    pub rounds: usize,
    pub connections: usize,
}

impl Settings {
    pub fn new(smoke: bool) -> Self {
        if smoke {
            Self {
                duration: Duration::from_secs(1),
                rounds: 1,
                connections: 16,
            }
        } else {
            Self {
                duration: Duration::from_secs(6),
                rounds: 3,
                connections: 64,
            }
        }
    }
}

/// Where a benchmark runs: its scratch directory, wrk's report script, the settings.
pub struct Bench<'a> {
    pub dir: &'a Path,
    pub script: &'a Path,
    pub settings: &'a Settings,
}

/// One measurement: a target in a benchmark, in one round.
pub struct Row {
    pub group: &'static str,
    pub target: String,
    pub round: usize,
    pub run: Run,
    pub cpu_us_per_req: Option<f64>,
    pub rss_mib: Option<f64>,
}

/// How a target is loaded.
pub enum Load {
    /// wrk over HTTP/1.1 keep-alive, with extra request headers.
    Wrk(String, Vec<String>),
    /// h2load over h2c: clients × streams in flight.
    H2(String, usize, usize),
}

pub struct Target {
    pub name: &'static str,
    pub load: Load,
    /// Processes whose CPU time and memory the row reports.
    pub pids: Vec<i32>,
}

/// A benchmark where targets take turns, round after round.
pub struct Duel {
    pub group: &'static str,
    pub targets: Vec<Target>,
}

impl Duel {
    /// Every round of every target, in turns. The WAS's benchmarks must not fail a
    /// request (`was`: their rows report no memory, the WAS's is read apart).
    pub fn run(&self, bench: &Bench<'_>, was: bool, rows: &mut Vec<Row>) -> Result<(), String> {
        for round in 1..=bench.settings.rounds {
            println!("==> {}, round {round}", self.group);
            for target in &self.targets {
                let (run, cpu, rss) = measure(bench.dir, bench.script, target, bench.settings)?;
                if was && run.errors > 0 {
                    return Err(format!(
                        "{} / {}: {} requests failed",
                        self.group, target.name, run.errors
                    ));
                }
                rows.push(Row {
                    group: self.group,
                    target: target.name.to_owned(),
                    round,
                    run,
                    cpu_us_per_req: Some(cpu),
                    rss_mib: (!was).then_some(rss),
                });
            }
        }
        Ok(())
    }
}

fn wrk_load(addr: SocketAddr, path: &str, headers: &[String]) -> Load {
    Load::Wrk(format!("http://{addr}{path}"), headers.to_vec())
}

/// What the proxies are measured against.
pub struct ProxyTargets {
    pub nginx: crate::nginx::Nginx,
    pub fast_addr: SocketAddr,
    pub fast_pid: i32,
    /// web-proxy on hyper's forwarding path (`WEB_PROXY_FORWARDING=hyper`).
    pub hyper_addr: SocketAddr,
    pub hyper_pid: i32,
    /// HAProxy in front of the fast upstream.
    pub haproxy: (SocketAddr, i32),
    pub logging_addr: SocketAddr,
    pub logging_pid: i32,
    /// The topology's own web-proxy, in front of the WAS.
    pub proxy: SocketAddr,
    pub proxy_pid: i32,
}

/// web-proxy against nginx: forwarding to the fast upstream three ways (on both of
/// web-proxy's paths, and HAProxy beside nginx over HTTP/1.1), a static file, and a
/// request through to the WAS.
pub fn proxy_duels(t: &ProxyTargets) -> Vec<Duel> {
    let nginx_pids = t.nginx.pids();
    let close = vec!["Connection: close".to_owned()];
    let gzip = vec!["Accept-Encoding: gzip".to_owned()];
    let wrk = wrk_load;
    // h2c: 64 streams in flight, as wrk's 64 connections, on 16 connections.
    let h2 = |addr: SocketAddr| Load::H2(format!("http://{addr}/api/item"), 16, 4);
    let pair = |group, nginx: Load, proxy: Load, proxy_pid| Duel {
        group,
        targets: vec![
            Target {
                name: "nginx",
                load: nginx,
                pids: nginx_pids.clone(),
            },
            Target {
                name: "web-proxy",
                load: proxy,
                pids: vec![proxy_pid],
            },
        ],
    };
    let mut keep_alive = pair(
        "forward, keep-alive (fast upstream)",
        wrk(t.nginx.fast_addr, "/api/item", &[]),
        wrk(t.fast_addr, "/api/item", &[]),
        t.fast_pid,
    );
    let (haproxy_addr, haproxy_pid) = t.haproxy;
    let peers = |path: &str, headers: &[String]| {
        [
            Target {
                name: HYPER,
                load: wrk(t.hyper_addr, path, headers),
                pids: vec![t.hyper_pid],
            },
            Target {
                name: HAPROXY,
                load: wrk(haproxy_addr, path, headers),
                pids: vec![haproxy_pid],
            },
        ]
    };
    keep_alive.targets.extend(peers("/api/item", &[]));
    keep_alive.targets.extend([
        Target {
            name: "web-proxy, access log on",
            load: wrk(t.logging_addr, "/api/item", &[]),
            pids: vec![t.logging_pid],
        },
        Target {
            name: "web-proxy, client accepts gzip",
            load: wrk(t.fast_addr, "/api/item", &gzip),
            pids: vec![t.fast_pid],
        },
    ]);
    let mut per_connection = pair(
        "forward, new connection per request (fast upstream)",
        wrk(t.nginx.fast_addr, "/api/item", &close),
        wrk(t.fast_addr, "/api/item", &close),
        t.fast_pid,
    );
    per_connection.targets.extend(peers("/api/item", &close));
    vec![
        keep_alive,
        per_connection,
        pair(
            "forward, h2c (fast upstream)",
            h2(t.nginx.fast_h2_addr),
            h2(t.fast_addr),
            t.fast_pid,
        ),
        pair(
            "static file (GET /index.html)",
            wrk(t.nginx.addr, "/index.html", &[]),
            wrk(t.proxy, "/index.html", &[]),
            t.proxy_pid,
        ),
        pair(
            "through the WAS (GET /api/tags)",
            wrk(t.nginx.addr, "/api/tags", &[]),
            wrk(t.proxy, "/api/tags", &[]),
            t.proxy_pid,
        ),
    ]
}

/// The WAS against a bare axum server doing the same work (`base`).
pub fn was_duels(
    seeded: &Seeded,
    (base_addr, base_pid): (SocketAddr, i32),
    (was_addr, was_pid): (SocketAddr, i32),
) -> Vec<Duel> {
    let cookie = format!("Cookie: {}", seeded.cookie);
    let pair = |group, base: Load, was: Load| Duel {
        group,
        targets: vec![
            Target {
                name: "same work, bare axum",
                load: base,
                pids: vec![base_pid],
            },
            Target {
                name: "WAS",
                load: was,
                pids: vec![was_pid],
            },
        ],
    };
    vec![
        pair(
            STORE_LIST,
            wrk_load(
                base_addr,
                &format!("/regions/{}/stores", seeded.region),
                &[],
            ),
            wrk_load(
                was_addr,
                &format!("/api/regions/{}/stores", seeded.region),
                &[],
            ),
        ),
        pair(
            ME,
            wrk_load(base_addr, "/me", std::slice::from_ref(&cookie)),
            wrk_load(was_addr, "/api/me", std::slice::from_ref(&cookie)),
        ),
    ]
}

fn measure(
    dir: &Path,
    script: &Path,
    target: &Target,
    settings: &Settings,
) -> Result<(Run, f64, f64), String> {
    let cpu = Cpu::start(&target.pids);
    let run = match &target.load {
        Load::Wrk(url, headers) => {
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            wrk::run(
                script,
                url,
                settings.connections,
                settings.duration,
                &headers,
            )?
        }
        Load::H2(url, clients, streams) => {
            h2load::run(dir, url, *clients, *streams, settings.duration)?
        }
    };
    let cpu_us = cpu.per_request_us(&target.pids, run.requests);
    let rss = target.pids.iter().map(|p| rss_kib(*p)).sum::<u64>() as f64 / 1024.0;
    Ok((run, cpu_us, rss))
}
