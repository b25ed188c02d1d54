//! A prediction's findings as diagnostics: overloaded stations (E0801), runaway traffic loops
//! (E0802), retry storms (E0803), and the warnings each station model raised (W0801, W0802).

use super::predict::Prediction;
use super::traffic::Divergent;
use crate::diagnostics::{Diagnostic, codes};
use crate::model::Model;

/// Diagnostics for a prediction, in the model's order of services.
pub fn diagnostics(model: &Model, prediction: &Prediction) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (s, p) in model.services.iter().zip(&prediction.services) {
        let storm = prediction.retry_storms.iter().find(|r| r.service == s.name);
        if let (Some(o), Some(storm)) = (p.unstable, storm) {
            out.push(retry_storm(s, storm, o.replicas_needed));
        } else if let Some(o) = p.unstable {
            let servers = p.servers.unwrap_or(0);
            let shard = if s.shards > 1 { " per shard" } else { "" };
            out.push(
                Diagnostic::new(
                    codes::OVERLOADED,
                    format!(
                        "service `{}` is overloaded: {:.1} requests/s{shard} need {:.2} busy workers, it has {servers}",
                        s.name,
                        p.arrival_rps,
                        o.utilization * servers as f64
                    ),
                )
                .at(s.span, format!("utilisation {:.1}%", o.utilization * 100.0))
                .help(format!(
                    "give it at least {} replicas (`replicas {}` or `--replicas {}={}`), make its work faster, or send it less",
                    o.replicas_needed, o.replicas_needed, s.name, o.replicas_needed
                )),
            );
        }
        for (code, message) in &p.warnings {
            out.push(
                Diagnostic::new(*code, format!("service `{}`: {message}", s.name))
                    .at(s.span, p.model)
                    .help(match code.id {
                        "W0801" => "add replicas or workers to bring utilisation below 90%",
                        _ => "check the figure against simulation before relying on it",
                    }),
            );
        }
    }
    out
}

/// E0803: the callers' retries keep `s` overloaded once it is congested.
fn retry_storm(
    s: &crate::model::Service,
    storm: &super::RetryStorm,
    replicas_needed: u32,
) -> Diagnostic {
    let shard = if s.shards > 1 { " per shard" } else { "" };
    let calls: Vec<String> = storm
        .calls
        .iter()
        .map(|(caller, endpoint, timeout, retries)| {
            format!(
                "`{caller}.{endpoint}` (timeout {}ms, retries {retries}: fails after {}ms)",
                round(timeout * 1e3, 3),
                round(timeout * 1e3 * (retries + 1) as f64, 3)
            )
        })
        .collect();
    let by = if calls.is_empty() {
        "by calls that retry on timeout upstream of it".to_string()
    } else {
        format!("by {}", calls.join(", "))
    };
    Diagnostic::new(
        codes::RETRY_STORM,
        format!(
            "service `{}` is in a retry storm: retried {by}, it gets {:.1} requests/s{shard} when every attempt times out, {:.1}% of its capacity, so once its queue passes the timeout it stays overloaded and those calls fail (with one attempt per call: {:.1} requests/s, {:.1}%)",
            s.name,
            storm.full_rps,
            storm.full_utilization * 100.0,
            storm.single_rps,
            storm.single_utilization * 100.0
        ),
    )
    .at(
        s.span,
        format!(
            "utilisation {:.1}% with every attempt",
            storm.full_utilization * 100.0
        ),
    )
    .help(format!(
        "give it capacity for every attempt (at least {replicas_needed} replicas: `--replicas {}={replicas_needed}`), retry less (fewer `retries`, or a retry budget upstream), or time out later",
        s.name
    ))
}

