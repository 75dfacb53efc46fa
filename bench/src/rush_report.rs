//! The rush's part of the results: the mix, the ramp and its knee, the latencies per
//! endpoint at half and four fifths of the knee, what ran out first, what that means in
//! tasks and dollars, and a chart of the ramp.

use std::fmt::Write as _;
use std::path::Path;

use crate::rush::{Kind, MIX, P99_LIMIT, Rush, Step, percentile};

const WAS_TASK_CPU: f64 = 512.0;
const PROXY_TASK_CPU: f64 = 256.0;
/// Tasks are sized to run at half their CPU at the peak.
const HEADROOM: f64 = 0.5;
/// A person with the app open makes a request every this many seconds on average (a map
/// view is three requests, then reading; a rental two, minutes apart).
const SECONDS_PER_REQUEST: f64 = 10.0;
/// The share of a month's renters with the app open at once on a rainy morning.
const PEAK_SHARE: f64 = 0.1;
/// What the minimum deployment costs a month (docs/deploy.md, x86_64 column).
const MONTHLY_COST: f64 = 178.0;
/// A t3.small's sustained CPU, as a share of its two vCPUs, once burst credits run out.
const T3_BASELINE: f64 = 0.2;

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub fn write(md: &mut String, rush: &Rush) {
    let _ = writeln!(
        md,
        "\n## Rainy-morning rush (the whole stack: web-proxy, 2 WAS, Redis, PostgreSQL){}\n",
        if rush.smoke {
            " (smoke: numbers mean nothing)"
        } else {
            ""
        }
    );
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let _ = writeln!(
        md,
        "Open-loop load through web-proxy: requests start on a clock at the offered rate whatever the servers do, \
         ramped by 1.4× per step until the p99 passes {} ms or more than 1 % fail. The load generator runs on the \
         same two cores as every server (its share is in the CPU table). The mix, per {total} requests started:\n",
        P99_LIMIT.as_millis()
    );
    let _ = writeln!(md, "| request | share |\n| --- | ---: |");
    for (kind, weight) in MIX {
        let label = if kind == Kind::Rent {
            "a rental: POST /api/rentals, then its return".to_owned()
        } else {
            kind.label().to_owned()
        };
        let _ = writeln!(md, "| {label} | {weight} |");
    }
    ramp_table(md, rush);
    match rush.knee {
        Some(knee) => {
            let _ = writeln!(
                md,
                "\n**Knee: {knee:.0} requests/s offered** (the last step with p99 ≤ {} ms).",
                P99_LIMIT.as_millis()
            );
        }
        None => {
            let _ = writeln!(md, "\n**No knee:** even the first step was over the limit.");
        }
    }
    let _ = writeln!(md, "\n![rush: p50 and p99 against offered load](rush.svg)");
    for (fraction, step) in &rush.held {
        endpoint_table(md, *fraction, step);
    }
    if let Some((_, step)) = rush.held.last() {
        saturation(md, rush, step);
        capacity(md, step);
    }
}

fn ramp_table(md: &mut String, rush: &Rush) {
    let groups: Vec<&str> = rush
        .ramp
        .first()
        .map(|s| s.cores.iter().map(|(g, _)| *g).collect())
        .unwrap_or_default();
    let _ = write!(
        md,
        "\n| offered req/s | done req/s | p50 ms | p99 ms | failed |"
    );
    for g in &groups {
        let _ = write!(md, " {g} cores |");
    }
    let _ = writeln!(
        md,
        " DB pool in use (max) | hash queue (max) | session store mean ms |"
    );
    let _ = write!(md, "| ---: | ---: | ---: | ---: | ---: |");
    for _ in &groups {
        let _ = write!(md, " ---: |");
    }
    let _ = writeln!(md, " ---: | ---: | ---: |");
    for s in &rush.ramp {
        let all = s.all();
        let _ = write!(
            md,
            "| {:.0} | {:.0} | {:.1} | {:.1} | {} |",
            s.offered,
            s.achieved(),
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            s.failures()
        );
        for (_, c) in &s.cores {
            let _ = write!(md, " {c:.2} |");
        }
        let _ = writeln!(
            md,
            " {:.0} of {:.0} | {:.0} | {:.2} |",
            s.pool_in_use, s.pool_max, s.hash_queue, s.session_ms
        );
    }
}

