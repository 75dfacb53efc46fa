//! Running h2load (nghttp2's load generator) for h2c, with latency percentiles worked
//! out from its per-request log (its summary gives only mean and spread).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::wrk::Run;

pub fn check() -> Result<(), String> {
    match Command::new("h2load").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(
            "h2load is not installed (Debian: apt-get install nghttp2-client); scripts/bench.sh installs it"
                .into(),
        ),
    }
}

/// `h2load -cC -mM -t2 -D secs --log-file … url`: `clients` connections with `streams`
/// requests in flight on each.
pub fn run(
    dir: &Path,
    url: &str,
    clients: usize,
    streams: usize,
    duration: Duration,
) -> Result<Run, String> {
    let log = dir.join("h2load.log");
    let out = Command::new("h2load")
        .arg(format!("-c{clients}"))
        .arg(format!("-m{streams}"))
        .arg("-t2")
        .arg("-D")
        .arg(duration.as_secs().max(1).to_string())
        .arg(format!("--log-file={}", log.display()))
        .arg(url)
        .output()
        .map_err(|e| format!("h2load: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |line_start: &str, word: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(line_start))?;
        let mut words = line.split([' ', ',']).filter(|w| !w.is_empty());
        let mut previous = None;
        for w in words.by_ref() {
            if w == word {
                return previous.and_then(|p: &str| p.parse().ok());
            }
            previous = Some(w);
        }
        None
    };
    let succeeded = field("requests:", "succeeded").ok_or_else(|| {
        format!(
            "h2load printed no summary for {url}:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let failed = field("requests:", "failed").unwrap_or(0)
        + field("requests:", "errored").unwrap_or(0)
        + field("requests:", "timeout").unwrap_or(0);
    let non_2xx = field("status codes:", "3xx").unwrap_or(0)
        + field("status codes:", "4xx").unwrap_or(0)
        + field("status codes:", "5xx").unwrap_or(0);
    let mut latencies: Vec<u64> = std::fs::read_to_string(&log)
        .map_err(|e| format!("h2load log: {e}"))?
        .lines()
        .filter_map(|l| l.split('\t').nth(2)?.parse().ok())
        .collect();
    let _ = std::fs::remove_file(&log);
    latencies.sort_unstable();
    let pct = |p: f64| percentile(&latencies, p);
    Ok(Run {
        requests: succeeded,
        duration,
        errors: failed + non_2xx,
        p50_us: pct(50.0),
        p99_us: pct(99.0),
        p999_us: pct(99.9),
        connections: clients * streams,
    })
}

/// The nearest-rank percentile `p` (0 to 100) of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() as f64 * p / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&values, 50.0), 500);
        assert_eq!(percentile(&values, 99.0), 990);
        assert_eq!(percentile(&values, 99.9), 999);
        assert_eq!(percentile(&values, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 99.0), 0);
    }
}
