//! A [`Comparison`] as the human table and as JSON.

use super::{Comparison, DesignAtLoad, Row, Scaling};
use crate::queueing::report::{ms, round};
use crate::simulate::Estimate;

/// A load multiplier as written: `0.5`, `1`, `1.25` (at most 3 decimals, no trailing zeros).
pub fn fmt_load(load: f64) -> String {
    let s = format!("{load:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The `--format json` document of `kendall compare`. Times are in ms rounded to 1 µs,
/// utilisations to 4 decimals, costs ($ per hour) to 4 decimals, loads to 6:
///
/// ```text
/// {
///   "designs": ["monolith", "microservices"],
///   "scaling": { "rule": "target", "utilization": 0.7, "min_replicas": 2 },
///                                            // or { "rule": "as_designed" }
///   "simulation": null | { "requests": 200000, "replications": 10, "seed": 1 },
///   "rows": [
///     {
///       "load": 0.5,
///       "designs": [                         // in the order of "designs"
///         {
///           "name": "monolith",
///           "replicas": { "app": 2 },        // per shard, every deployed service
///           "total_replicas": 2,             // Σ replicas × shards
///           "cost_per_hour": 1.92,           // null when a resource has no price …
///           "cost_error": null,              // … and then this says which
///           "max_utilization": 0.6179,       // null when every station is idle
///           "bottleneck": "app",
///           "stable": true,
///           "slos_met": true,
///           "workloads": [
///             { "name": "homepage", "rate_rps": 500.0, "mean_ms": 15.0, "p50_ms": 14.8,
///               "p95_ms": 21.4, "p99_ms": 24.7, "p999_ms": 28.7, "slos_met": true }
///           ],                               // latencies null when a station is overloaded
///           "simulated": null | {
///             "workloads": [
///               { "name": "homepage", "mean_ms": 15.0, "p50_ms": …, "p95_ms": …,
///                 "p99_ms": …, "p999_ms": …, "ci95": { "mean_ms": 0.01, … },
///                 "slos_met": true, "stable": true }
///             ],                             // ci95 values null with one replication
///             "max_utilization": 0.617, "max_utilization_ci95": 0.001,
///             "bottleneck": "app", "saturated": [], "slos_met": true
///           }
///         },
///         { "name": "microservices", … }
///       ]
///     }
///   ]
/// }
/// ```
pub fn to_json(c: &Comparison) -> serde_json::Value {
    use serde_json::{Value, json};
    let ci = |e: &Estimate| e.ci95.map_or(Value::Null, |h| json!(ms(h)));
    let design = |name: &str, d: &DesignAtLoad| {
        let workloads: Vec<Value> = d
            .workloads
            .iter()
            .map(|w| {
                let l = w.latency.as_ref();
                json!({
                    "name": w.name,
                    "rate_rps": round(w.rate_rps, 3),
                    "mean_ms": l.map(|l| ms(l.mean_s)),
                    "p50_ms": l.map(|l| ms(l.p50_s)),
                    "p95_ms": l.map(|l| ms(l.p95_s)),
                    "p99_ms": l.map(|l| ms(l.p99_s)),
                    "p999_ms": l.map(|l| ms(l.p999_s)),
                    "slos_met": w.slos_met,
                })
            })
            .collect();
        let simulated = d.simulated.as_ref().map(|s| {
            json!({
                "workloads": s.workloads.iter().map(|w| json!({
                    "name": w.name,
                    "mean_ms": ms(w.mean_s.mean),
                    "p50_ms": ms(w.p50_s.mean),
                    "p95_ms": ms(w.p95_s.mean),
                    "p99_ms": ms(w.p99_s.mean),
                    "p999_ms": ms(w.p999_s.mean),
                    "ci95": {
                        "mean_ms": ci(&w.mean_s),
                        "p50_ms": ci(&w.p50_s),
                        "p95_ms": ci(&w.p95_s),
                        "p99_ms": ci(&w.p99_s),
                        "p999_ms": ci(&w.p999_s),
                    },
                    "slos_met": w.slos_met,
                    "stable": w.stable,
                })).collect::<Vec<_>>(),
                "max_utilization": s.max_utilization.map(|u| round(u.mean, 4)),
                "max_utilization_ci95": s.max_utilization.and_then(|u| u.ci95).map(|h| round(h, 4)),
                "bottleneck": s.bottleneck,
                "saturated": s.saturated,
                "slos_met": s.slos_met,
            })
        });
        json!({
            "name": name,
            "replicas": d.replicas,
            "total_replicas": d.total_replicas,
            "cost_per_hour": d.cost_per_hour.as_ref().ok().map(|c| round(*c, 4)),
            "cost_error": d.cost_per_hour.as_ref().err().map(|e| e.to_string()),
            "max_utilization": d.max_utilization.map(|u| round(u, 4)),
            "bottleneck": d.bottleneck,
            "stable": d.stable,
            "slos_met": d.slos_met,
            "workloads": workloads,
            "simulated": simulated,
        })
    };
    let scaling = match c.scaling {
        Scaling::AsDesigned => json!({ "rule": "as_designed" }),
        Scaling::Target {
            utilization,
            min_replicas,
        } => json!({
            "rule": "target",
            "utilization": utilization,
            "min_replicas": min_replicas,
        }),
    };
    json!({
        "designs": c.designs,
        "scaling": scaling,
        "simulation": c.simulate.as_ref().map(|o| json!({
            "requests": o.requests,
            "replications": o.replications,
            "seed": o.seed,
        })),
        "rows": c.rows.iter().map(|r| json!({
            "load": round(r.load, 6),
            "designs": [design(&c.designs[0], &r.designs[0]), design(&c.designs[1], &r.designs[1])],
        })).collect::<Vec<_>>(),
    })
}

/// What [`Scaling`] means, in one line.
fn describe(scaling: Scaling) -> String {
    match scaling {
        Scaling::AsDesigned => {
            "replicas as designed: overrides, else pins, else lower bounds (the rule of `kendall predict`)".into()
        }
        Scaling::Target {
            utilization,
            min_replicas,
        } => format!(
            "replicas: the fewest per service (at least {min_replicas}) that keep every station at most {}% busy",
            fmt_load(utilization * 100.0)
        ),
    }
}

/// Width of one design's block of columns in [`to_table`]: p99, mean, replicas, util, cost/h
/// and slo, `9 + 1 + 9 + 1 + 9 + 1 + 8 + 1 + 9 + 2 + 3`.
const BLOCK: usize = 53;

/// The human table of `kendall compare`: one line per load (and per workload, when a design
/// has several), then for each design the p99 and mean latency, total replicas, the highest
/// utilisation, the cost per hour and whether every SLO is met (✓ or ✗). Times are rounded to
/// 0.1 ms, utilisation to 0.1%, cost to the cent. When the designs were simulated, a second
/// table gives the simulated p99 and mean with their 95% confidence half-widths.
pub fn to_table(c: &Comparison) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let t = |s: f64| format!("{:.1}ms", s * 1000.0);
    let lines = c
        .rows
        .iter()
        .flat_map(|r| r.designs.iter().map(|d| d.workloads.len()))
        .max()
        .unwrap_or(1);
    let label = |r: &Row, i: usize| -> String {
        let names: Vec<&str> = r
            .designs
            .iter()
            .filter_map(|d| d.workloads.get(i).map(|w| w.name.as_str()))
            .collect();
        match names.as_slice() {
            [a, b] if a != b => format!("{a}/{b}"),
            [a, ..] => (*a).to_string(),
            [] => String::new(),
        }
    };
    let workload_width = if lines > 1 {
        c.rows
            .iter()
            .flat_map(|r| (0..lines).map(move |i| (r, i)))
            .map(|(r, i)| label(r, i).chars().count())
            .max()
            .unwrap_or(0)
            .max("workload".len())
            + 2
    } else {
        0
    };
    let _ = writeln!(out, "{}", describe(c.scaling));
    let _ = writeln!(out);
    let lead = 7 + workload_width;
    let _ = writeln!(
        out,
        "{:lead$}{:<BLOCK$}{}",
        "",
        format!("  {}", c.designs[0]),
        format!("  {}", c.designs[1]).trim_end()
    );
    let head = format!(
        "{:>9} {:>9} {:>9} {:>8} {:>9}  {:<3}",
        "p99", "mean", "replicas", "util", "cost/h", "slo"
    );
    let _ = writeln!(
        out,
        "{:<7}{:<workload_width$}{head}{head}",
        "load",
        if lines > 1 { "workload" } else { "" },
    );
    let _ = writeln!(out);
    for r in &c.rows {
        for i in 0..lines {
            let mut line = format!(
                "{:<7}{:<workload_width$}",
                if i == 0 {
                    format!("{}x", fmt_load(r.load))
                } else {
                    String::new()
                },
                if lines > 1 {
                    label(r, i)
                } else {
                    String::new()
                },
            );
            for d in &r.designs {
                let (p99, mean) = match d.workloads.get(i) {
                    Some(w) => match &w.latency {
                        Some(l) => (t(l.p99_s), t(l.mean_s)),
                        None => ("unstable".to_string(), "-".to_string()),
                    },
                    None => (String::new(), String::new()),
                };
                if i == 0 {
                    let _ = write!(
                        line,
                        "{p99:>9} {mean:>9} {:>9} {:>8} {:>9}  {:<3}",
                        d.total_replicas,
                        d.max_utilization
                            .map_or("-".into(), |u| format!("{:.1}%", u * 100.0)),
                        d.cost_per_hour
                            .as_ref()
                            .map_or("-".into(), |c| format!("${c:.2}")),
                        if d.slos_met { "✓" } else { "✗" },
                    );
                } else {
                    let _ = write!(line, "{p99:>9} {mean:>9} {:rest$}", "", rest = BLOCK - 20);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if let Some(o) = &c.simulate {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "simulated: {} replications × {} requests, seed {}; ± is a 95% confidence half-width",
            o.replications, o.requests, o.seed
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:lead$}{:<BLOCK$}{}",
            "",
            format!("  {}", c.designs[0]),
            format!("  {}", c.designs[1]).trim_end()
        );
        let sim_head = format!(
            "{:>9} {:>7} {:>9} {:>7} {:>8}  {:<3}",
            "p99", "±", "mean", "±", "util", "slo"
        );
        let pad = BLOCK - sim_head.chars().count();
        let _ = writeln!(
            out,
            "{:<7}{:<workload_width$}{sim_head}{:pad$}{sim_head}",
            "load",
            if lines > 1 { "workload" } else { "" },
            "",
        );
        let _ = writeln!(out);
        let half = |e: &Estimate| e.ci95.map_or("-".into(), |h| format!("±{:.3}", h * 1000.0));
        for r in &c.rows {
            for i in 0..lines {
                let mut line = format!(
                    "{:<7}{:<workload_width$}",
                    if i == 0 {
                        format!("{}x", fmt_load(r.load))
                    } else {
                        String::new()
                    },
                    if lines > 1 {
                        label(r, i)
                    } else {
                        String::new()
                    },
                );
                for d in &r.designs {
                    let Some(s) = &d.simulated else {
                        let _ = write!(line, "{:BLOCK$}", "");
                        continue;
                    };
                    let cells = match s.workloads.get(i) {
                        Some(w) if w.stable => [
                            t(w.p99_s.mean),
                            half(&w.p99_s),
                            t(w.mean_s.mean),
                            half(&w.mean_s),
                        ],
                        Some(_) => ["saturated".into(), "-".into(), "-".into(), "-".into()],
                        None => Default::default(),
                    };
                    let util = if i == 0 {
                        s.max_utilization
                            .map_or("-".into(), |u| format!("{:.1}%", u.mean * 100.0))
                    } else {
                        String::new()
                    };
                    let slo = match (i, s.slos_met) {
                        (0, true) => "✓",
                        (0, false) => "✗",
                        _ => "",
                    };
                    let _ = write!(
                        line,
                        "{:>9} {:>7} {:>9} {:>7} {:>8}  {:<3}{:pad$}",
                        cells[0], cells[1], cells[2], cells[3], util, slo, ""
                    );
                }
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
    }
    out
}
