//! Measuring processes from outside: CPU time and memory from /proc, start-up time,
//! ejection time, image sizes, and the rent/return cycle load.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use stack::Stack;
use stack::process::{Process, Spec};

use crate::wrk::Run;

fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after it.
    let rest = &text[text.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat).
pub fn cpu_ticks(pid: i32) -> u64 {
    stat_fields(pid).map_or(0, |f| {
        f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    })
}

pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub struct Cpu {
    start: u64,
}

impl Cpu {
    pub fn start(pids: &[i32]) -> Self {
        Self {
            start: pids.iter().map(|p| cpu_ticks(*p)).sum(),
        }
    }

    pub fn per_request_us(&self, pids: &[i32], requests: u64) -> f64 {
        let used = pids
            .iter()
            .map(|p| cpu_ticks(*p))
            .sum::<u64>()
            .saturating_sub(self.start);
        if requests == 0 {
            0.0
        } else {
            used as f64 / ticks_per_second() * 1e6 / requests as f64
        }
    }
}

pub use stack::process::{peak_rss_kib, rss_kib};

/// Direct children of `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            stat_fields(*p).and_then(|f| f.get(1).and_then(|v| v.parse::<i32>().ok())) == Some(pid)
        })
        .collect()
}

/// What a WAS replica's own metrics (its admin listener's `/metrics`) say after the load:
/// where the time of its hot routes went.
#[derive(Debug, Default)]
pub struct WasInside {
    /// (route, requests, mean ms from request to response head)
    pub routes: Vec<(String, f64, f64)>,
    pub session_ops: f64,
    pub session_mean_ms: f64,
    pub session_errors: f64,
    pub pool_connections: f64,
    pub pool_max: f64,
}

/// Reads a replica's `/metrics`; `None` when it cannot be read (the report says so).
pub async fn was_inside(admin: SocketAddr, routes: &[&str]) -> Option<WasInside> {
    let page = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let sample = |series: &str| {
        page.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .parse::<f64>()
                .ok()
        })
    };
    let mean_ms = |sum: Option<f64>, count: Option<f64>| match (sum, count) {
        (Some(s), Some(c)) if c > 0.0 => s / c * 1000.0,
        _ => 0.0,
    };
    let mut inside = WasInside::default();
    for route in routes {
        let labels = format!("{{method=\"GET\",route=\"{route}\"}}");
        let count = sample(&format!(
            "upbrella_was_request_duration_seconds_count{labels}"
        ));
        let sum = sample(&format!(
            "upbrella_was_request_duration_seconds_sum{labels}"
        ));
        inside.routes.push((
            (*route).to_owned(),
            count.unwrap_or(0.0),
            mean_ms(sum, count),
        ));
    }
    let count = sample("upbrella_was_session_store_seconds_count");
    inside.session_ops = count.unwrap_or(0.0);
    inside.session_mean_ms = mean_ms(sample("upbrella_was_session_store_seconds_sum"), count);
    inside.session_errors = sample("upbrella_was_session_store_errors_total").unwrap_or(0.0);
    inside.pool_connections = sample("upbrella_was_db_pool_connections").unwrap_or(0.0);
    inside.pool_max = sample("upbrella_was_db_pool_max").unwrap_or(0.0);
    Some(inside)
}