/// The diagnostic for a traffic loop that multiplies load.
pub fn divergent(model: &Model, d: &Divergent) -> Diagnostic {
    let names: Vec<String> = d.services.iter().map(|s| format!("`{s}`")).collect();
    let mut diagnostic = Diagnostic::new(
        codes::DIVERGENT_LOAD,
        format!(
            "calls between {} multiply load without bound",
            names.join(", ")
        ),
    );
    let mut spans = d
        .services
        .iter()
        .filter_map(|n| model.service(n))
        .map(|s| s.span);
    if let Some(first) = spans.next() {
        diagnostic = diagnostic.at(first, "on the loop");
        for s in spans {
            diagnostic = diagnostic.with(s, "on the loop");
        }
    }
    diagnostic.help("each trip around an `async` loop must send fewer requests than it started with: lower a `when` or `times` on the loop")
}

/// Rounds for output: predictions are not exact to the last bit, and rounding keeps the bytes
/// identical wherever floating point differs in its last digits (FFT plans differ by CPU).
pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Seconds as milliseconds, rounded to 1 µs.
pub fn ms(s: f64) -> f64 {
    round(s * 1000.0, 3)
}

/// The `--format json` contract of `kendall predict` (docs/predict-json.md).
pub fn to_json(prediction: &Prediction) -> serde_json::Value {
    use serde_json::json;
    let workloads: Vec<_> = prediction
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
                "slos": w.slos.iter().map(|s| json!({
                    "stat": s.stat,
                    "target_ms": ms(s.target_s),
                    "predicted_ms": ms(s.predicted_s),
                    "met": s.met,
                })).collect::<Vec<_>>(),
                "stable": l.is_some(),
            })
        })
        .collect();
    let services: Vec<_> = prediction
        .services
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "arrival_rps": round(s.arrival_rps, 3),
                "replicas": s.replicas,
                "servers": s.servers,
                "utilization": s.utilization.map(|u| round(u, 4)),
                "busy": s.busy.map(|u| round(u, 4)),
                "wait_mean_ms": s.wait_mean_s.map(ms),
                "sojourn_mean_ms": s.sojourn_mean_s.map(ms),
                "sojourn_p99_ms": s.sojourn_p99_s.map(ms),
                "model": s.model,
                "unstable": s.unstable.map(|o| json!({
                    "utilization": round(o.utilization, 4),
                    "replicas_needed": o.replicas_needed,
                })),
                "warnings": s.warnings.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "workloads": workloads, "services": services })
}

/// The human table of `kendall predict`.
pub fn to_table(prediction: &Prediction) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let t = |s: f64| format!("{:.1}ms", s * 1000.0);
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}  slos",
        "workload", "rate/s", "mean", "p50", "p95", "p99", "p99.9"
    );
    for w in &prediction.workloads {
        let cells = match &w.latency {
            Some(l) => [l.mean_s, l.p50_s, l.p95_s, l.p99_s, l.p999_s].map(t),
            None => [
                "unstable".to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        };
        let slos: Vec<String> = w
            .slos
            .iter()
            .map(|s| {
                format!(
                    "{} < {} {} ({})",
                    s.stat,
                    t(s.target_s),
                    if s.met { "met" } else { "MISSED" },
                    t(s.predicted_s)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<18} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
            w.name,
            w.rate_rps,
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            slos.join(", ")
        );
    }
    let _ = writeln!(out);
    let bottleneck = prediction
        .services
        .iter()
        .filter(|s| s.utilization.is_some_and(|u| u > 0.0))
        .max_by(|a, b| {
            a.utilization
                .partial_cmp(&b.utilization)
                .expect("finite utilisation")
        })
        .map(|s| s.name.clone());
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>8} {:>7} {:>7} {:>9} {:>9}  model",
        "service", "arrival/s", "replicas", "servers", "util", "wait", "p99"
    );
    for s in &prediction.services {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), t);
        let mark = if Some(&s.name) == bottleneck.as_ref() {
            "  ← bottleneck"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<18} {:>10.1} {:>8} {:>7} {:>7} {:>9} {:>9}  {}{}",
            s.name,
            s.arrival_rps,
            s.replicas.map_or("-".into(), |r| r.to_string()),
            s.servers.map_or("-".into(), |r| r.to_string()),
            s.utilization
                .map_or("-".into(), |u| format!("{:.1}%", u * 100.0)),
            opt(s.wait_mean_s),
            opt(s.sojourn_p99_s),
            s.model,
            mark
        );
    }
    out
}