fn endpoint_table(md: &mut String, fraction: f64, step: &Step) {
    let _ = writeln!(
        md,
        "\n### At {:.0} % of the knee ({:.0} requests/s offered, {:.0} done, {} failed)\n\n| request | count | p50 ms | p99 ms | failed |\n| --- | ---: | ---: | ---: | ---: |",
        fraction * 100.0,
        step.offered,
        step.achieved(),
        step.failures()
    );
    for (kind, (latencies, failed)) in &step.kinds {
        let why: Vec<String> = step
            .why
            .get(kind)
            .into_iter()
            .flatten()
            .map(|(status, n)| match status {
                0 => format!("no answer ×{n}"),
                s => format!("{s} ×{n}"),
            })
            .collect();
        let failed = if why.is_empty() {
            failed.to_string()
        } else {
            format!("{failed} ({})", why.join(", "))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {:.1} | {failed} |",
            kind.label(),
            latencies.len(),
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.99)),
        );
    }
}

/// What ran out first, read at the step past the knee (or the last one).
fn saturation(md: &mut String, rush: &Rush, held: &Step) {
    let Some(past) = rush.ramp.last() else {
        return;
    };
    let busiest = past
        .cores
        .iter()
        .filter(|(g, _)| *g != "load generator")
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let used: f64 = past.cores.iter().map(|(_, c)| c).sum();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let _ = writeln!(md, "\n### What runs out first\n");
    if let Some((group, c)) = busiest {
        let _ = writeln!(
            md,
            "- At the last step ({:.0} requests/s offered) the processes together used {used:.2} of the machine's {cores:.0} cores; \
             the busiest server was **{group}** ({c:.2} cores), the load generator {:.2}.",
            past.offered,
            past.cores
                .iter()
                .find(|(g, _)| *g == "load generator")
                .map_or(0.0, |x| x.1),
        );
    }
    let _ = writeln!(
        md,
        "- The WAS's database pool: at most {:.0} of {:.0} connections lent at once (at 80 % of the knee: {:.0}); \
         the session store's operations averaged {:.2} ms; the password-hash queue was at most {:.0} long.",
        past.pool_in_use, past.pool_max, held.pool_in_use, past.session_ms, past.hash_queue
    );
    let verdict = if used >= cores * 0.9 {
        "The machine's CPU is what ran out: every process shares two cores, so the knee here measures the sum of their costs, and the busiest process is where a saving buys the most."
    } else if past.pool_in_use >= past.pool_max {
        "The database pool ran out before the CPU did."
    } else {
        "Neither the CPU nor the pool was exhausted: the limit is queueing in one of the processes."
    };
    let _ = writeln!(md, "- {verdict}");
}

/// Tasks per 1,000 people with the app open, and the monthly cost per 10,000 renters.
fn capacity(md: &mut String, step: &Step) {
    let per_thousand = 1000.0 / SECONDS_PER_REQUEST;
    let tasks = |group: &str, units: f64| {
        let cpu = step.cpu_per_request(group);
        let per_task = cpu * per_thousand / (units / 1024.0 * HEADROOM);
        (cpu, per_task)
    };
    let (proxy_cpu, proxy_tasks) = tasks("web-proxy", PROXY_TASK_CPU);
    let (was_cpu, was_tasks) = tasks("WAS (2 replicas)", WAS_TASK_CPU);
    let _ = writeln!(
        md,
        "\n### Tasks and cost\n\nA person with the app open makes a request every {SECONDS_PER_REQUEST:.0} s on average, so 1,000 of them \
         send {per_thousand:.0} requests/s of this mix. At 80 % of the knee the mix cost {:.0} µs of web-proxy CPU and {:.0} µs of WAS CPU \
         per request; at {:.0} % of a task's CPU that is **{proxy_tasks:.2} web-proxy tasks and {was_tasks:.2} WAS tasks per 1,000 \
         people with the app open** (the service runs at least 2 of each, one per zone).",
        proxy_cpu * 1e6,
        was_cpu * 1e6,
        HEADROOM * 100.0
    );
    // How many people the minimum deployment (2 + 2 tasks) serves, on burst and on a
    // t3.small's sustained baseline.
    let limit = |share: f64| {
        let by = |t: f64| {
            if t > 0.0 {
                2.0 * share / t * 1000.0
            } else {
                f64::INFINITY
            }
        };
        by(proxy_tasks).min(by(was_tasks))
    };
    let burst = limit(1.0);
    // Two t3.small hosts sustain a fifth of their 4 vCPUs once credits run out, against
    // the 2 + 2 tasks' reservation.
    let reserved = 2.0 * PROXY_TASK_CPU + 2.0 * WAS_TASK_CPU;
    let sustained = limit((T3_BASELINE * 4.0 * 1024.0 / reserved).min(1.0));
    let renters = |people: f64| people / PEAK_SHARE;
    let _ = writeln!(
        md,
        "\nThe minimum deployment (2 + 2 tasks) serves about **{burst:.0} people with the app open at once** while the hosts \
         have CPU credit, about {sustained:.0} on two t3.small hosts' sustained baseline. If a tenth of a month's renters \
         open the app in the same rainy hour, that is {:.0} monthly renters ({:.0} sustained).",
        renters(burst),
        renters(sustained),
    );
    if renters(sustained) >= 10_000.0 {
        let _ = writeln!(
            md,
            "So **10,000 monthly renters need only the minimum deployment: ≈ ${MONTHLY_COST:.0} a month** \
             (docs/deploy.md); filled to its sustained ceiling it would be ≈ ${:.0} per 10,000.",
            MONTHLY_COST * 10_000.0 / renters(sustained)
        );
    } else {
        let extra = (10_000.0 / renters(sustained)).ceil();
        let _ = writeln!(
            md,
            "So 10,000 monthly renters need about {extra:.0}× the minimum deployment's tasks: ≈ ${:.0} a month \
             (tasks and hosts scale; the ALBs, database and Redis do not).",
            MONTHLY_COST + (extra - 1.0) * 38.0
        );
    }
    let _ = writeln!(
        md,
        "The database and Redis are the smallest sizes; the pool and session-store figures above show how far they were from their limits."
    );
}

