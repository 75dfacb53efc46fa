//! One benchmark run from start to end: the topology and the servers it is measured
//! against, the benchmarks in order, the footprint, and the report written out.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stack::process::{Process, Spec};
use stack::{Binaries, Options, Stack};

use crate::duels::{Bench, ProxyTargets, Row, Settings, proxy_duels, was_duels};
use crate::measure::{self, Cpu, rss_kib};
use crate::report::{CEILING, CYCLE, Footprint, OVERHEAD, report, summarize};
use crate::seed::{Seeded, seed};
use crate::{h2load, haproxy, nginx, plot, wrk};

pub async fn run(smoke: bool) -> Result<PathBuf, String> {
    let root = stack::topology::workspace_root();
    let bins = Binaries::in_target("release").map_err(|e| e.to_string())?;
    let settings = Settings::new(smoke);
    wrk::check()?;
    h2load::check()?;
    let dir = stack::TempDir::new("upbrella-bench").map_err(|e| e.to_string())?;
    let mut s = start_topology(&bins, &root, dir.path())?;
    let proxy = s.proxies[0].addr;
    let proxy_pid = s.proxies[0].process().map(Process::pid).unwrap_or_default();
    let was_pid = s.was[0].process().map(Process::pid).unwrap_or_default();
    let idle_proxy_rss = rss_kib(proxy_pid) as f64 / 1024.0;
    let idle_was_rss = rss_kib(was_pid) as f64 / 1024.0;
    let seeded = seed(&s).await?;
    let fronts = Fronts::start(&bins, dir.path(), &root, &s)?;
    let baselines = Baselines::start(dir.path(), &s, &seeded)?;

    let mut rows = Vec::new();
    let script = root.join("bench").join("report.lua");
    let bench = Bench {
        dir: dir.path(),
        script: &script,
        settings: &settings,
    };
    let targets = ProxyTargets {
        nginx: fronts.nginx,
        fast_addr: fronts.fast_addr,
        fast_pid: fronts.fast.pid(),
        hyper_addr: fronts.hyper_addr,
        hyper_pid: fronts.hyper.pid(),
        haproxy: (fronts.haproxy.addr, fronts.haproxy.pid()),
        logging_addr: fronts.logging_addr,
        logging_pid: fronts.logging.pid(),
        proxy,
        proxy_pid,
    };
    for duel in &proxy_duels(&targets) {
        duel.run(&bench, false, &mut rows)?;
    }
    drop(fronts.logging);
    drop(fronts.hyper);
    drop(fronts.haproxy);
    drop(fronts.fast);
    drop(fronts.upstream);
    let nginx = targets.nginx;

    // Proxy overhead: the same endpoint directly and through web-proxy.
    println!("==> proxy overhead");
    let was_addr = s.was[0].addr;
    for (target, addr) in [
        ("client → WAS", was_addr),
        ("client → web-proxy → WAS", proxy),
    ] {
        let run = wrk_once(&bench, &format!("http://{addr}/api/tags"))?;
        rows.push(single(OVERHEAD, target, run, None));
    }

    // The WAS against the same work without its layers, and the hello ceiling, in rounds.
    let base = (baselines.base_addr, baselines.base.pid());
    for duel in &was_duels(&seeded, base, (was_addr, was_pid)) {
        duel.run(&bench, true, &mut rows)?;
    }
    let inside = ceiling_and_cycle(&bench, &s, baselines.hello_addr, &seeded, &mut rows).await?;
    // The WAS's memory once the mixed load above is over, before the flood.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled_was_rss = rss_kib(was_pid) as f64 / 1024.0;

    let rush = crate::rush::run(&s, smoke).await?;
    let flood = login_flood(&s, proxy, smoke).await?;

    // Footprint and recovery.
    println!("==> footprint and recovery");
    let footprint = Footprint {
        inside,
        settled_was_rss,
        idle_proxy_rss,
        idle_was_rss,
        loaded_proxy_rss: measure::peak_rss_kib(proxy_pid) as f64 / 1024.0,
        loaded_was_rss: measure::peak_rss_kib(was_pid) as f64 / 1024.0,
        nginx_rss: nginx.pids().iter().map(|p| rss_kib(*p)).sum::<u64>() as f64 / 1024.0,
        was_start: measure::start_to_health(&bins.was, &s, 5)?,
        proxy_start: measure::start_to_health(&bins.web_proxy, &s, 5)?,
        eject: {
            let admin = s.proxies[0]
                .admin
                .ok_or("web-proxy has no admin listener")?;
            measure::sigstop_to_ejection(&mut s, admin, &script, proxy).await?
        },
        images: measure::image_sizes(),
        flood,
        rush,
    };
    let path = write_results(&root, &rows, smoke, &footprint)?;
    drop(nginx);
    s.shutdown();
    drop(baselines);
    Ok(path)
}

