//! A plan from the search's result, and its renderings: plan.json and the human table.

use super::oracle::{Check, Oracle, utilization};
use super::{
    Binding, FORMAT_VERSION, HOURS_PER_MONTH, JobPlan, Plan, PlanOptions, ServicePlan, SloPlan,
    WorkloadPlan,
};
use std::fmt::Write;

/// Rounds for output, so the bytes are the same wherever floating point differs in its last
/// digits.
pub fn round(x: f64, decimals: i32) -> f64 {
    crate::queueing::report::round(x, decimals)
}

/// Seconds as `12.3ms` (or `1.50s` from a second up).
pub fn fmt_ms(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2}s")
    } else {
        format!("{:.1}ms", s * 1000.0)
    }
}

pub(super) struct Parts<'a> {
    pub replicas: &'a [u32],
    pub peak: &'a [u32],
    pub check: &'a Check,
    pub jobs: Vec<JobPlan>,
    pub headroom: Option<f64>,
    pub binding: Vec<Binding>,
    pub optimal: bool,
}

pub(super) fn build(oracle: &Oracle, options: &PlanOptions, parts: Parts) -> Plan {
    let model = oracle.model;
    let p = &parts.check.prediction;
    let services: Vec<ServicePlan> = oracle
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let s = model.service(&u.name).expect("units are services");
            let n = parts.replicas[i];
            let job_cost: f64 = parts
                .jobs
                .iter()
                .filter(|j| j.service == u.name)
                .map(|j| j.cost_per_hour)
                .sum();
            let duty: f64 = parts
                .jobs
                .iter()
                .filter(|j| j.service == u.name)
                .map(|j| j.run_hours / j.every_hours)
                .sum();
            let (utilization, cost) = if u.job {
                (duty, job_cost)
            } else {
                (
                    utilization(p, &u.name).unwrap_or(0.0),
                    u.cost * f64::from(n),
                )
            };
            ServicePlan {
                name: u.name.clone(),
                replicas: n,
                shards: u.shards,
                max_replicas: parts.peak[i].max(n),
                pinned: u.pinned,
                utilization: round(utilization, 4),
                cost_per_hour: round(cost, 4),
                // The ranged endpoint's when the planner chose it.
                batch_max: s.current().batch_max.or_else(|| {
                    s.endpoints
                        .iter()
                        .filter_map(|e| e.batch.as_ref())
                        .map(|b| b.max)
                        .max()
                }),
                gpu: s.gpu.as_ref().map(|g| g.kind.clone()),
                gpu_choices: s.gpu_choices.clone(),
                batch_max_choices: s.batch_choices().map(<[u32]>::to_vec).unwrap_or_default(),
            }
        })
        .collect();
    let workloads: Vec<WorkloadPlan> = p
        .workloads
        .iter()
        .enumerate()
        .map(|(w, wp)| {
            let l = wp.latency.as_ref();
            let ms = |f: fn(&crate::queueing::predict::Latency) -> f64| {
                l.map_or(0.0, |l| round(f(l) * 1000.0, 3))
            };
            let zone = parts.check.zone.as_ref().map(|z| &z.workloads[w]);
            WorkloadPlan {
                name: wp.name.clone(),
                rate_rps: round(wp.rate_rps, 3),
                mean_ms: ms(|l| l.mean_s),
                p50_ms: ms(|l| l.p50_s),
                p95_ms: ms(|l| l.p95_s),
                p99_ms: ms(|l| l.p99_s),
                p999_ms: ms(|l| l.p999_s),
                slos: wp
                    .slos
                    .iter()
                    .enumerate()
                    .map(|(k, s)| SloPlan {
                        stat: s.stat.clone(),
                        target_ms: round(s.target_s * 1000.0, 3),
                        predicted_ms: round(s.predicted_s * 1000.0, 3),
                        zone_loss_ms: zone
                            .and_then(|z| z.slos.get(k))
                            .map(|z| round(z.predicted_s * 1000.0, 3)),
                        met: s.met,
                    })
                    .collect(),
            }
        })
        .collect();
    let external: f64 = model
        .services
        .iter()
        .filter(|s| s.replicas.is_none())
        .filter_map(|s| s.cost_per_hour)
        .sum();
    let cost: f64 = services.iter().map(|s| s.cost_per_hour).sum::<f64>() + external;
    Plan {
        format_version: FORMAT_VERSION,
        system: model.system.clone().unwrap_or_default(),
        feasible: true,
        optimal: parts.optimal,
        load: options.load,
        ceiling: options.ceiling,
        cost_per_hour: round(cost, 4),
        cost_per_month: round(cost * HOURS_PER_MONTH, 2),
        total_replicas: services
            .iter()
            .map(|s| u64::from(s.replicas) * u64::from(s.shards))
            .sum(),
        services,
        workloads,
        jobs: parts.jobs,
        headroom: parts.headroom,
        binding: parts.binding,
        predictions: oracle.predictions.get(),
    }
}

