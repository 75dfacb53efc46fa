//! `bench`: the performance numbers of upbrella, side by side, from one command
//! (`scripts/bench.sh`). Starts the real topology from release binaries on loopback,
//! nginx as a competent production proxy over the same upstreams, and a bare axum
//! "hello" server as the WAS's ceiling; drives them with wrk; writes
//! `bench/results/latest.md` and SVG plots.
//!
//! Load generator: wrk (Debian's package). It is the tool nginx's own figures are usually
//! quoted with, it keeps connections alive, reports latency percentiles through its Lua
//! hook, and costs little CPU per request, which matters when client and servers share
//! two cores. The rent/return cycle needs per-user sessions and state, so it runs in a
//! small Rust client instead.

mod measure;
mod nginx;
mod plot;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Hello { port }) = cli.command {
        return hello(port);
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

pub struct Row {
    pub group: &'static str,
    pub target: String,
    pub run: Run,
    pub cpu_us_per_req: Option<f64>,
    pub rss_mib: Option<f64>,
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
            duration: Duration::from_secs(8),
            rounds: 2,
            connections: 64,
        }
    };
    wrk::check()?;
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
    ];
    options.proxy_env = vec![quiet, ("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into())];
    let mut s = Stack::start(&bins, options).map_err(|e| e.to_string())?;
    let proxy = s.proxies[0].addr;
    let proxy_pid = s.proxies[0].process().map(Process::pid).unwrap_or_default();
    let was_pid = s.was[0].process().map(Process::pid).unwrap_or_default();
    let idle_proxy_rss = rss_kib(proxy_pid) as f64 / 1024.0;
    let idle_was_rss = rss_kib(was_pid) as f64 / 1024.0;
    let seeded = seed(&s).await?;

    println!("==> starting nginx over the same upstreams");
    let upstreams: Vec<_> = s.was.iter().map(|w| w.addr).collect();
    let nginx = nginx::Nginx::start(dir.path(), &upstreams, &root.join("web"))?;

    println!("==> starting the hello ceiling");
    let hello_port = stack::free_port().map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
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

    let mut rows = Vec::new();
    let script = root.join("bench").join("report.lua");
    let c = settings.connections;

    // web-proxy against nginx, alternated A B A B in this one run.
    for (group, path) in [
        ("proxy: WAS endpoint (GET /api/tags)", "/api/tags"),
        ("proxy: static file (GET /index.html)", "/index.html"),
    ] {
        for round in 0..settings.rounds {
            println!("==> {group}, round {}", round + 1);
            let targets = [
                ("nginx", nginx.addr, nginx.pids()),
                ("web-proxy", proxy, vec![proxy_pid]),
            ];
            for (name, addr, pids) in targets {
                let cpu = Cpu::start(&pids);
                let run = wrk::run(
                    &script,
                    &format!("http://{addr}{path}"),
                    c,
                    settings.duration,
                    &[],
                )?;
                let cpu_us = cpu.per_request_us(&pids, run.requests);
                let rss = pids.iter().map(|p| rss_kib(*p)).sum::<u64>() as f64 / 1024.0;
                rows.push(Row {
                    group,
                    target: format!("{name} (round {})", round + 1),
                    run,
                    cpu_us_per_req: Some(cpu_us),
                    rss_mib: Some(rss),
                });
            }
        }
    }

    // Proxy overhead: the same endpoint directly and through web-proxy.
    println!("==> proxy overhead");
    let was_addr = s.was[0].addr;
    let direct = wrk::run(
        &script,
        &format!("http://{was_addr}/api/tags"),
        c,
        settings.duration,
        &[],
    )?;
    rows.push(Row {
        group: "overhead: GET /api/tags",
        target: "client → WAS".into(),
        run: direct,
        cpu_us_per_req: None,
        rss_mib: None,
    });
    let via = wrk::run(
        &script,
        &format!("http://{proxy}/api/tags"),
        c,
        settings.duration,
        &[],
    )?;
    rows.push(Row {
        group: "overhead: GET /api/tags",
        target: "client → web-proxy → WAS".into(),
        run: via,
        cpu_us_per_req: None,
        rss_mib: None,
    });

    // The WAS against its ceiling, directly (one replica).
    println!("==> WAS against the hello ceiling");
    let ceiling = wrk::run(
        &script,
        &format!("http://{hello_addr}/hello"),
        c,
        settings.duration,
        &[],
    )?;
    rows.push(Row {
        group: "WAS",
        target: "ceiling: bare axum hello".into(),
        run: ceiling,
        cpu_us_per_req: None,
        rss_mib: None,
    });
    let cpu = Cpu::start(&[was_pid]);
    let public = wrk::run(
        &script,
        &format!("http://{was_addr}/api/regions/{}/stores", seeded.region),
        c,
        settings.duration,
        &[],
    )?;
    let public_cpu = cpu.per_request_us(&[was_pid], public.requests);
    rows.push(Row {
        group: "WAS",
        target: "public DB read (store markers)".into(),
        run: public,
        cpu_us_per_req: Some(public_cpu),
        rss_mib: None,
    });
    let cookie = format!("Cookie: {}", seeded.cookie);
    let cpu = Cpu::start(&[was_pid]);
    let private = wrk::run(
        &script,
        &format!("http://{was_addr}/api/me"),
        c,
        settings.duration,
        &[&cookie],
    )?;
    let private_cpu = cpu.per_request_us(&[was_pid], private.requests);
    rows.push(Row {
        group: "WAS",
        target: "logged-in read (Redis session + DB)".into(),
        run: private,
        cpu_us_per_req: Some(private_cpu),
        rss_mib: None,
    });
    let cycle = measure::rent_return(
        &format!("http://{was_addr}"),
        &seeded.users,
        settings.duration,
    )
    .await?;
    rows.push(Row {
        group: "WAS",
        target: "rent/return cycle (2 requests, transactional)".into(),
        run: cycle,
        cpu_us_per_req: None,
        rss_mib: None,
    });

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
        plot::write(&rows, &out)?;
    }
    println!("\n{md}");
    drop(nginx);
    s.shutdown();
    Ok(path)
}