pub fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Median time from spawning the binary to its first 200 on /health, polled every
/// millisecond, over `n` starts.
pub fn start_to_health(program: &Path, s: &Stack, n: usize) -> Result<Duration, String> {
    let mut times = Vec::new();
    let is_proxy = program.file_name().is_some_and(|f| f == "web-proxy");
    for i in 0..n {
        let port = stack::free_port().map_err(|e| e.to_string())?;
        let admin = stack::free_port().map_err(|e| e.to_string())?;
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        let mut spec = Spec::new("start", program).env("RUST_LOG", "warn");
        spec = if is_proxy {
            spec.env("WEB_PROXY_LISTEN_ADDR", addr.to_string())
                .env("WEB_PROXY_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
                .env("WEB_PROXY_UPSTREAMS", format!("http://{}", s.was[0].addr))
        } else {
            spec.env("WAS_LISTEN_ADDR", addr.to_string())
                .env("WAS_ADMIN_ADDR", "127.0.0.1:0")
                .env("DATABASE_URL", s.database_url.clone())
                .env("REDIS_URL", s.redis.url())
                .env(
                    "BANK_ENCRYPTION_KEY",
                    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                )
                .env(
                    "SERVER_HMAC_KEY",
                    "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
                )
                .env("WAS_INSTANCE_ID", format!("start-{i}"))
        };
        let started = Instant::now();
        let mut p = Process::spawn(spec).map_err(|e| e.to_string())?;
        loop {
            if shared_probe(addr) {
                times.push(started.elapsed());
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!("{} did not become healthy", program.display()));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        p.stop(Duration::from_secs(5));
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn shared_probe(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && &buf[9..12] == b"200"
}

/// Under a wrk load through web-proxy, SIGSTOP one WAS and time its ejection.
pub async fn sigstop_to_ejection(
    s: &mut Stack,
    admin: SocketAddr,
    script: &Path,
    proxy: SocketAddr,
) -> Result<Duration, String> {
    let script = script.to_path_buf();
    let load = std::thread::spawn(move || {
        crate::wrk::run(
            &script,
            &format!("http://{proxy}/api/tags"),
            16,
            Duration::from_secs(5),
            &[],
        )
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let victim = s.was[0].addr.to_string();
    let process = s.was[0].process().ok_or("was-1 is not running")?;
    process.pause().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let result = loop {
        let list: serde_json::Value = match reqwest::get(format!("http://{admin}/upstreams")).await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        if list
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u["address"] == victim.as_str() && u["healthy"] == false)
        {
            break Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(10) {
            break Err("the stopped WAS was not ejected within 10 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    process.resume().map_err(|e| e.to_string())?;
    let _ = load.join();
    result
}

/// Sizes of the images scripts/docker-e2e.sh builds, when a Docker engine has them.
pub fn image_sizes() -> Option<(f64, f64)> {
    let size = |image: &str| -> Option<f64> {
        let out = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Size}}", image])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .ok()
            .map(|b| b / 1e6)
    };
    Some((
        size("upbrella/was:local")?,
        size("upbrella/web-proxy:local")?,
    ))
}

/// Each user rents its umbrella and returns it, again and again, for `duration`.
pub async fn rent_return(
    base: &str,
    users: &[(reqwest::Client, i64, i64)],
    duration: Duration,
) -> Result<Run, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = users
        .iter()
        .cloned()
        .map(|(client, umbrella, store)| {
            let (stop, base) = (Arc::clone(&stop), base.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let rent = client
                        .post(format!("{base}/api/rentals"))
                        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                        .json(&json!({"umbrella_id": umbrella, "store_id": store}))
                        .send()
                        .await;
                    let back = client
                        .post(format!("{base}/api/rentals/current/return"))
                        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                        .json(&json!({"store_id": store}))
                        .send()
                        .await;
                    let ok = matches!(&rent, Ok(r) if r.status().as_u16() == 201)
                        && matches!(&back, Ok(r) if r.status().is_success());
                    if ok {
                        latencies.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(|e| e.to_string())?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Ok(Run {
        // Two requests per cycle, so the rate compares with single-request rows.
        requests: all.len() as u64 * 2,
        duration: elapsed,
        errors,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        p999_us: pct(0.999),
        connections: users.len(),
    })
}

/// What a login flood did to the WAS replicas.
pub struct Flood {
    pub clients: usize,
    pub duration: Duration,
    pub requests: usize,
    pub checked: usize,
    pub refused: usize,
    pub other: usize,
    /// Per replica: before, highest sampled during, and a few seconds after (KiB).
    pub rss: Vec<(u64, u64, u64)>,
}

/// `clients` clients post wrong passwords, each request for a new e-mail (a distributed
/// guessing flood: per-account limits never trip, and the stack runs with the
/// per-address limit off), for `duration`; the replicas' memory is sampled throughout.
pub async fn login_flood(
    base: &str,
    clients: usize,
    duration: Duration,
    pids: &[i32],
) -> Result<Flood, String> {
    let before: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let base = base.to_owned();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                let mut n = 0u64;
                while started.elapsed() < duration {
                    n += 1;
                    let status = client
                        .post(format!("{base}/api/auth/login"))
                        .json(&json!({"email": format!("flood{i}-{n}@example.com"), "password": "guess-guess"}))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await
                        .map_or(0, |r| r.status().as_u16());
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    let mut peak = before.clone();
    while started.elapsed() < duration {
        for (p, pid) in peak.iter_mut().zip(pids) {
            *p = (*p).max(rss_kib(*pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.map_err(|e| e.to_string())?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
    Ok(Flood {
        clients,
        duration,
        requests: statuses.len(),
        checked: count(401),
        refused: count(503),
        other: statuses.len() - count(401) - count(503),
        rss: before
            .into_iter()
            .zip(peak)
            .zip(after)
            .map(|((b, p), a)| (b, p, a))
            .collect(),
    })
}