/// Only the rush, on a topology of its own (`bench rush`).
pub async fn rush_only(smoke: bool) -> Result<PathBuf, String> {
    let root = stack::topology::workspace_root();
    let bins = Binaries::in_target("release").map_err(|e| e.to_string())?;
    let dir = stack::TempDir::new("upbrella-rush").map_err(|e| e.to_string())?;
    let mut s = start_topology(&bins, &root, dir.path())?;
    let rush = crate::rush::run(&s, smoke).await;
    s.shutdown();
    let rush = rush?;
    let mut md = String::from("# upbrella: the rainy-morning rush\n");
    crate::rush_report::write(&mut md, &rush);
    let out = root.join("bench").join("results");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let path = out.join("rush.md");
    std::fs::write(&path, &md).map_err(|e| e.to_string())?;
    crate::rush_report::plot(&rush, &out)?;
    println!("\n{md}");
    Ok(path)
}

/// The hello ceiling, what was-1's own metrics say so far, and the rent/return cycle.
async fn ceiling_and_cycle(
    bench: &Bench<'_>,
    s: &Stack,
    hello_addr: SocketAddr,
    seeded: &Seeded,
    rows: &mut Vec<Row>,
) -> Result<Option<measure::WasInside>, String> {
    let was_addr = s.was[0].addr;
    let was_pid = s.was[0].process().map(Process::pid).unwrap_or_default();
    println!("==> the hello ceiling and the rent/return cycle");
    let ceiling = wrk_once(bench, &format!("http://{hello_addr}/hello"))?;
    rows.push(single(CEILING, "bare axum hello", ceiling, None));
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
        bench.settings.duration,
    )
    .await?;
    let cycle_cpu = cpu.per_request_us(&[was_pid], cycle.requests);
    rows.push(single(CYCLE, "WAS", cycle, Some(cycle_cpu)));
    Ok(inside)
}

/// The topology from release binaries: Redis, PostgreSQL, two WAS, web-proxy.
fn start_topology(bins: &Binaries, root: &Path, dir: &Path) -> Result<Stack, String> {
    println!("==> starting the topology (release): Redis, PostgreSQL, 2 WAS, web-proxy");
    let mut options = Options::new(dir.to_path_buf());
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
    Stack::start(bins, options).map_err(|e| e.to_string())
}

/// What the proxies are compared in front of: the fast upstream, nginx over it and over
/// the WAS, and two web-proxies of the benchmark's own over it (one logging access).
struct Fronts {
    upstream: nginx::Upstream,
    nginx: nginx::Nginx,
    haproxy: haproxy::HaProxy,
    fast: Process,
    fast_addr: SocketAddr,
    hyper: Process,
    hyper_addr: SocketAddr,
    logging: Process,
    logging_addr: SocketAddr,
}

impl Fronts {
    fn start(bins: &Binaries, dir: &Path, root: &Path, s: &Stack) -> Result<Self, String> {
        println!(
            "==> starting the fast upstream, nginx, HAProxy, and web-proxies in front of the fast upstream"
        );
        let upstream = nginx::Upstream::start(dir)?;
        let upstreams: Vec<_> = s.was.iter().map(|w| w.addr).collect();
        let nginx = nginx::Nginx::start(dir, &upstreams, upstream.addr, &root.join("web"))?;
        let haproxy = haproxy::HaProxy::start(dir, upstream.addr)?;
        let quiet = ("warn", "lean");
        let (fast, fast_addr) = fast_proxy(bins, dir, "web-proxy-fast", upstream.addr, quiet)?;
        let (hyper, hyper_addr) = fast_proxy(
            bins,
            dir,
            "web-proxy-fast-hyper",
            upstream.addr,
            ("warn", "hyper"),
        )?;
        let (logging, logging_addr) = fast_proxy(
            bins,
            dir,
            "web-proxy-fast-logging",
            upstream.addr,
            ("warn,access=info", "lean"),
        )?;
        Ok(Self {
            upstream,
            nginx,
            haproxy,
            fast,
            fast_addr,
            hyper,
            hyper_addr,
            logging,
            logging_addr,
        })
    }
}