/// The ramp as a chart: p50 and p99 against the offered rate.
pub fn plot(rush: &Rush, out: &Path) -> Result<(), String> {
    let points: Vec<(f64, f64, f64)> = rush
        .ramp
        .iter()
        .map(|s| {
            let all = s.all();
            (
                s.offered,
                ms(percentile(&all, 0.5)),
                ms(percentile(&all, 0.99)),
            )
        })
        .collect();
    let (w, h, left, bottom) = (760.0, 380.0, 70.0, 50.0);
    let max_x = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = points
        .iter()
        .map(|p| p.2)
        .fold(P99_LIMIT.as_millis() as f64 * 1.2, f64::max);
    let x = |v: f64| left + v / max_x * (w - left - 30.0);
    let y = |v: f64| h - bottom - v / max_y * (h - bottom - 40.0);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="20" y="24" font-size="15" font-weight="bold">Rainy-morning rush: latency against offered load</text>"##
    );
    let limit = P99_LIMIT.as_millis() as f64;
    let (right, ly) = (w - 30.0, y(limit));
    let _ = write!(
        svg,
        r##"<line x1="{left}" x2="{right}" y1="{ly:.1}" y2="{ly:.1}" stroke="#d64545" stroke-dasharray="4 4"/><text x="{:.1}" y="{:.1}" fill="#d64545">p99 limit {limit:.0} ms</text>"##,
        left + 6.0,
        ly - 4.0
    );
    for (name, color, pick) in [("p50", "#2f6fed", 1usize), ("p99", "#f08c00", 2usize)] {
        let line: Vec<String> = points
            .iter()
            .map(|p| {
                let v = if pick == 1 { p.1 } else { p.2 };
                format!("{:.1},{:.1}", x(p.0), y(v))
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            line.join(" ")
        );
        if let Some(last) = points.last() {
            let v = if pick == 1 { last.1 } else { last.2 };
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{color}">{name}</text>"#,
                x(last.0) - 30.0,
                y(v) - 6.0
            );
        }
    }
    let _ = write!(
        svg,
        r##"<line x1="{left}" x2="{left}" y1="30" y2="{0}" stroke="#333"/><line x1="{left}" x2="{1}" y1="{0}" y2="{0}" stroke="#333"/><text x="{2}" y="{3}">offered requests/s (0 to {max_x:.0})</text><text x="8" y="{4}">ms (0 to {max_y:.0})</text></svg>"##,
        h - bottom,
        w - 30.0,
        w / 2.0 - 80.0,
        h - 15.0,
        h / 2.0
    );
    std::fs::write(out.join("rush.svg"), svg + "\n").map_err(|e| e.to_string())
}