struct Seeded {
    region: i64,
    cookie: String,
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
        users,
    })
}

pub struct Footprint {
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

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Means over the rounds of one target in one group.
fn mean_rps(rows: &[Row], group: &str, prefix: &str) -> Option<(f64, f64, f64, f64)> {
    let sel: Vec<&Row> = rows
        .iter()
        .filter(|r| r.group == group && r.target.starts_with(prefix))
        .collect();
    if sel.is_empty() {
        return None;
    }
    let n = sel.len() as f64;
    let rps = sel.iter().map(|r| r.run.rps()).sum::<f64>() / n;
    let p99 = sel.iter().map(|r| r.run.p99_us as f64).sum::<f64>() / n;
    let cpu = sel.iter().filter_map(|r| r.cpu_us_per_req).sum::<f64>() / n;
    let rss = sel.iter().filter_map(|r| r.rss_mib).fold(0.0, f64::max);
    Some((rps, p99, cpu, rss))
}

fn report(rows: &[Row], smoke: bool, f: &Footprint) -> String {
    let mut md = String::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
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
        "Release builds on loopback, {cores} cores shared by client and servers; wrk with {} connections; \
         web-proxy and nginx alternate (A B A B) over the same two WAS replicas and the same files; \
         access logs off on both. Produced by `scripts/bench.sh` on {}.\n",
        rows.first().map_or(0, |r| r.run.connections),
        measure::today()
    );
    let _ = writeln!(
        md,
        "| benchmark | target | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | RSS MiB | errors |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.group,
            r.target,
            r.run.rps(),
            ms(r.run.p50_us),
            ms(r.run.p99_us),
            ms(r.run.p999_us),
            r.cpu_us_per_req.map_or("-".into(), |c| format!("{c:.1}")),
            r.rss_mib.map_or("-".into(), |m| format!("{m:.1}")),
            r.run.errors
        );
    }
    let _ = writeln!(md, "\n## Ratios\n");
    for group in [
        "proxy: WAS endpoint (GET /api/tags)",
        "proxy: static file (GET /index.html)",
    ] {
        if let (Some(n), Some(w)) = (
            mean_rps(rows, group, "nginx"),
            mean_rps(rows, group, "web-proxy"),
        ) {
            let _ = writeln!(
                md,
                "- {group}: web-proxy/nginx throughput **{:.2}×**, p99 {:.2}×, CPU per request {:.2}×, memory {:.2}×",
                w.0 / n.0,
                w.1 / n.1,
                if n.2 > 0.0 { w.2 / n.2 } else { 0.0 },
                if n.3 > 0.0 { w.3 / n.3 } else { 0.0 }
            );
        }
    }
    let find = |target: &str| {
        rows.iter()
            .find(|r| r.target == target)
            .map(|r| r.run.rps())
    };
    if let (Some(d), Some(v)) = (find("client → WAS"), find("client → web-proxy → WAS")) {
        let _ = writeln!(
            md,
            "- proxy overhead: through web-proxy / direct = **{:.2}×** throughput",
            v / d
        );
    }
    if let Some(ceiling) = find("ceiling: bare axum hello") {
        for t in [
            "public DB read (store markers)",
            "logged-in read (Redis session + DB)",
            "rent/return cycle (2 requests, transactional)",
        ] {
            if let Some(x) = find(t) {
                let _ = writeln!(
                    md,
                    "- WAS {t}: **{:.2}×** of the hello ceiling",
                    x / ceiling
                );
            }
        }
    }
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
        "| WAS RSS idle / after load (peak) | {:.1} / {:.1} MiB |",
        f.idle_was_rss, f.loaded_was_rss
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
    if !smoke {
        let _ = writeln!(
            md,
            "\n![throughput](throughput.svg)\n![latency](latency.svg)"
        );
    }
    md
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
        let hello = Cli::try_parse_from(["bench", "hello", "19001"]).expect("hello parses");
        assert!(matches!(
            hello.command,
            Some(Command::Hello { port: 19001 })
        ));
    }
}
