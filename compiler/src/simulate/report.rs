//! A simulation as JSON (`docs/simulate.md`; the fields of `kendall predict --format json`
//! where they mean the same) and as the human table.

use super::{Estimate, Simulation};
use serde_json::{Value, json};

/// Rounds for output. Simulated figures are exact for their seed, but printing every digit
/// would suggest a precision their confidence intervals deny.
fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn ms(s: f64) -> f64 {
    round(s * 1000.0, 3)
}

fn ci_ms(e: &Estimate) -> Value {
    e.ci95.map_or(Value::Null, |c| json!(ms(c)))
}

/// The `--format json` document, without diagnostics (the CLI adds them).
pub fn to_json(s: &Simulation) -> Value {
    let workloads: Vec<Value> = s
        .workloads
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "rate_rps": round(w.rate_rps, 3),
                "mean_ms": ms(w.mean_s.mean),
                "p50_ms": ms(w.p50_s.mean),
                "p95_ms": ms(w.p95_s.mean),
                "p99_ms": ms(w.p99_s.mean),
                "p999_ms": ms(w.p999_s.mean),
                "slos": w.slos.iter().map(|slo| json!({
                    "stat": slo.stat,
                    "target_ms": ms(slo.target_s),
                    "predicted_ms": ms(slo.simulated_s.mean),
                    "met": slo.met,
                    "ci95_ms": ci_ms(&slo.simulated_s),
                })).collect::<Vec<_>>(),
                "stable": w.stable,
                "ci95": {
                    "mean_ms": ci_ms(&w.mean_s),
                    "p50_ms": ci_ms(&w.p50_s),
                    "p95_ms": ci_ms(&w.p95_s),
                    "p99_ms": ci_ms(&w.p99_s),
                    "p999_ms": ci_ms(&w.p999_s),
                },
                "arrival_rps": round(w.arrival_rps.mean, 3),
                "requests": w.requests,
                "in_flight_mean": round(w.in_flight_mean.mean, 4),
                "timed_calls": w.calls.timed,
                "attempts": w.calls.attempts,
                "timeouts": w.calls.timeouts,
                "failed_calls": w.calls.failed,
            })
        })
        .collect();
    let services: Vec<Value> = s
        .services
        .iter()
        .map(|v| {
            let opt_ms = |e: Option<Estimate>| e.map(|e| ms(e.mean));
            json!({
                "name": v.name,
                "arrival_rps": round(v.arrival_rps.mean, 3),
                "replicas": v.replicas,
                "servers": v.servers,
                "utilization": v.utilization.map(|u| round(u.mean, 4)),
                "utilization_ci95": v.utilization.and_then(|u| u.ci95).map(|c| round(c, 4)),
                "busy_fraction": v.busy_fraction.map(|u| round(u.mean, 4)),
                "wait_mean_ms": opt_ms(v.wait_mean_s),
                "sojourn_mean_ms": opt_ms(v.sojourn_mean_s),
                "sojourn_p99_ms": opt_ms(v.sojourn_p99_s),
                "in_system_mean": round(v.in_system_mean.mean, 4),
                "model": "simulation",
                "saturated": v.saturated,
            })
        })
        .collect();
    json!({
        "simulation": {
            "seed": s.seed,
            "requests": s.requests,
            "warmup_requests": s.warmup,
            "replications": s.replications,
            "load": s.load,
            "visits": s.visits,
        },
        "workloads": workloads,
        "services": services,
    })
}

/// The human table of `kendall simulate`.
pub fn to_table(s: &Simulation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let t = |x: f64| format!("{:.1}ms", x * 1000.0);
    let pm = |e: &Estimate| {
        e.ci95
            .map_or("-".to_string(), |c| format!("±{:.1}", c * 1000.0))
    };
    let _ = writeln!(
        out,
        "simulated {} replication{} × {} requests (after {} warm-up), seed {}, load {}x; ± is a 95% confidence half-width in ms",
        s.replications,
        if s.replications == 1 { "" } else { "s" },
        s.requests,
        s.warmup,
        s.seed,
        s.load
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>7}  slos",
        "workload", "rate/s", "mean", "p50", "p95", "p99", "±p99", "p99.9", "failed"
    );
    for w in &s.workloads {
        let slos: Vec<String> = w
            .slos
            .iter()
            .map(|slo| {
                format!(
                    "{} < {} {} ({})",
                    slo.stat,
                    t(slo.target_s),
                    if slo.met { "met" } else { "MISSED" },
                    t(slo.simulated_s.mean)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<18} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>7}  {}{}",
            w.name,
            w.rate_rps,
            t(w.mean_s.mean),
            t(w.p50_s.mean),
            t(w.p95_s.mean),
            t(w.p99_s.mean),
            pm(&w.p99_s),
            t(w.p999_s.mean),
            w.calls.failed,
            slos.join(", "),
            if w.stable {
                ""
            } else {
                "  (waits on a saturated station)"
            }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18} {:>10} {:>8} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>9}",
        "service",
        "arrival/s",
        "replicas",
        "servers",
        "util",
        "±util",
        "busy",
        "wait",
        "sojourn",
        "p99"
    );
    for v in &s.services {
        let opt = |e: Option<Estimate>| e.map_or("-".to_string(), |e| t(e.mean));
        let pct =
            |e: Option<Estimate>| e.map_or("-".to_string(), |e| format!("{:.1}%", e.mean * 100.0));
        let _ = writeln!(
            out,
            "{:<18} {:>10.1} {:>8} {:>7} {:>7} {:>6} {:>7} {:>9} {:>9} {:>9}{}",
            v.name,
            v.arrival_rps.mean,
            v.replicas.map_or("-".into(), |r| r.to_string()),
            v.servers.map_or("-".into(), |r| r.to_string()),
            pct(v.utilization),
            v.utilization
                .and_then(|u| u.ci95)
                .map_or("-".into(), |c| format!("{:.1}", c * 100.0)),
            pct(v.busy_fraction),
            opt(v.wait_mean_s),
            opt(v.sojourn_mean_s),
            opt(v.sojourn_p99_s),
            if v.saturated { "  ← saturated" } else { "" }
        );
    }
    out
}
