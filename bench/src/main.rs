//! `bench`: the performance numbers of upbrella, side by side, from one command
//! (`scripts/bench.sh`). Starts the real topology from release binaries on loopback,
//! nginx as a competent production proxy over the same upstreams, a fast upstream (nginx
//! answering a fixed body) so that a proxy's own cost shows, a bare axum server doing the
//! WAS's work without its layers, and a bare axum "hello" as the ceiling; drives them with
//! wrk (and h2load for h2c); writes `bench/results/latest.md` and SVG plots.
//!
//! web-proxy and nginx run in rounds, alternating (A B A B …) so that a slow minute of
//! the machine hurts both; the tables give the median of the rounds and their spread.
//!
//! Load generator: wrk (Debian's package). It is the tool nginx's own figures are usually
//! quoted with, it keeps connections alive, reports latency percentiles through its Lua
//! hook, and costs little CPU per request, which matters when client and servers share
//! two cores. The rent/return cycle needs per-user sessions and state, so it runs in a
//! small Rust client instead.

mod h2load;
mod measure;
mod nginx;
mod plot;
mod same_work;
mod wrk;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::json;
use stack::process::{Process, Spec};
use stack::seed::StoreSeed;
use stack::{Binaries, Options, Stack};

use crate::measure::{Cpu, rss_kib};
use crate::wrk::Run;

