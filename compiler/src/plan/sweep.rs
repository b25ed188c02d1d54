//! `kendall sweep`: the plan at every load of a range — cost, replicas and latency against
//! load.

use super::{Infeasible, Plan, PlanOptions, plan};
use crate::model::Model;
use std::fmt::Write;

/// The plan (or why there is none) at each load, in order.
pub fn sweep(model: &Model, loads: &[f64], options: &PlanOptions) -> Vec<Result<Plan, Infeasible>> {
    loads
        .iter()
        .map(|&load| {
            plan(
                model,
                &PlanOptions {
                    load,
                    ..options.clone()
                },
            )
        })
        .collect()
}

/// Columns: load, feasible, $/h, replicas, then replicas per service and p99 per workload,
/// in design order (taken from the first feasible plan).
fn columns(rows: &[Result<Plan, Infeasible>]) -> (Vec<String>, Vec<String>) {
    let first = rows.iter().find_map(|r| r.as_ref().ok());
    (
        first.map_or(Vec::new(), |p| {
            p.services.iter().map(|s| s.name.clone()).collect()
        }),
        first.map_or(Vec::new(), |p| {
            p.workloads.iter().map(|w| w.name.clone()).collect()
        }),
    )
}

/// The sweep as CSV: a header, then a row per load; an infeasible load has empty figures.
pub fn to_csv(loads: &[f64], rows: &[Result<Plan, Infeasible>]) -> String {
    let (services, workloads) = columns(rows);
    let mut out = String::from("load,feasible,cost_per_hour,total_replicas");
    for s in &services {
        let _ = write!(out, ",replicas_{s}");
    }
    for w in &workloads {
        let _ = write!(out, ",p99_ms_{w}");
    }
    out.push('\n');
    for (load, row) in loads.iter().zip(rows) {
        let _ = write!(out, "{load}");
        match row {
            Ok(p) => {
                let _ = write!(out, ",true,{},{}", p.cost_per_hour, p.total_replicas);
                for s in &services {
                    let n = p.services.iter().find(|x| &x.name == s).map(|x| x.replicas);
                    let _ = write!(out, ",{}", n.map_or(String::new(), |n| n.to_string()));
                }
                for w in &workloads {
                    let v = p.workloads.iter().find(|x| &x.name == w).map(|x| x.p99_ms);
                    let _ = write!(out, ",{}", v.map_or(String::new(), |v| v.to_string()));
                }
            }
            Err(_) => {
                out.push_str(",false,,");
                for _ in 0..services.len() + workloads.len() {
                    out.push(',');
                }
            }
        }
        out.push('\n');
    }
    out
}

/// The sweep as JSON: `{"rows": [{"load", "plan" | "infeasible"}]}`.
pub fn to_json(loads: &[f64], rows: &[Result<Plan, Infeasible>]) -> serde_json::Value {
    serde_json::json!({
        "rows": loads.iter().zip(rows).map(|(load, row)| match row {
            Ok(p) => serde_json::json!({ "load": load, "plan": super::to_json(p) }),
            Err(e) => serde_json::json!({ "load": load, "infeasible": e.to_json() }),
        }).collect::<Vec<_>>(),
    })
}

/// The sweep as a table: one row per load.
pub fn to_table(loads: &[f64], rows: &[Result<Plan, Infeasible>]) -> String {
    let (services, workloads) = columns(rows);
    let mut out = String::new();
    let _ = write!(out, "{:>7} {:>10} {:>9}", "load", "$/h", "replicas");
    for s in &services {
        let _ = write!(out, " {:>10}", truncate(s));
    }
    for w in &workloads {
        let _ = write!(out, " {:>12}", format!("{} p99", truncate(w)));
    }
    out.push('\n');
    for (load, row) in loads.iter().zip(rows) {
        let _ = write!(out, "{:>7}", format!("{load}x"));
        match row {
            Ok(p) => {
                let _ = write!(out, " {:>10.2} {:>9}", p.cost_per_hour, p.total_replicas);
                for s in &services {
                    let n = p
                        .services
                        .iter()
                        .find(|x| &x.name == s)
                        .map_or(0, |x| x.replicas);
                    let _ = write!(out, " {n:>10}");
                }
                for w in &workloads {
                    let v = p
                        .workloads
                        .iter()
                        .find(|x| &x.name == w)
                        .map_or(0.0, |x| x.p99_ms);
                    let _ = write!(out, " {:>12}", format!("{v:.1}ms"));
                }
            }
            Err(e) => {
                let first = e.reasons.first().map(|r| r.to_string()).unwrap_or_default();
                let _ = write!(out, "  infeasible: {first}");
            }
        }
        out.push('\n');
    }
    out
}

fn truncate(s: &str) -> String {
    s.chars().take(10).collect()
}