/// A web-proxy of the benchmark's own, in front of the fast upstream, with its log filter
/// and forwarding path.
fn fast_proxy(
    bins: &Binaries,
    dir: &Path,
    name: &'static str,
    upstream: SocketAddr,
    (log, forwarding): (&str, &str),
) -> Result<(Process, SocketAddr), String> {
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
            .env("WEB_PROXY_FORWARDING", forwarding)
            .log(dir.join(format!("{name}.log"))),
    )
    .map_err(|e| e.to_string())?;
    let addr: SocketAddr = format!("127.0.0.1:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    stack::wait_http_ok(addr, "/api/health", Duration::from_secs(10))?;
    Ok((process, addr))
}

/// The bare axum servers: the hello ceiling and the same-work baseline (this binary's
/// own subcommands).
struct Baselines {
    _hello: Process,
    hello_addr: SocketAddr,
    base: Process,
    base_addr: SocketAddr,
}

impl Baselines {
    fn start(dir: &Path, s: &Stack, seeded: &Seeded) -> Result<Self, String> {
        println!("==> starting the hello ceiling and the same-work baseline");
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let hello_port = stack::free_port().map_err(|e| e.to_string())?;
        let hello = Process::spawn(
            Spec::new("hello", &me)
                .arg("hello")
                .arg(hello_port.to_string()),
        )
        .map_err(|e| e.to_string())?;
        let hello_addr: SocketAddr = format!("127.0.0.1:{hello_port}")
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
                .log(dir.join("same-work.log")),
        )
        .map_err(|e| e.to_string())?;
        let base_addr: SocketAddr = format!("127.0.0.1:{base_port}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        stack::wait_http_ok(base_addr, "/health", Duration::from_secs(10))?;
        Ok(Self {
            _hello: hello,
            hello_addr,
            base,
            base_addr,
        })
    }
}

/// One wrk run, no rounds.
fn wrk_once(bench: &Bench<'_>, url: &str) -> Result<wrk::Run, String> {
    wrk::run(
        bench.script,
        url,
        bench.settings.connections,
        bench.settings.duration,
        &[],
    )
}

/// The row of a target measured once.
fn single(group: &'static str, target: &str, run: wrk::Run, cpu: Option<f64>) -> Row {
    Row {
        group,
        target: target.into(),
        round: 1,
        run,
        cpu_us_per_req: cpu,
        rss_mib: None,
    }
}

/// A password-guessing flood through web-proxy, before the footprint readings.
async fn login_flood(s: &Stack, proxy: SocketAddr, smoke: bool) -> Result<measure::Flood, String> {
    println!("==> login flood");
    let was_pids: Vec<i32> = s
        .was
        .iter()
        .filter_map(|w| w.process().map(Process::pid))
        .collect();
    measure::login_flood(
        &format!("http://{proxy}"),
        if smoke { 16 } else { 64 },
        if smoke {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        },
        &was_pids,
    )
    .await
}

/// The report to bench/results (`latest.md`, or `smoke.md`), the plots with a full run,
/// and the report on stdout.
fn write_results(
    root: &Path,
    rows: &[Row],
    smoke: bool,
    footprint: &Footprint,
) -> Result<PathBuf, String> {
    let md = report(rows, smoke, footprint);
    let out = root.join("bench").join("results");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let path = out.join(if smoke { "smoke.md" } else { "latest.md" });
    std::fs::write(&path, &md).map_err(|e| e.to_string())?;
    if !smoke {
        plot::write(&summarize(rows), &out)?;
        crate::rush_report::plot(&footprint.rush, &out)?;
    }
    println!("\n{md}");
    Ok(path)
}