/// The performance numbers of upbrella, side by side with nginx and a bare axum server,
/// written to bench/results/latest.md with SVG plots (scripts/bench.sh builds and runs
/// this).
#[derive(Parser)]
#[command(name = "bench", version)]
struct Cli {
    /// A short run proving the benchmark works; its figures mean nothing
    #[arg(long)]
    smoke: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bare axum "hello" ceiling on 127.0.0.1 (the benchmark starts it itself)
    Hello {
        #[arg(default_value_t = 18999)]
        port: u16,
    },
    /// Serve the WAS's same-work baseline on 127.0.0.1 (the benchmark starts it itself)
    SameWork {
        port: u16,
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        redis_url: String,
        #[arg(long, default_value_t = 16)]
        pool_size: u32,
        /// The session cookie's name
        #[arg(long)]
        cookie: String,
        /// The logged-in user whom the session names
        #[arg(long)]
        user_id: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Hello { port }) => return hello(port),
        Some(Command::SameWork {
            port,
            database_url,
            redis_url,
            pool_size,
            cookie,
            user_id,
        }) => {
            let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
            return match runtime.block_on(same_work::serve(
                port,
                &database_url,
                &redis_url,
                pool_size,
                cookie,
                user_id,
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench same-work: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        None => {}
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli.smoke)) {
        Ok(path) => {
            println!("results written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The ceiling: the least an axum server can do per request.
fn hello(port: u16) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async move {
        let app = axum::Router::new()
            .route("/hello", axum::routing::get(|| async { "hello" }))
            .route("/health", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
    ExitCode::SUCCESS
}

struct Settings {
    duration: Duration,
    rounds: usize,
    connections: usize,
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
enum Load {
    /// wrk over HTTP/1.1 keep-alive, with extra request headers.
    Wrk(String, Vec<String>),
    /// h2load over h2c: clients × streams in flight.
    H2(String, usize, usize),
}

struct Target {
    name: &'static str,
    load: Load,
    /// Processes whose CPU time and memory the row reports.
    pids: Vec<i32>,
}

/// A benchmark where targets take turns, round after round.
struct Duel {
    group: &'static str,
    targets: Vec<Target>,
}

/// A web-proxy of the benchmark's own, in front of the fast upstream.
fn fast_proxy(
    bins: &Binaries,
    dir: &std::path::Path,
    name: &'static str,
    upstream: std::net::SocketAddr,
    log: &str,
) -> Result<(Process, std::net::SocketAddr), String> {
    let port = stack::free_port().map_err(|e| e.to_string())?;
    let admin = stack::free_port().map_err(|e| e.to_string())?;
    let process = Process::spawn(
        Spec::new(name, &bins.web_proxy)
            .env("WEB_PROXY_UPSTREAMS", format!("http://{upstream}"))
            .env("WEB_PROXY_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("WEB_PROXY_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("WEB_PROXY_UPSTREAM_HEALTH_PATH", "/health")
            .env("WEB_PROXY_DRAIN_PERIOD", "0s")
            .env("RUST_LOG", log)
            .log(dir.join(format!("{name}.log"))),
    )
    .map_err(|e| e.to_string())?;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    stack::wait_http_ok(addr, "/api/health", Duration::from_secs(10))?;
    Ok((process, addr))
}

fn measure(
    dir: &std::path::Path,
    script: &std::path::Path,
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

async fn run(smoke: bool) -> Result<PathBuf, String> {
    let root = stack::topology::workspace_root();
    let bins = Binaries::in_target("release").map_err(|e| e.to_string())?;
    let settings = if smoke {
        Settings {
            duration: Duration::from_secs(1),
            rounds: 1,
            connections: 16,
        }
    } else {
        Settings {
            duration: Duration::from_secs(6),
            rounds: 3,
            connections: 64,
        }
    };
    wrk::check()?;
    h2load::check()?;
    let dir = stack::TempDir::new("upbrella-bench").map_err(|e| e.to_string())?;
    println!("==> starting the topology (release): Redis, PostgreSQL, 2 WAS, web-proxy");
    let mut options = Options::new(dir.path().to_path_buf());
    options.static_dir = Some(root.join("web"));
    options.persistent_redis = false;
    let quiet = ("RUST_LOG".to_owned(), "warn".to_owned());
    options.was_env = vec![
        quiet.clone(),
        ("DATABASE_MAX_CONNECTIONS".into(), "16".into()),
        // The login flood stands for many attackers, each from its own address.
        ("RATE_LIMIT_LOGIN_PER_ADDRESS".into(), "off".into()),
        // The rent-and-return loop stands for many renters scanning stickers: it runs in
        // the original stickers' migration mode (no codes to compute here, the same work
        // per request) without the per-user and per-address limits.
        ("RATE_LIMIT_RENTAL_PER_USER".into(), "off".into()),
        ("RATE_LIMIT_RENTAL_PER_ADDRESS".into(), "off".into()),
        ("QR_LEGACY_CODES".into(), "accept".into()),
        ("QR_LEGACY_UNTIL".into(), "2999-12-31".into()),
    ];
    options.proxy_env = vec![quiet, ("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into())];
    let mut s = Stack::start(&bins, options).map_err(|e| e.to_string())?;
    let proxy = s.proxies[0].addr;
    let proxy_pid = s.proxies[0].process().map(Process::pid).unwrap_or_default();
    let was_pid = s.was[0].process().map(Process::pid).unwrap_or_default();
    let idle_proxy_rss = rss_kib(proxy_pid) as f64 / 1024.0;
    let idle_was_rss = rss_kib(was_pid) as f64 / 1024.0;
    let seeded = seed(&s).await?;

    println!(
        "==> starting the fast upstream, nginx, and web-proxies in front of the fast upstream"
    );
    let upstream = nginx::Upstream::start(dir.path())?;
    let upstreams: Vec<_> = s.was.iter().map(|w| w.addr).collect();
    let nginx = nginx::Nginx::start(dir.path(), &upstreams, upstream.addr, &root.join("web"))?;
    let (fast, fast_addr) = fast_proxy(&bins, dir.path(), "web-proxy-fast", upstream.addr, "warn")?;
    let (logging, logging_addr) = fast_proxy(
        &bins,
        dir.path(),
        "web-proxy-fast-logging",
        upstream.addr,
        "warn,access=info",
    )?;

    println!("==> starting the hello ceiling and the same-work baseline");
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let hello_port = stack::free_port().map_err(|e| e.to_string())?;
    let _hello = Process::spawn(
        Spec::new("hello", &me)
            .arg("hello")
            .arg(hello_port.to_string()),
    )
    .map_err(|e| e.to_string())?;
    let hello_addr: std::net::SocketAddr = format!("127.0.0.1:{hello_port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    stack::wait_http_ok(hello_addr, "/health", Duration::from_secs(10))?;
    let base_port = stack::free_port().map_err(|e| e.to_string())?;
    let cookie_name = seeded
        .cookie
        .split('=')
        .next()
        .unwrap_or_default()
        .to_owned();
    let base = Process::spawn(
        Spec::new("same-work", &me)
            .arg("same-work")
            .arg(base_port.to_string())
            .arg("--database-url")
            .arg(s.database_url.clone())
            .arg("--redis-url")
            .arg(s.redis.url())
            .arg("--cookie")
            .arg(cookie_name)
            .arg("--user-id")
            .arg(seeded.user_id.to_string())
            .log(dir.path().join("same-work.log")),
    )
    .map_err(|e| e.to_string())?;
    let base_addr: std::net::SocketAddr = format!("127.0.0.1:{base_port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    stack::wait_http_ok(base_addr, "/health", Duration::from_secs(10))?;

    let mut rows = Vec::new();
    let script = root.join("bench").join("report.lua");
    let nginx_pids = nginx.pids();
    let close = vec!["Connection: close".to_owned()];
    let gzip = vec!["Accept-Encoding: gzip".to_owned()];
    let wrk = |addr: std::net::SocketAddr, path: &str, headers: &[String]| {
        Load::Wrk(format!("http://{addr}{path}"), headers.to_vec())
    };
    // h2c: 64 streams in flight, as wrk's 64 connections, on 16 connections.
    let h2 = |addr: std::net::SocketAddr| Load::H2(format!("http://{addr}/api/item"), 16, 4);
    let fast_pid = fast.pid();
    let duels = vec![
        Duel {
            group: "forward, keep-alive (fast upstream)",
            targets: vec![
                Target {
                    name: "nginx",
                    load: wrk(nginx.fast_addr, "/api/item", &[]),
                    pids: nginx_pids.clone(),
                },
                Target {
                    name: "web-proxy",
                    load: wrk(fast_addr, "/api/item", &[]),
                    pids: vec![fast_pid],
                },
                Target {
                    name: "web-proxy, access log on",
                    load: wrk(logging_addr, "/api/item", &[]),
                    pids: vec![logging.pid()],
                },
                Target {
                    name: "web-proxy, client accepts gzip",
                    load: wrk(fast_addr, "/api/item", &gzip),
                    pids: vec![fast_pid],
                },
            ],
        },
        Duel {
            group: "forward, new connection per request (fast upstream)",
            targets: vec![
                Target {
                    name: "nginx",
                    load: wrk(nginx.fast_addr, "/api/item", &close),
                    pids: nginx_pids.clone(),
                },
                Target {
                    name: "web-proxy",
                    load: wrk(fast_addr, "/api/item", &close),
                    pids: vec![fast_pid],
                },
            ],
        },
        Duel {
            group: "forward, h2c (fast upstream)",
            targets: vec![
                Target {
                    name: "nginx",
                    load: h2(nginx.fast_h2_addr),
                    pids: nginx_pids.clone(),
                },
                Target {
                    name: "web-proxy",
                    load: h2(fast_addr),
                    pids: vec![fast_pid],
                },
            ],
        },
        Duel {
            group: "static file (GET /index.html)",
            targets: vec![
                Target {
                    name: "nginx",
                    load: wrk(nginx.addr, "/index.html", &[]),
                    pids: nginx_pids.clone(),
                },
                Target {
                    name: "web-proxy",
                    load: wrk(proxy, "/index.html", &[]),
                    pids: vec![proxy_pid],
                },
            ],
        },
        Duel {
            group: "through the WAS (GET /api/tags)",
            targets: vec![
                Target {
                    name: "nginx",
                    load: wrk(nginx.addr, "/api/tags", &[]),
                    pids: nginx_pids.clone(),
                },
                Target {
                    name: "web-proxy",
                    load: wrk(proxy, "/api/tags", &[]),
                    pids: vec![proxy_pid],
                },
            ],
        },
    ];
    for duel in &duels {
        for round in 1..=settings.rounds {
            println!("==> {}, round {round}", duel.group);
            for target in &duel.targets {
                let (run, cpu, rss) = measure(dir.path(), &script, target, &settings)?;
                rows.push(Row {
                    group: duel.group,
                    target: target.name.to_owned(),
                    round,
                    run,
                    cpu_us_per_req: Some(cpu),
                    rss_mib: Some(rss),
                });
            }
        }
    }
    drop(logging);
    drop(fast);
    drop(upstream);

    // Proxy overhead: the same endpoint directly and through web-proxy.
    println!("==> proxy overhead");
    let was_addr = s.was[0].addr;
    for (target, addr) in [
        ("client → WAS", was_addr),
        ("client → web-proxy → WAS", proxy),
    ] {
        let run = wrk::run(
            &script,
            &format!("http://{addr}/api/tags"),
            settings.connections,
            settings.duration,
            &[],
        )?;
        rows.push(Row {
            group: OVERHEAD,
            target: target.into(),
            round: 1,
            run,
            cpu_us_per_req: None,
            rss_mib: None,
        });
    }

    // The WAS against the same work without its layers, and the hello ceiling, in rounds.
    let cookie = format!("Cookie: {}", seeded.cookie);
    let was_duels = vec![
        Duel {
            group: "WAS: public store list (3 queries)",
            targets: vec![
                Target {
                    name: "same work, bare axum",
                    load: wrk(
                        base_addr,
                        &format!("/regions/{}/stores", seeded.region),
                        &[],
                    ),
                    pids: vec![base.pid()],
                },
                Target {
                    name: "WAS",
                    load: wrk(
                        was_addr,
                        &format!("/api/regions/{}/stores", seeded.region),
                        &[],
                    ),
                    pids: vec![was_pid],
                },
            ],
        },
        Duel {
            group: "WAS: logged-in /api/me (Redis + 2 queries)",
            targets: vec![
                Target {
                    name: "same work, bare axum",
                    load: wrk(base_addr, "/me", std::slice::from_ref(&cookie)),
                    pids: vec![base.pid()],
                },
                Target {
                    name: "WAS",
                    load: wrk(was_addr, "/api/me", std::slice::from_ref(&cookie)),
                    pids: vec![was_pid],
                },
            ],
        },
    ];
    for duel in &was_duels {
        for round in 1..=settings.rounds {
            println!("==> {}, round {round}", duel.group);
            for target in &duel.targets {
                let (run, cpu, _) = measure(dir.path(), &script, target, &settings)?;
                if run.errors > 0 {
                    return Err(format!(
                        "{} / {}: {} requests failed",
                        duel.group, target.name, run.errors
                    ));
                }
                rows.push(Row {
                    group: duel.group,
                    target: target.name.to_owned(),
                    round,
                    run,
                    cpu_us_per_req: Some(cpu),
                    rss_mib: None,
                });
            }
        }
    }
    println!("==> the hello ceiling and the rent/return cycle");
    let ceiling = wrk::run(
        &script,
        &format!("http://{hello_addr}/hello"),
        settings.connections,
        settings.duration,
        &[],
    )?;
    rows.push(Row {
        group: CEILING,
        target: "bare axum hello".into(),
        round: 1,
        run: ceiling,
        cpu_us_per_req: None,
        rss_mib: None,
    });
    let inside = match s.was[0].admin {
        Some(admin) => {
            measure::was_inside(admin, &["/api/regions/{id}/stores", "/api/me", "/api/tags"]).await
        }
        None => None,
    };
    let cpu = Cpu::start(&[was_pid]);
    let cycle = measure::rent_return(
        &format!("http://{was_addr}"),
        &seeded.users,
        settings.duration,
    )
    .await?;
    let cycle_cpu = cpu.per_request_us(&[was_pid], cycle.requests);
    rows.push(Row {
        group: CYCLE,
        target: "WAS".into(),
        round: 1,
        run: cycle,
        cpu_us_per_req: Some(cycle_cpu),
        rss_mib: None,
    });
    // The WAS's memory once the mixed load above is over, before the flood.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled_was_rss = rss_kib(was_pid) as f64 / 1024.0;

    // A password-guessing flood through web-proxy, before the footprint readings.
    println!("==> login flood");
    let was_pids: Vec<i32> = s
        .was
        .iter()
        .filter_map(|w| w.process().map(Process::pid))
        .collect();
    let flood = measure::login_flood(
        &format!("http://{proxy}"),
        if smoke { 16 } else { 64 },
        if smoke {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        },
        &was_pids,
    )
    .await?;

    // Footprint and recovery.
    println!("==> footprint and recovery");
    let loaded_proxy_rss = measure::peak_rss_kib(proxy_pid) as f64 / 1024.0;
    let loaded_was_rss = measure::peak_rss_kib(was_pid) as f64 / 1024.0;
    let nginx_rss = nginx.pids().iter().map(|p| rss_kib(*p)).sum::<u64>() as f64 / 1024.0;
    let was_start = measure::start_to_health(&bins.was, &s, 5)?;
    let proxy_start = measure::start_to_health(&bins.web_proxy, &s, 5)?;
    let admin = s.proxies[0]
        .admin
        .ok_or("web-proxy has no admin listener")?;
    let eject = measure::sigstop_to_ejection(&mut s, admin, &script, proxy).await?;
    let images = measure::image_sizes();

    let md = report(
        &rows,
        smoke,
        &Footprint {
            inside,
            settled_was_rss,
            idle_proxy_rss,
            idle_was_rss,
            loaded_proxy_rss,
            loaded_was_rss,
            nginx_rss,
            was_start,
            proxy_start,
            eject,
            images,
            flood,
        },
    );
    let out = root.join("bench").join("results");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let path = out.join(if smoke { "smoke.md" } else { "latest.md" });
    std::fs::write(&path, &md).map_err(|e| e.to_string())?;
    if !smoke {
        plot::write(&summarize(&rows), &out)?;
    }
    println!("\n{md}");
    drop(nginx);
    s.shutdown();
    Ok(path)
}

struct Seeded {
    region: i64,
    cookie: String,
    /// Whom `cookie` is logged in as.
    user_id: i64,
    users: Vec<(reqwest::Client, i64, i64)>,
}

async fn seed(s: &Stack) -> Result<Seeded, String> {
    let region = s.seed_region("bench").map_err(|e| e.to_string())?;
    let users_store = s
        .seed_store(
            region,
            &StoreSeed {
                name: "bench",
                umbrellas: 1000..1016,
                ..StoreSeed::default()
            },
        )
        .map_err(|e| e.to_string())?;
    for i in 0..8 {
        let name = format!("store {i}");
        let seed = StoreSeed {
            name: &name,
            ..StoreSeed::default()
        };
        s.seed_store(region, &seed).map_err(|e| e.to_string())?;
    }
    let base = s.was[0].url("");
    let mut users = Vec::new();
    let mut cookie = String::new();
    let mut user_id = 0;
    for i in 0..16 {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .map_err(|e| e.to_string())?;
        let r = client
            .post(format!("{base}/api/auth/signup"))
            .json(&json!({"email": format!("bench{i}@example.com"), "password": "password123", "name": "벤치", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if i == 0 {
            cookie = r
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .unwrap_or_default()
                .to_owned();
            let me: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
            user_id = me["id"]
                .as_i64()
                .ok_or_else(|| format!("sign-up answered without an id: {me}"))?;
        }
        client
            .put(format!("{base}/api/me/bank-account"))
            .json(&json!({"bank_name": "신한", "account_number": "110123456789"}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        users.push((client, users_store.umbrellas[i], users_store.id));
    }
    Ok(Seeded {
        region,
        cookie,
        user_id,
        users,
    })
}

pub struct Footprint {
    inside: Option<measure::WasInside>,
    settled_was_rss: f64,
    idle_proxy_rss: f64,
    idle_was_rss: f64,
    loaded_proxy_rss: f64,
    loaded_was_rss: f64,
    nginx_rss: f64,
    was_start: Duration,
    proxy_start: Duration,
    eject: Duration,
    images: Option<(f64, f64)>,
    flood: measure::Flood,
}

const OVERHEAD: &str = "overhead: GET /api/tags";
const CEILING: &str = "ceiling";
const CYCLE: &str = "WAS: rent/return cycle (2 requests, transactional)";

/// CPU units of the task definitions (ecs/task-definitions), 1024 to a vCPU.
const WAS_TASK_CPU: f64 = 512.0;
const PROXY_TASK_CPU: f64 = 256.0;
/// Auto-scaling aims at this share of a task's capacity: room for the minutes a scale-out
/// takes, and for a replica lost meanwhile.
const SCALING_HEADROOM: f64 = 0.5;

fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A target in a benchmark over its rounds: medians, and the spread of throughput.
pub struct Summary {
    pub group: &'static str,
    pub target: String,
    pub rounds: usize,
    pub rps: f64,
    pub rps_min: f64,
    pub rps_max: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub cpu_us: Option<f64>,
    pub rss_mib: Option<f64>,
    pub errors: u64,
}

pub fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut keys: Vec<(&'static str, &str)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.group, r.target.as_str())) {
            keys.push((r.group, r.target.as_str()));
        }
    }
    keys.into_iter()
        .map(|(group, target)| {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|r| r.group == group && r.target == target)
                .collect();
            let pick =
                |f: &dyn Fn(&Row) -> f64| median(&mut sel.iter().map(|r| f(r)).collect::<Vec<_>>());
            let rps: Vec<f64> = sel.iter().map(|r| r.run.rps()).collect();
            let cpu: Vec<f64> = sel.iter().filter_map(|r| r.cpu_us_per_req).collect();
            Summary {
                group,
                target: target.to_owned(),
                rounds: sel.len(),
                rps: pick(&|r| r.run.rps()),
                rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
                rps_max: rps.iter().copied().fold(0.0, f64::max),
                p50_us: pick(&|r| r.run.p50_us as f64),
                p99_us: pick(&|r| r.run.p99_us as f64),
                p999_us: pick(&|r| r.run.p999_us as f64),
                cpu_us: (!cpu.is_empty()).then(|| median(&mut cpu.clone())),
                rss_mib: sel.iter().filter_map(|r| r.rss_mib).reduce(f64::max),
                errors: sel.iter().map(|r| r.run.errors).sum(),
            }
        })
        .collect()
}

fn find<'a>(summaries: &'a [Summary], group: &str, target: &str) -> Option<&'a Summary> {
    summaries
        .iter()
        .find(|s| s.group == group && s.target == target)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

fn report(rows: &[Row], smoke: bool, f: &Footprint) -> String {
    let summaries = summarize(rows);
    let mut md = String::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let rounds = summaries.iter().map(|s| s.rounds).max().unwrap_or(0);
    let _ = writeln!(
        md,
        "# upbrella benchmarks{}\n",
        if smoke {
            " (smoke run: numbers mean nothing)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        md,
        "Release builds on loopback, {cores} cores shared by the load generator and every server; \
         wrk with {} connections (h2load: 16 connections × 4 streams). Targets of a benchmark take \
         turns (A B A B …) for {rounds} rounds; the tables give the median of the rounds and the \
         spread of throughput (lowest–highest). The fast upstream is one nginx worker answering a \
         fixed 70-byte JSON body; both proxies forward to it with upstream keep-alive. Access logs \
         off unless said. CPU µs/req: the target's user + system CPU time over its requests. \
         Produced by `scripts/bench.sh` on {}.\n",
        rows.first().map_or(0, |r| r.run.connections),
        measure::today()
    );
    let _ = writeln!(
        md,
        "| benchmark | target | req/s (median) | spread | p50 ms | p99 ms | p99.9 ms | CPU µs/req | RSS MiB | errors |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for s in &summaries {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            s.group,
            s.target,
            s.rps,
            if s.rounds > 1 {
                format!("{:.0}–{:.0}", s.rps_min, s.rps_max)
            } else {
                "1 run".into()
            },
            ms(s.p50_us),
            ms(s.p99_us),
            ms(s.p999_us),
            s.cpu_us.map_or("-".into(), |c| format!("{c:.1}")),
            s.rss_mib.map_or("-".into(), |m| format!("{m:.1}")),
            s.errors
        );
    }

    let _ = writeln!(
        md,
        "\n## web-proxy against nginx\n\nGoal: throughput ≥ 1.2× nginx's, p99 ≤ nginx's, CPU per request ≤ nginx's.\n"
    );
    let _ = writeln!(
        md,
        "| benchmark | throughput | p99 | CPU per request | memory |\n| --- | ---: | ---: | ---: | ---: |"
    );
    let mut groups: Vec<&'static str> = Vec::new();
    for s in &summaries {
        if s.target == "nginx" && !groups.contains(&s.group) {
            groups.push(s.group);
        }
    }
    for group in groups {
        let (Some(n), Some(w)) = (
            find(&summaries, group, "nginx"),
            find(&summaries, group, "web-proxy"),
        ) else {
            continue;
        };
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let rps = ratio(w.rps, n.rps);
        let p99 = ratio(w.p99_us, n.p99_us);
        let cpu = ratio(w.cpu_us.unwrap_or(0.0), n.cpu_us.unwrap_or(0.0));
        let mem = ratio(w.rss_mib.unwrap_or(0.0), n.rss_mib.unwrap_or(0.0));
        let _ = writeln!(
            md,
            "| {group} | **{rps:.2}×** ({}) | {p99:.2}× ({}) | {cpu:.2}× ({}) | {mem:.2}× |",
            verdict(rps >= 1.2),
            verdict(p99 <= 1.0),
            verdict(cpu <= 1.0),
        );
    }
    // What a feature costs: web-proxy with it against web-proxy without, in the same rounds.
    let group = "forward, keep-alive (fast upstream)";
    for (target, feature) in [
        (
            "web-proxy, access log on",
            "The access log (one JSON line per request, to a file)",
        ),
        (
            "web-proxy, client accepts gzip",
            "Compression (gzip at the fastest level of the 70-byte answer, for a client that accepts it)",
        ),
    ] {
        if let (Some(plain), Some(with)) = (
            find(&summaries, group, "web-proxy"),
            find(&summaries, group, target),
        ) {
            let _ = writeln!(
                md,
                "{feature}: {:.2}× the throughput, {:+.1} µs CPU per request.",
                with.rps / plain.rps.max(1.0),
                with.cpu_us.unwrap_or(0.0) - plain.cpu_us.unwrap_or(0.0)
            );
        }
    }
    if let (Some(d), Some(v)) = (
        find(&summaries, OVERHEAD, "client → WAS"),
        find(&summaries, OVERHEAD, "client → web-proxy → WAS"),
    ) {
        let _ = writeln!(
            md,
            "Through web-proxy / straight to one WAS replica: **{:.2}×** throughput (the WAS is the bottleneck there; web-proxy balances over two replicas).",
            v.rps / d.rps.max(1.0)
        );
    }

    let _ = writeln!(
        md,
        "\n## The WAS against the same work\n\nGoal: ≥ 0.8× of a bare axum server doing the same Redis read and SQL (`bench/src/same_work.rs`).\n"
    );
    for group in [
        "WAS: public store list (3 queries)",
        "WAS: logged-in /api/me (Redis + 2 queries)",
    ] {
        if let (Some(b), Some(w)) = (
            find(&summaries, group, "same work, bare axum"),
            find(&summaries, group, "WAS"),
        ) {
            let ratio = w.rps / b.rps.max(1.0);
            let _ = writeln!(
                md,
                "- {group}: WAS **{ratio:.2}×** the same work ({}); CPU per request {:.0} µs against {:.0} µs",
                verdict(ratio >= 0.8),
                w.cpu_us.unwrap_or(0.0),
                b.cpu_us.unwrap_or(0.0)
            );
        }
    }
    if let Some(c) = find(&summaries, CEILING, "bare axum hello") {
        let _ = writeln!(
            md,
            "- for scale, the bare axum hello: {:.0} requests/s",
            c.rps
        );
    }
    let _ = writeln!(
        md,
        "- WAS RSS after the mixed load (settled, before the login flood): {:.1} MiB (goal ≤ 64 MiB: {})",
        f.settled_was_rss,
        verdict(f.settled_was_rss <= 64.0)
    );

    match &f.inside {
        Some(inside) => {
            let _ = writeln!(
                md,
                "\nFrom was-1's own metrics (its admin listener) after these runs: database pool {:.0} of {:.0} connections open; session store (Redis) {:.0} operations, {:.2} ms on average, {:.0} failed.\n",
                inside.pool_connections,
                inside.pool_max,
                inside.session_ops,
                inside.session_mean_ms,
                inside.session_errors
            );
            let _ = writeln!(
                md,
                "| route | requests | mean ms to the response head |\n| --- | ---: | ---: |"
            );
            for (route, count, mean) in &inside.routes {
                let _ = writeln!(md, "| `{route}` | {count:.0} | {mean:.2} |");
            }
        }
        None => {
            let _ = writeln!(md, "\nwas-1's metrics could not be read.");
        }
    }

    capacity(&mut md, &summaries);

    let _ = writeln!(md, "\n## Footprint and recovery\n");
    let _ = writeln!(md, "| measure | value |\n| --- | ---: |");
    let _ = writeln!(
        md,
        "| web-proxy RSS idle / after load (peak) | {:.1} / {:.1} MiB |",
        f.idle_proxy_rss, f.loaded_proxy_rss
    );
    let _ = writeln!(
        md,
        "| nginx RSS after load (master + workers) | {:.1} MiB |",
        f.nginx_rss
    );
    let _ = writeln!(
        md,
        "| WAS RSS idle / after the mixed load / peak (with the login flood) | {:.1} / {:.1} / {:.1} MiB |",
        f.idle_was_rss, f.settled_was_rss, f.loaded_was_rss
    );
    let _ = writeln!(
        md,
        "| WAS process start → /health 200 (median of 5) | {:.0} ms |",
        f.was_start.as_secs_f64() * 1000.0
    );
    let _ = writeln!(
        md,
        "| web-proxy process start → /health 200 (median of 5) | {:.0} ms |",
        f.proxy_start.as_secs_f64() * 1000.0
    );
    let _ = writeln!(
        md,
        "| SIGSTOP of a WAS → ejected by web-proxy (under load) | {:.0} ms |",
        f.eject.as_secs_f64() * 1000.0
    );
    match f.images {
        Some((was, proxy)) => {
            let _ = writeln!(
                md,
                "| image size: was / web-proxy | {was:.1} / {proxy:.1} MB |"
            );
        }
        None => {
            let _ = writeln!(
                md,
                "| image sizes | no Docker engine or images here (see scripts/docker-e2e.sh) |"
            );
        }
    }
    let fl = &f.flood;
    let _ = writeln!(
        md,
        "\n## Login flood\n\n{} clients posting wrong passwords through web-proxy for {} s, a new e-mail \
         each time (many attackers: per-account limits never trip; the per-address limit is off for \
         this run). {} requests: {} checked (401), {} refused at once (503, hash queue full), {} other.\n",
        fl.clients,
        fl.duration.as_secs(),
        fl.requests,
        fl.checked,
        fl.refused,
        fl.other
    );
    let _ = writeln!(
        md,
        "| WAS replica | RSS before | peak during | 3 s after |\n| --- | ---: | ---: | ---: |"
    );
    for (i, (before, peak, after)) in fl.rss.iter().enumerate() {
        let _ = writeln!(
            md,
            "| was-{} | {:.1} MiB | {:.1} MiB{} | {:.1} MiB |",
            i + 1,
            *before as f64 / 1024.0,
            *peak as f64 / 1024.0,
            if *peak < 256 * 1024 {
                " (target < 256: met)"
            } else {
                " (target < 256: **not met**)"
            },
            *after as f64 / 1024.0
        );
    }
    let _ = writeln!(md, "\n## Every round\n");
    let _ = writeln!(
        md,
        "| benchmark | target | round | req/s | p99 ms | CPU µs/req |\n| --- | --- | ---: | ---: | ---: | ---: |"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {} | {} |",
            r.group,
            r.target,
            r.round,
            r.run.rps(),
            ms(r.run.p99_us as f64),
            r.cpu_us_per_req.map_or("-".into(), |c| format!("{c:.1}"))
        );
    }
    if !smoke {
        let _ = writeln!(
            md,
            "\n![throughput](throughput.svg)\n![latency](latency.svg)"
        );
    }
    md
}

/// Requests per second one task sustains at its task definition's CPU, from the CPU each
/// request cost here, and the auto-scaling target (ALBRequestCountPerTarget, per minute)
/// that follows.
fn capacity(md: &mut String, summaries: &[Summary]) {
    let _ = writeln!(
        md,
        "\n## Capacity per task\n\nFrom the CPU time per request measured above, scaled to the task definitions' CPU \
         ({PROXY_TASK_CPU:.0} units for web-proxy, {WAS_TASK_CPU:.0} for the WAS; 1024 to a vCPU). This machine's cores \
         are not Fargate's or EC2's: read the figures as the order of magnitude. Scaling targets aim at \
         {:.0}% of a task's capacity, for the heaviest common request of each tier; logins are bounded \
         separately by the hash queue (tens of milliseconds of CPU each).\n",
        SCALING_HEADROOM * 100.0
    );
    let _ = writeln!(
        md,
        "| task | request | CPU µs/req | req/s per task | scaling target (requests per target per minute) |\n| --- | --- | ---: | ---: | ---: |"
    );
    let rows = [
        (
            "web-proxy",
            "forward, keep-alive (fast upstream)",
            "web-proxy",
            PROXY_TASK_CPU,
        ),
        (
            "web-proxy",
            "static file (GET /index.html)",
            "web-proxy",
            PROXY_TASK_CPU,
        ),
        (
            "WAS",
            "WAS: public store list (3 queries)",
            "WAS",
            WAS_TASK_CPU,
        ),
        (
            "WAS",
            "WAS: logged-in /api/me (Redis + 2 queries)",
            "WAS",
            WAS_TASK_CPU,
        ),
        ("WAS", CYCLE, "WAS", WAS_TASK_CPU),
    ];
    for (task, group, target, units) in rows {
        let Some(cpu) = find(summaries, group, target).and_then(|s| s.cpu_us) else {
            continue;
        };
        if cpu <= 0.0 {
            continue;
        }
        let per_task = 1e6 / cpu * units / 1024.0;
        let _ = writeln!(
            md,
            "| {task} | {group} | {cpu:.0} | {per_task:.0} | {:.0} |",
            per_task * 60.0 * SCALING_HEADROOM
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn help_does_not_run_the_benchmark_and_unknown_flags_fail() {
        Cli::command().debug_assert();
        let help = Cli::try_parse_from(["bench", "--help"])
            .err()
            .map(|e| e.kind());
        assert_eq!(help, Some(clap::error::ErrorKind::DisplayHelp));
        let unknown = Cli::try_parse_from(["bench", "--rounds", "3"])
            .err()
            .map(|e| e.kind());
        assert_eq!(unknown, Some(clap::error::ErrorKind::UnknownArgument));
        let smoke = Cli::try_parse_from(["bench", "--smoke"]).expect("--smoke parses");
        assert!(smoke.smoke && smoke.command.is_none());
        let same = Cli::try_parse_from([
            "bench",
            "same-work",
            "19002",
            "--database-url",
            "postgres://x",
            "--redis-url",
            "redis://x",
            "--cookie",
            "id",
            "--user-id",
            "1",
        ])
        .expect("same-work parses");
        assert!(matches!(
            same.command,
            Some(Command::SameWork {
                port: 19002,
                pool_size: 16,
                ..
            })
        ));
        let hello = Cli::try_parse_from(["bench", "hello", "19001"]).expect("hello parses");
        assert!(matches!(
            hello.command,
            Some(Command::Hello { port: 19001 })
        ));
    }
}