/// plan.json (docs/plan-json.md).
pub fn to_json(plan: &Plan) -> serde_json::Value {
    serde_json::to_value(plan).expect("a plan serialises")
}

/// The human table of `kendall plan`.
pub fn to_table(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for `{}` at {}x load, utilisation ceiling {:.0}%{}",
        plan.system,
        plan.load,
        plan.ceiling * 100.0,
        if plan.optimal {
            ", proved optimal"
        } else {
            ", not proved optimal"
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:>8} {:>6} {:>8} {:>7} {:>10}  notes",
        "service", "replicas", "shards", "max", "util", "$/h"
    );
    for s in &plan.services {
        let mut notes = Vec::new();
        if s.pinned {
            notes.push("pinned".to_string());
        }
        if let Some(g) = &s.gpu {
            if s.gpu_choices.is_empty() {
                notes.push(format!("gpu {g}"));
            } else {
                notes.push(format!(
                    "gpu {g} (chosen from {})",
                    s.gpu_choices.join(", ")
                ));
            }
        }
        if let Some(b) = s.batch_max {
            if s.batch_max_choices.is_empty() {
                notes.push(format!("batch max {b}"));
            } else {
                notes.push(format!(
                    "batch max {b} (chosen from {})",
                    s.batch_max_choices
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let _ = writeln!(
            out,
            "{:<20} {:>8} {:>6} {:>8} {:>6.1}% {:>10.3}  {}",
            s.name,
            s.replicas,
            s.shards,
            s.max_replicas,
            s.utilization * 100.0,
            s.cost_per_hour,
            notes.join(", ")
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:>10} {:>10} {:>10}  slos",
        "workload", "rate/s", "p50", "p99"
    );
    for w in &plan.workloads {
        let slos: Vec<String> = w
            .slos
            .iter()
            .map(|s| {
                let zone = s.zone_loss_ms.map_or(String::new(), |z| {
                    format!(", {} zone lost", fmt_ms(z / 1000.0))
                });
                format!(
                    "{} < {} {} ({}{zone})",
                    s.stat,
                    fmt_ms(s.target_ms / 1000.0),
                    if s.met { "met" } else { "MISSED" },
                    fmt_ms(s.predicted_ms / 1000.0)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<20} {:>10.1} {:>10} {:>10}  {}",
            w.name,
            w.rate_rps,
            fmt_ms(w.p50_ms / 1000.0),
            fmt_ms(w.p99_ms / 1000.0),
            slos.join("; ")
        );
    }
    for j in &plan.jobs {
        let _ = writeln!(
            out,
            "\njob {}: {} replicas of `{}` finish in {:.2}h (deadline {:.2}h, every {:.2}h): ${:.2} a run, ${:.3}/h",
            j.workload,
            j.replicas,
            j.service,
            j.run_hours,
            j.deadline_hours,
            j.every_hours,
            j.cost_per_run,
            j.cost_per_hour
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cost: ${:.2}/h, ${:.0}/month; {} replicas",
        plan.cost_per_hour, plan.cost_per_month, plan.total_replicas
    );
    match plan.headroom {
        Some(h) => {
            let _ = writeln!(
                out,
                "headroom: the plan holds up to {h}x the design's load ({:.2}x the planned load)",
                h / plan.load
            );
        }
        None => {
            let _ = writeln!(out, "headroom: beyond 1000x");
        }
    }
    if plan.binding.is_empty() {
        let _ = writeln!(out, "binding: none");
    } else {
        let _ = writeln!(out, "binding:");
        for b in &plan.binding {
            let _ = writeln!(out, "  {:<13} {:<20} {}", b.kind, b.subject, b.detail);
        }
    }
    out
}
