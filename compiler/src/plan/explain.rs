//! Why no plan exists: which SLO on which path and its floor, which service cannot be
//! brought under the ceiling, which cluster resource or budget binds and by how much.

use super::oracle::{Check, Oracle, utilization};
use super::report::{fmt_ms, round};
use super::search::critical_path;
use serde::Serialize;

/// No plan meets every constraint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Infeasible {
    pub system: String,
    pub load: f64,
    pub reasons: Vec<Reason>,
    /// With choices (`gpu one_of`, `batch max A..B`): the options the reasons are for, those
    /// that came closest to a plan. Empty without choices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChosenOption>,
}

/// A service's option in an infeasibility explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChosenOption {
    pub service: String,
    pub gpu: Option<String>,
    pub batch_max: Option<u32>,
}

impl std::fmt::Display for ChosenOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.service)?;
        if let Some(g) = &self.gpu {
            write!(f, " on {g}")?;
        }
        if let Some(b) = self.batch_max {
            write!(f, " with batch max {b}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// An SLO unmet with every service at its most replicas.
    Slo {
        workload: String,
        stat: String,
        target_ms: f64,
        /// With every service at its upper bound.
        best_ms: f64,
        /// At a vanishing load: what no replica count can beat.
        unloaded_ms: f64,
        /// The critical path by mean latency, entry first.
        path: Vec<String>,
        /// Unmet only with a zone lost.
        zone_loss: bool,
        help: String,
    },
    /// A station over the ceiling even at its upper bound (or pinned).
    Capacity {
        service: String,
        utilization: f64,
        replicas: u32,
        /// Replicas that would bring it under the ceiling.
        replicas_needed: u32,
        pinned: bool,
        ceiling: f64,
    },
    /// A cluster resource too small for the cheapest plan that meets the SLOs (`floor`: for
    /// even the fewest replicas the ceiling and redundancy allow).
    Cluster {
        resource: String,
        needed: f64,
        available: f64,
        floor: bool,
    },
    Budget {
        needed_per_hour: f64,
        available_per_hour: f64,
        floor: bool,
    },
    /// A job cannot finish its work within its deadline.
    Deadline {
        workload: String,
        service: String,
        replicas_needed: u32,
        replicas_max: u32,
        pinned: bool,
    },
    /// With one zone lost, even at every service's most replicas, a workload overloads
    /// `services` (or they go down with the zone: `single`, one replica each).
    ZoneLoss {
        workload: String,
        services: Vec<String>,
        single: bool,
    },
    Unpriced {
        service: String,
        resource: String,
    },
    /// Calls loop with a total multiplier of at least 1.
    Divergent {
        services: Vec<String>,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Slo {
                workload,
                stat,
                target_ms,
                best_ms,
                unloaded_ms,
                path,
                zone_loss,
                help,
            } => {
                let path = path.join(" → ");
                let t = |ms: f64| fmt_ms(ms / 1000.0);
                if unloaded_ms > target_ms {
                    write!(
                        f,
                        "`{workload}` {stat} < {}: the unloaded latency of the critical path {path} is {} > {}; no replica count helps; {help}",
                        t(*target_ms),
                        t(*unloaded_ms),
                        t(*target_ms)
                    )
                } else {
                    write!(
                        f,
                        "`{workload}` {stat} < {}: with every service at its most replicas{} it is {} (unloaded {}, critical path {path}); {help}",
                        t(*target_ms),
                        if *zone_loss { " and one zone lost" } else { "" },
                        t(*best_ms),
                        t(*unloaded_ms)
                    )
                }
            }
            Reason::Capacity {
                service,
                utilization,
                replicas,
                replicas_needed,
                pinned,
                ceiling,
            } => {
                let how = if *pinned {
                    format!("pinned at {replicas} replicas")
                } else {
                    format!("at its upper bound of {replicas} replicas")
                };
                write!(
                    f,
                    "service `{service}` runs at {:.1}% {how}, above the {:.0}% ceiling; it needs {replicas_needed}: {}",
                    utilization * 100.0,
                    ceiling * 100.0,
                    if *pinned {
                        format!("pin `replicas {replicas_needed}` or give it a range")
                    } else {
                        format!(
                            "raise the upper bound of its `replicas` range to {replicas_needed}"
                        )
                    }
                )
            }
            Reason::Cluster {
                resource,
                needed,
                available,
                floor,
            } => {
                let show = |x: f64| {
                    if resource == "memory" {
                        format!("{:.1} GiB", x / (1u64 << 30) as f64)
                    } else {
                        format!("{x:.1}")
                    }
                };
                write!(
                    f,
                    "cluster {resource}: {} needs {}, the cluster has {} (short by {}); grow the cluster or use less per replica",
                    if *floor {
                        "even the fewest replicas the ceiling and redundancy allow"
                    } else {
                        "the cheapest plan that meets the SLOs"
                    },
                    show(*needed),
                    show(*available),
                    show(needed - available)
                )
            }
            Reason::Budget {
                needed_per_hour,
                available_per_hour,
                floor,
            } => write!(
                f,
                "budget: {} costs ${:.2}/h (${:.0}/month), the budget is ${:.2}/h (${:.0}/month), short by ${:.2}/h",
                if *floor {
                    "even the fewest replicas the ceiling and redundancy allow"
                } else {
                    "the cheapest plan that meets the SLOs"
                },
                needed_per_hour,
                needed_per_hour * super::HOURS_PER_MONTH,
                available_per_hour,
                available_per_hour * super::HOURS_PER_MONTH,
                needed_per_hour - available_per_hour
            ),
            Reason::Deadline {
                workload,
                service,
                replicas_needed,
                replicas_max,
                pinned,
            } => write!(
                f,
                "job `{workload}` needs {replicas_needed} replicas of `{service}` to finish within its deadline, {}{replicas_max}; {}",
                if *pinned {
                    "which is pinned at "
                } else {
                    "whose range stops at "
                },
                if *pinned {
                    "raise the pin or extend the deadline"
                } else {
                    "raise its range or extend the deadline"
                }
            ),
            Reason::ZoneLoss {
                workload,
                services,
                single,
            } => {
                let names = services
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if *single {
                    write!(
                        f,
                        "with one zone lost, `{workload}` loses {names}: one replica goes down with its zone; give it 2 or more (a range or a larger pin)"
                    )
                } else {
                    write!(
                        f,
                        "with one zone lost and every service at its most replicas, `{workload}` overloads {names}; raise their upper bounds"
                    )
                }
            }
            Reason::Unpriced { service, resource } => write!(
                f,
                "service `{service}` uses {resource}, which `pricing` gives no price for: add `{resource} $X/h` to `pricing` or give the service a `cost`"
            ),
            Reason::Divergent { services } => write!(
                f,
                "calls among {} multiply without bound: no load settles",
                services
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Why the plan with every service at its most replicas (`top`) fails.
pub(super) fn at_top(oracle: &Oracle, top: &Check) -> Vec<Reason> {
    let units = oracle.units;
    let model = oracle.model;
    let mut out = Vec::new();
    for &(i, util) in &top.over {
        let u = &units[i];
        out.push(Reason::Capacity {
            service: u.name.clone(),
            utilization: round(util, 4),
            replicas: u.hi,
            replicas_needed: (f64::from(u.hi) * util / oracle.ceiling - 1e-9).ceil() as u32,
            pinned: u.pinned,
            ceiling: oracle.ceiling,
        });
    }
    if !out.is_empty() {
        return out;
    }
    let hi: Vec<u32> = units.iter().map(|u| u.hi).collect();
    let unloaded = oracle.predict_at(&hi, oracle.load * 1e-6);
    let workloads: Vec<&crate::model::Workload> =
        model.workloads.iter().filter(|w| w.job.is_none()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for &(w, s, _, zone) in &top.failed {
        if !seen.insert((w, s)) {
            continue;
        }
        let workload = workloads[w];
        let Some(slo) = workload.slos.get(s) else {
            out.push(zone_loss(oracle, top, workload));
            continue;
        };
        let best = if zone {
            top.zone.as_ref()
        } else {
            Some(&top.prediction)
        }
        .and_then(|p| p.workloads[w].slos.get(s))
        .map_or(f64::INFINITY, |v| v.predicted_s);
        let floor = unloaded.workloads[w]
            .slos
            .get(s)
            .map_or(0.0, |v| v.predicted_s);
        let mean = |name: &str| {
            unloaded
                .services
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.sojourn_mean_s)
                .unwrap_or(0.0)
        };
        let endpoint = workload.entry.endpoint.as_deref().unwrap_or("");
        let (_, path) = critical_path(model, &mean, &workload.entry.service, endpoint, 0);
        let mut path_dedup: Vec<String> = Vec::new();
        for p in path {
            if path_dedup.last() != Some(&p) {
                path_dedup.push(p);
            }
        }
        let slowest = path_dedup
            .iter()
            .max_by(|a, b| mean(a).total_cmp(&mean(b)))
            .cloned()
            .unwrap_or_default();
        let help = if floor > slo.target_s {
            let mut fixes = Vec::new();
            let services = path_dedup.iter().filter_map(|n| model.service(n));
            let mut batching = false;
            let mut gpu = false;
            for s in services {
                batching |= s
                    .endpoints
                    .iter()
                    .any(|e| e.batch.as_ref().is_some_and(|b| b.wait_s > 0.0));
                gpu |= s.gpu.is_some();
            }
            if batching {
                fixes.push("reduce batch wait".to_string());
            }
            if gpu {
                fixes.push("use a faster GPU".to_string());
            }
            fixes.push(format!("make `{slowest}` faster"));
            fixes.push(format!("or relax the SLO to at least {}", fmt_ms(floor)));
            fixes.join(", ")
        } else {
            // Queueing is what fails: the busiest capped station on the path.
            let busiest = units
                .iter()
                .filter(|u| path_dedup.contains(&u.name))
                .max_by(|a, b| {
                    let ua = utilization(&top.prediction, &a.name).unwrap_or(0.0);
                    let ub = utilization(&top.prediction, &b.name).unwrap_or(0.0);
                    ua.total_cmp(&ub)
                });
            match busiest {
                Some(u) if u.pinned => format!(
                    "`{}` is pinned at {} replicas: give it a range",
                    u.name, u.hi
                ),
                Some(u) => format!(
                    "raise the upper bound of `{}` (now {}), or make `{slowest}` faster",
                    u.name, u.hi
                ),
                None => format!("make `{slowest}` faster"),
            }
        };
        out.push(Reason::Slo {
            workload: workload.name.clone(),
            stat: slo.stat.clone(),
            target_ms: round(slo.target_s * 1000.0, 3),
            best_ms: round(best * 1000.0, 3),
            unloaded_ms: round(floor * 1000.0, 3),
            path: path_dedup,
            zone_loss: zone,
            help,
        });
    }
    out
}

/// A workload with no steady state once a zone is lost, at every service's upper bound.
fn zone_loss(oracle: &Oracle, top: &Check, workload: &crate::model::Workload) -> Reason {
    let units = oracle.units;
    match &top.zone {
        Some(z) => Reason::ZoneLoss {
            workload: workload.name.clone(),
            services: z
                .services
                .iter()
                .filter(|s| s.unstable.is_some())
                .map(|s| s.name.clone())
                .collect(),
            single: false,
        },
        None => Reason::ZoneLoss {
            workload: workload.name.clone(),
            services: units
                .iter()
                .filter(|u| !u.job && u.hi < 2)
                .map(|u| u.name.clone())
                .collect(),
            single: true,
        },
    }
}

impl std::fmt::Display for Infeasible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(note) = self.note() {
            writeln!(f, "{note}")?;
        }
        for r in &self.reasons {
            writeln!(f, "{r}")?;
        }
        Ok(())
    }
}

impl Infeasible {
    /// With choices: which options the reasons are for, e.g. "even with `ranker` on
    /// nvidia-a100 with batch max 8 (the options closest to a plan):".
    pub fn note(&self) -> Option<String> {
        if self.choices.is_empty() {
            return None;
        }
        let options: Vec<String> = self.choices.iter().map(ToString::to_string).collect();
        Some(format!(
            "even with {} (the options closest to a plan):",
            options.join(", ")
        ))
    }

    /// The `--format json` document of an infeasible design.
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "format_version": super::FORMAT_VERSION,
            "system": self.system,
            "feasible": false,
            "load": self.load,
            "reasons": self.reasons.iter().map(|r| {
                let mut v = serde_json::to_value(r).expect("reasons serialise");
                v["message"] = serde_json::Value::String(r.to_string());
                v
            }).collect::<Vec<_>>(),
        });
        if let Some(note) = self.note() {
            doc["choices"] = serde_json::to_value(&self.choices).expect("choices serialise");
            doc["note"] = serde_json::Value::String(note);
        }
        doc
    }
}
