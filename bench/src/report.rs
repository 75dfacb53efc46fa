//! The results as markdown (bench/results/latest.md): a table of every target, then the
//! goals, the capacity per task, the footprint, the login flood and every round.

use std::fmt::Write as _;
use std::time::Duration;

use crate::duels::{HAPROXY, HYPER, ME, Row, STORE_LIST};
use crate::measure;

/// What was measured besides the benchmarks' rows.
pub struct Footprint {
    pub inside: Option<measure::WasInside>,
    pub settled_was_rss: f64,
    pub idle_proxy_rss: f64,
    pub idle_was_rss: f64,
    pub loaded_proxy_rss: f64,
    pub loaded_was_rss: f64,
    pub nginx_rss: f64,
    pub was_start: Duration,
    pub proxy_start: Duration,
    pub eject: Duration,
    pub images: Option<(f64, f64)>,
    pub flood: measure::Flood,
    pub rush: crate::rush::Rush,
}

pub const OVERHEAD: &str = "overhead: GET /api/tags";
pub const CEILING: &str = "ceiling";
pub const CYCLE: &str = "WAS: rent/return cycle (2 requests, transactional)";

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

pub fn report(rows: &[Row], smoke: bool, f: &Footprint) -> String {
    let summaries = summarize(rows);
    let mut md = String::new();
    results_table(&mut md, rows, &summaries, smoke);
    proxy_goals(&mut md, &summaries);
    was_goals(&mut md, &summaries, f);
    was_inside(&mut md, f);
    capacity(&mut md, &summaries);
    footprint_table(&mut md, f);
    login_flood(&mut md, f);
    crate::rush_report::write(&mut md, &f.rush);
    every_round(&mut md, rows, smoke);
    md
}

/// The heading, how the figures were taken, and the table of every target.
fn results_table(md: &mut String, rows: &[Row], summaries: &[Summary], smoke: bool) {
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
    for s in summaries {
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
}

/// web-proxy's goals against nginx, and what its features cost.
fn proxy_goals(md: &mut String, summaries: &[Summary]) {
    let _ = writeln!(
        md,
        "\n## web-proxy against nginx\n\nGoal: throughput ≥ 1.2× nginx's, p99 ≤ nginx's, CPU per request ≤ nginx's.\n"
    );
    let _ = writeln!(
        md,
        "| benchmark | throughput | p99 | CPU per request | memory |\n| --- | ---: | ---: | ---: | ---: |"
    );
    let mut groups: Vec<&'static str> = Vec::new();
    for s in summaries {
        if s.target == "nginx" && !groups.contains(&s.group) {
            groups.push(s.group);
        }
    }
    // web-proxy on its default (lean) path, on hyper's, and HAProxy for scale, each against
    // nginx in the same rounds.
    let contenders = [
        ("web-proxy", ""),
        (HYPER, ", hyper path"),
        (HAPROXY, ": HAProxy (a peer, for scale)"),
    ];
    for group in groups {
        let Some(n) = find(summaries, group, "nginx") else {
            continue;
        };
        for (target, label) in contenders {
            let Some(w) = find(summaries, group, target) else {
                continue;
            };
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
            let rps = ratio(w.rps, n.rps);
            let p99 = ratio(w.p99_us, n.p99_us);
            let cpu = ratio(w.cpu_us.unwrap_or(0.0), n.cpu_us.unwrap_or(0.0));
            let mem = ratio(w.rss_mib.unwrap_or(0.0), n.rss_mib.unwrap_or(0.0));
            let _ = writeln!(
                md,
                "| {group}{label} | **{rps:.2}×** ({}) | {p99:.2}× ({}) | {cpu:.2}× ({}) | {mem:.2}× |",
                verdict(rps >= 1.2),
                verdict(p99 <= 1.0),
                verdict(cpu <= 1.0),
            );
        }
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
            find(summaries, group, "web-proxy"),
            find(summaries, group, target),
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
        find(summaries, OVERHEAD, "client → WAS"),
        find(summaries, OVERHEAD, "client → web-proxy → WAS"),
    ) {
        let ratio = v.rps / d.rps.max(1.0);
        // Which side limits the pair decides what the ratio says.
        let why = if ratio >= 0.8 {
            "the WAS is the bottleneck there; web-proxy balances over two replicas"
        } else {
            "web-proxy is the bottleneck there: one WAS replica answers faster than web-proxy forwards, on the same two cores"
        };
        let _ = writeln!(
            md,
            "Through web-proxy / straight to one WAS replica: **{ratio:.2}×** throughput ({why})."
        );
    }
}

/// The WAS's goals against the same work without its layers.
fn was_goals(md: &mut String, summaries: &[Summary], f: &Footprint) {
    let _ = writeln!(
        md,
        "\n## The WAS against the same work\n\nGoal: ≥ 0.8× of a bare axum server doing the same Redis read and SQL (`bench/src/same_work.rs`).\n"
    );
    for group in [STORE_LIST, ME] {
        if let (Some(b), Some(w)) = (
            find(summaries, group, "same work, bare axum"),
            find(summaries, group, "WAS"),
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
    if let Some(c) = find(summaries, CEILING, "bare axum hello") {
        let _ = writeln!(
            md,
            "- for scale, the bare axum hello: {:.0} requests/s",
            c.rps
        );
        if let Some(w) = find(summaries, STORE_LIST, "WAS") {
            let ratio = w.rps / c.rps.max(1.0);
            let _ = writeln!(
                md,
                "- the public store list against that ceiling: **{ratio:.2}×** (goal ≥ 0.5×: {})",
                verdict(ratio >= 0.5)
            );
        }
    }
    let _ = writeln!(
        md,
        "- WAS RSS after the mixed load (settled, before the login flood): {:.1} MiB (goal ≤ 64 MiB: {})",
        f.settled_was_rss,
        verdict(f.settled_was_rss <= 64.0)
    );
}

/// What was-1's own metrics say after the runs.
fn was_inside(md: &mut String, f: &Footprint) {
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
}

fn footprint_table(md: &mut String, f: &Footprint) {
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
}

fn login_flood(md: &mut String, f: &Footprint) {
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
}

fn every_round(md: &mut String, rows: &[Row], smoke: bool) {
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
        ("WAS", STORE_LIST, "WAS", WAS_TASK_CPU),
        ("WAS", ME, "WAS", WAS_TASK_CPU),
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
