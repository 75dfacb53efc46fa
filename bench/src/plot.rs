//! Two small SVG charts for the results: throughput per target, and latency
//! percentiles per target (log scale).

use std::fmt::Write as _;
use std::path::Path;

use crate::report::Summary;

const COLORS: [&str; 6] = [
    "#2f6fed", "#f08c00", "#1f9d55", "#d64545", "#7048e8", "#868e96",
];

fn bars(
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[(&str, Vec<f64>)],
    log: bool,
) -> String {
    let width = 900.0;
    let row_h = 22.0 * series.len() as f64 + 14.0;
    let left = 370.0;
    let height = 60.0 + row_h * labels.len() as f64 + 30.0;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(1.0, f64::max);
    let scale = |v: f64| {
        let plot = width - left - 90.0;
        if log {
            ((1.0 + v * 1000.0).ln() / (1.0 + max * 1000.0).ln()) * plot
        } else {
            v / max * plot
        }
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/><text x="20" y="28" font-size="16" font-weight="bold">{title}</text>"##
    );
    for (i, label) in labels.iter().enumerate() {
        let y = 50.0 + row_h * i as f64;
        let _ = write!(
            svg,
            r#"<text x="20" y="{}">{}</text>"#,
            y + 14.0,
            label.replace('&', "&amp;").replace('<', "&lt;")
        );
        for (j, (name, values)) in series.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0.0);
            let by = y + 22.0 * j as f64;
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{by}" width="{:.1}" height="18" fill="{}"/><text x="{:.1}" y="{}">{} {:.1} {unit}</text>"#,
                scale(v),
                COLORS[j % COLORS.len()],
                left + scale(v) + 4.0,
                by + 13.0,
                name,
                v
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

pub fn write(summaries: &[Summary], out: &Path) -> Result<(), String> {
    let labels: Vec<String> = summaries
        .iter()
        .map(|s| format!("{} · {}", s.group, s.target))
        .collect();
    let rps: Vec<f64> = summaries.iter().map(|s| s.rps).collect();
    let throughput = bars(
        "Throughput (requests per second, median of the rounds, higher is better)",
        "req/s",
        &labels,
        &[("", rps)],
        false,
    );
    let ms = |f: fn(&Summary) -> f64| {
        summaries
            .iter()
            .map(|s| f(s) / 1000.0)
            .collect::<Vec<f64>>()
    };
    let latency = bars(
        "Latency percentiles (ms, log scale, lower is better)",
        "ms",
        &labels,
        &[
            ("p50", ms(|s| s.p50_us)),
            ("p99", ms(|s| s.p99_us)),
            ("p99.9", ms(|s| s.p999_us)),
        ],
        true,
    );
    std::fs::write(out.join("throughput.svg"), throughput).map_err(|e| e.to_string())?;
    std::fs::write(out.join("latency.svg"), latency).map_err(|e| e.to_string())?;
    Ok(())
}
