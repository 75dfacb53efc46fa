//! Running wrk and reading its Lua report.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Run {
    pub requests: u64,
    pub duration: Duration,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub connections: usize,
}

impl Run {
    pub fn rps(&self) -> f64 {
        if self.duration.is_zero() {
            0.0
        } else {
            self.requests as f64 / self.duration.as_secs_f64()
        }
    }
}

pub fn check() -> Result<(), String> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(
            "wrk is not installed (Debian: apt-get install wrk); scripts/bench.sh installs it"
                .into(),
        ),
    }
}

/// `wrk -t2 -cN -dD --latency -s report.lua [-H header]... url`
pub fn run(
    script: &Path,
    url: &str,
    connections: usize,
    duration: Duration,
    headers: &[&str],
) -> Result<Run, String> {
    let mut cmd = Command::new("wrk");
    cmd.arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("5s")
        .arg("--latency")
        .arg("-s")
        .arg(script);
    for h in headers {
        cmd.arg("-H").arg(h);
    }
    let out = cmd.arg(url).output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            format!(
                "wrk printed no report for {url}:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("wrk report: {e}"))?;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Ok(Run {
        requests: n("requests"),
        duration: Duration::from_micros(n("duration_us")),
        errors: n("errors"),
        p50_us: n("p50_us"),
        p99_us: n("p99_us"),
        p999_us: n("p999_us"),
        connections,
    })
}
