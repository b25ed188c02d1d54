//! `kendall compare`: two designs of the same workload side by side, across loads.
//!
//! For each load multiplier, [`compare`] predicts both designs with
//! [`crate::queueing::predict()`] (and, when asked, simulates them with
//! [`crate::simulate::simulate`]) and reports for each: the latency of every request workload
//! (mean, p50, p95, p99, p99.9), the highest station utilisation and the service it belongs to
//! (the bottleneck), whether every SLO is met, and the cost per hour ([`cost_per_hour`]).
//! `docs/paper.md` uses it to test the claim that microservices scale better than a monolith.
//!
//! # Replicas at each load ([`Scaling`])
//!
//! * [`Scaling::AsDesigned`]: the rule of `kendall predict`: a service runs at its override,
//!   else its pin, else the lower bound of its range. The designs' capacity stays fixed while
//!   the load grows, so this shows where each one breaks.
//! * [`Scaling::Target`] (the "scale each service to 70%" rule): at every load, each deployed
//!   service runs at the **fewest replicas (per shard) that keep every station's utilisation
//!   at or below the target** (0.7 by default, [`TARGET_UTILIZATION`]), and at least
//!   `min_replicas` (2 by default, [`MIN_REPLICAS`]: one replica can fail or be drained). A pin
//!   and an override are floors too; the design's upper bounds are ignored, since the rule
//!   asks what each architecture needs rather than what its author allowed. Job services keep
//!   their design replicas (they have no request load). Utilisation is the predictor's: busy
//!   servers over servers for queues (the holding time, downstream calls included, for
//!   blocking workers), and the load fraction λ / capacity for batching services. A service
//!   is one unit: a monolith's replica carries every stage, so scaling it scales them all.
//!
//!   How: start at the floors; predict; raise each service above the target to
//!   ⌈replicas × utilisation / target⌉ (exact for a station whose utilisation is inversely
//!   proportional to its replicas, which every station's is when the others are fixed); repeat
//!   until none is above. A blocking service's utilisation also falls when its callees get
//!   replicas, and retried calls make every load depend on latency, so for blocking services
//!   (and for every service of a design with retries) a last pass takes replicas away again,
//!   one at a time in design order, while every station stays at or below the target.
//!
//! The result is a pure function of the models and options, and the same on every machine
//! once rounded by [`to_table`] or [`to_json`].

mod load;
mod report;

pub use crate::plan::cost::{CostError, cost_per_hour, design_replicas, replica_cost_per_hour};
pub use load::{MAX_STEPS, parse_load_range};
pub use report::{fmt_load, to_json, to_table};

use crate::model::{Model, Service};
use crate::queueing::{self, Prediction};
use crate::simulate::{self, Estimate, Simulation};
use std::collections::BTreeMap;

/// The utilisation [`Scaling::Target`] scales to by default.
pub const TARGET_UTILIZATION: f64 = 0.7;
/// The fewest replicas per service [`Scaling::Target`] runs by default.
pub const MIN_REPLICAS: u32 = 2;
/// The most replicas per shard a service may have (the language's limit).
const MAX_REPLICAS: u32 = 100_000;
/// Prediction rounds [`Scaling::Target`] may take to raise replicas.
const MAX_ROUNDS: usize = 200;
/// Slack for comparing utilisations with the target (rounding in the predictor).
const SLACK: f64 = 1e-9;

/// How many replicas each service runs at each load (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scaling {
    /// Overrides, else pins, else lower bounds: the rule of `kendall predict`.
    AsDesigned,
    /// The fewest replicas that keep every station at or below `utilization`, and at least
    /// `min_replicas` per service.
    Target { utilization: f64, min_replicas: u32 },
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling::Target {
            utilization: TARGET_UTILIZATION,
            min_replicas: MIN_REPLICAS,
        }
    }
}

/// What to compare, besides the designs and loads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub scaling: Scaling,
    /// Simulate both designs at every load too, with these options; their `load` and
    /// `replicas` are replaced by the row's.
    pub simulate: Option<simulate::Options>,
}

/// Both designs at every load.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The designs' system names (the CLI may replace them, e.g. with file names).
    pub designs: [String; 2],
    pub scaling: Scaling,
    /// The simulation options, when the designs were simulated.
    pub simulate: Option<simulate::Options>,
    /// One per load, in the order given.
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The load multiplier.
    pub load: f64,
    pub designs: [DesignAtLoad; 2],
}

/// One design at one load.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignAtLoad {
    /// Replicas per shard of every deployed service.
    pub replicas: BTreeMap<String, u32>,
    /// Replicas over all deployed services, a sharded service counting replicas × shards.
    pub total_replicas: u64,
    pub cost_per_hour: Result<f64, CostError>,
    /// Request workloads, in the design's order.
    pub workloads: Vec<WorkloadFigures>,
    /// The highest station utilisation (an overloaded station's offered load over capacity,
    /// so it can exceed 1), and its service: the first in design order on a tie. `None` when
    /// every station is idle or external.
    pub max_utilization: Option<f64>,
    pub bottleneck: Option<String>,
    /// No station is overloaded.
    pub stable: bool,
    /// Every SLO of every workload is met (a workload without a latency meets none).
    pub slos_met: bool,
    pub simulated: Option<Simulated>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadFigures {
    pub name: String,
    /// The offered rate, the design's rate × load.
    pub rate_rps: f64,
    /// `None` when a station on the workload's path is overloaded.
    pub latency: Option<Latencies>,
    pub slos_met: bool,
}

/// End-to-end latency, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latencies {
    pub mean_s: f64,
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    pub p999_s: f64,
}

/// The simulator's figures for one design at one load: means over replications with 95%
/// confidence half-widths.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulated {
    pub workloads: Vec<SimulatedWorkload>,
    /// The highest simulated utilisation (load fraction for batching) and its service.
    pub max_utilization: Option<Estimate>,
    pub bottleneck: Option<String>,
    /// Services whose queue grew without bound in the run.
    pub saturated: Vec<String>,
    pub slos_met: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimulatedWorkload {
    pub name: String,
    pub mean_s: Estimate,
    pub p50_s: Estimate,
    pub p95_s: Estimate,
    pub p99_s: Estimate,
    pub p999_s: Estimate,
    pub slos_met: bool,
    /// False when the workload waits on a saturated station.
    pub stable: bool,
}

/// Why there is no comparison. `design` is the system name of the design concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    NoLoads,
    /// A load multiplier that is not a positive number.
    InvalidLoad(f64),
    /// A target utilisation outside (0, 1], or `min_replicas` of 0.
    InvalidScaling(String),
    NoRequestWorkloads {
        design: String,
    },
    UnknownService {
        design: String,
        service: String,
    },
    ExternalReplicas {
        design: String,
        service: String,
    },
    /// Calls loop with a total multiplier of at least 1.
    Divergent {
        design: String,
        services: Vec<String>,
    },
    /// [`Scaling::Target`] found no replica counts within the language's limit.
    Unreachable {
        design: String,
        load: f64,
        service: String,
    },
    Simulate {
        design: String,
        load: f64,
        error: simulate::Error,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoLoads => f.write_str("no load to compare the designs at"),
            Error::InvalidLoad(l) => write!(f, "the load multiplier {l} is not positive"),
            Error::InvalidScaling(m) => f.write_str(m),
            Error::NoRequestWorkloads { design } => write!(
                f,
                "`{design}` has no request workloads: there is no latency to compare"
            ),
            Error::UnknownService { design, service } => {
                write!(f, "`{design}` has no service named `{service}`")
            }
            Error::ExternalReplicas { design, service } => write!(
                f,
                "`{service}` in `{design}` is external: it has no replicas"
            ),
            Error::Divergent { design, services } => {
                let names: Vec<String> = services.iter().map(|s| format!("`{s}`")).collect();
                write!(
                    f,
                    "in `{design}`, calls between {} multiply load without bound",
                    names.join(", ")
                )
            }
            Error::Unreachable {
                design,
                load,
                service,
            } => write!(
                f,
                "at load {}x, `{service}` in `{design}` would need more than {MAX_REPLICAS} replicas to stay within the target utilisation",
                fmt_load(*load)
            ),
            Error::Simulate {
                design,
                load,
                error,
            } => write!(
                f,
                "simulating `{design}` at load {}x: {error}",
                fmt_load(*load)
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Compares designs `a` and `b` at every load in `loads` (see the module documentation).
/// `replicas_a` and `replicas_b` are per-shard replica overrides, as `--replicas` gives
/// `kendall predict`: with [`Scaling::AsDesigned`] they replace pins and lower bounds, with
/// [`Scaling::Target`] they are floors.
pub fn compare(
    a: &Model,
    b: &Model,
    loads: &[f64],
    replicas_a: &BTreeMap<String, u32>,
    replicas_b: &BTreeMap<String, u32>,
    options: &Options,
) -> Result<Comparison, Error> {
    if loads.is_empty() {
        return Err(Error::NoLoads);
    }
    if let Some(&l) = loads.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(Error::InvalidLoad(l));
    }
    if let Scaling::Target {
        utilization,
        min_replicas,
    } = options.scaling
    {
        if !(utilization > 0.0 && utilization <= 1.0) {
            return Err(Error::InvalidScaling(format!(
                "the target utilisation must be above 0% and at most 100%, found {}%",
                fmt_load(utilization * 100.0)
            )));
        }
        if min_replicas == 0 {
            return Err(Error::InvalidScaling(
                "every service needs at least 1 replica".into(),
            ));
        }
    }
    let names = [name(a, "first design"), name(b, "second design")];
    for ((model, design), overrides) in [a, b].into_iter().zip(&names).zip([replicas_a, replicas_b])
    {
        validate(model, design, overrides)?;
    }
    let mut rows = Vec::with_capacity(loads.len());
    for &load in loads {
        let at = |model: &Model, design: &String, overrides: &BTreeMap<String, u32>| {
            design_at_load(model, design, overrides, load, options)
        };
        rows.push(Row {
            load,
            designs: [at(a, &names[0], replicas_a)?, at(b, &names[1], replicas_b)?],
        });
    }
    Ok(Comparison {
        designs: names,
        scaling: options.scaling,
        simulate: options.simulate.clone(),
        rows,
    })
}

fn name(model: &Model, fallback: &str) -> String {
    model.system.clone().unwrap_or_else(|| fallback.to_string())
}

fn validate(model: &Model, design: &str, overrides: &BTreeMap<String, u32>) -> Result<(), Error> {
    if !model.workloads.iter().any(|w| w.job.is_none()) {
        return Err(Error::NoRequestWorkloads {
            design: design.to_string(),
        });
    }
    for service in overrides.keys() {
        match model.service(service) {
            None => {
                return Err(Error::UnknownService {
                    design: design.to_string(),
                    service: service.clone(),
                });
            }
            Some(s) if s.replicas.is_none() => {
                return Err(Error::ExternalReplicas {
                    design: design.to_string(),
                    service: service.clone(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn design_at_load(
    model: &Model,
    design: &str,
    overrides: &BTreeMap<String, u32>,
    load: f64,
    options: &Options,
) -> Result<DesignAtLoad, Error> {
    let (replicas, prediction) = match options.scaling {
        Scaling::AsDesigned => {
            let replicas = design_replicas(model, overrides);
            let prediction = predict(model, design, load, &replicas)?;
            (replicas, prediction)
        }
        Scaling::Target {
            utilization,
            min_replicas,
        } => {
            let floors: BTreeMap<String, u32> = model
                .services
                .iter()
                .filter_map(|s| floor(s, overrides, min_replicas).map(|f| (s.name.clone(), f)))
                .collect();
            scale_to_target(model, design, load, floors, utilization)?
        }
    };
    let total_replicas = model
        .services
        .iter()
        .filter_map(|s| {
            replicas
                .get(&s.name)
                .map(|&r| u64::from(r) * u64::from(s.shards))
        })
        .sum();
    let (max_utilization, bottleneck) = highest(
        model
            .services
            .iter()
            .zip(&prediction.services)
            .filter_map(|(s, p)| utilization(p).map(|u| (s.name.as_str(), u))),
    );
    let workloads: Vec<WorkloadFigures> = prediction
        .workloads
        .iter()
        .map(|w| WorkloadFigures {
            name: w.name.clone(),
            rate_rps: w.rate_rps,
            latency: w.latency.as_ref().map(|l| Latencies {
                mean_s: l.mean_s,
                p50_s: l.p50_s,
                p95_s: l.p95_s,
                p99_s: l.p99_s,
                p999_s: l.p999_s,
            }),
            slos_met: w.latency.is_some() && w.slos.iter().all(|s| s.met),
        })
        .collect();
    let simulated = match &options.simulate {
        None => None,
        Some(o) => {
            let o = simulate::Options {
                load,
                replicas: replicas.clone(),
                ..o.clone()
            };
            let s = simulate::simulate(model, &o).map_err(|error| Error::Simulate {
                design: design.to_string(),
                load,
                error,
            })?;
            Some(simulated(&s))
        }
    };
    Ok(DesignAtLoad {
        cost_per_hour: cost_per_hour(model, &replicas),
        replicas,
        total_replicas,
        stable: prediction.services.iter().all(|s| s.unstable.is_none()),
        slos_met: workloads.iter().all(|w| w.slos_met),
        workloads,
        max_utilization,
        bottleneck,
        simulated,
    })
}

/// The fewest replicas [`Scaling::Target`] allows a service; `None` for external services.
fn floor(s: &Service, overrides: &BTreeMap<String, u32>, min_replicas: u32) -> Option<u32> {
    let r = s.replicas?;
    let given = overrides.get(&s.name).copied();
    if s.kind == crate::model::ServiceKind::Job {
        return Some(given.unwrap_or(r.min).max(1));
    }
    let pin = r.pinned.then_some(r.min);
    Some(
        [Some(min_replicas), pin, given]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(1)
            .max(1),
    )
}

fn predict(
    model: &Model,
    design: &str,
    load: f64,
    replicas: &BTreeMap<String, u32>,
) -> Result<Prediction, Error> {
    queueing::predict(
        model,
        &queueing::Options {
            load,
            replicas: replicas.clone(),
        },
    )
    .map_err(|d| Error::Divergent {
        design: design.to_string(),
        services: d.services,
    })
}

/// A station's utilisation: its offered load over capacity when overloaded.
fn utilization(p: &queueing::predict::ServicePrediction) -> Option<f64> {
    p.unstable.map(|o| o.utilization).or(p.utilization)
}

/// The highest positive utilisation and its service, the first on a tie.
fn highest<'a>(stations: impl Iterator<Item = (&'a str, f64)>) -> (Option<f64>, Option<String>) {
    let mut best: Option<(&str, f64)> = None;
    for (name, u) in stations {
        if u > 0.0 && best.is_none_or(|(_, b)| u > b) {
            best = Some((name, u));
        }
    }
    (best.map(|b| b.1), best.map(|b| b.0.to_string()))
}

/// Whether every station is at or below `target`.
fn within(prediction: &Prediction, target: f64) -> bool {
    prediction
        .services
        .iter()
        .filter_map(utilization)
        .all(|u| u <= target + SLACK)
}

fn scale_to_target(
    model: &Model,
    design: &str,
    load: f64,
    floors: BTreeMap<String, u32>,
    target: f64,
) -> Result<(BTreeMap<String, u32>, Prediction), Error> {
    let mut replicas = floors.clone();
    let mut prediction = predict(model, design, load, &replicas)?;
    let mut rounds = 0;
    while !within(&prediction, target) {
        rounds += 1;
        for (s, p) in model.services.iter().zip(&prediction.services) {
            let (Some(n), Some(u)) = (replicas.get_mut(&s.name), utilization(p)) else {
                continue;
            };
            if u <= target + SLACK {
                continue;
            }
            if *n >= MAX_REPLICAS || rounds > MAX_ROUNDS {
                return Err(Error::Unreachable {
                    design: design.to_string(),
                    load,
                    service: s.name.clone(),
                });
            }
            let needed = (f64::from(*n) * u / target - SLACK).ceil();
            *n = needed.clamp(f64::from(*n + 1), f64::from(MAX_REPLICAS)) as u32;
        }
        prediction = predict(model, design, load, &replicas)?;
    }
    // Replicas raised for a service whose utilisation depends on the others' may be more than
    // it needs once the others have theirs: take them away while every station stays within.
    let retries = model.services.iter().any(|s| {
        s.endpoints.iter().any(|e| {
            let mut any = false;
            crate::model::graph::each_call(&e.steps, &mut |c| any |= c.retries > 0);
            any
        })
    });
    for s in &model.services {
        if !(s.workers_blocking || retries) {
            continue;
        }
        let Some(&low) = floors.get(&s.name) else {
            continue;
        };
        while replicas[&s.name] > low {
            let mut fewer = replicas.clone();
            *fewer.get_mut(&s.name).expect("present") -= 1;
            let p = predict(model, design, load, &fewer)?;
            if !within(&p, target) {
                break;
            }
            replicas = fewer;
            prediction = p;
        }
    }
    Ok((replicas, prediction))
}

fn simulated(s: &Simulation) -> Simulated {
    let mut best: Option<(&str, Estimate)> = None;
    for service in &s.services {
        let Some(u) = service.utilization else {
            continue;
        };
        if u.mean > 0.0 && best.is_none_or(|(_, b)| u.mean > b.mean) {
            best = Some((service.name.as_str(), u));
        }
    }
    let workloads: Vec<SimulatedWorkload> = s
        .workloads
        .iter()
        .map(|w| SimulatedWorkload {
            name: w.name.clone(),
            mean_s: w.mean_s,
            p50_s: w.p50_s,
            p95_s: w.p95_s,
            p99_s: w.p99_s,
            p999_s: w.p999_s,
            slos_met: w.stable && w.slos.iter().all(|s| s.met),
            stable: w.stable,
        })
        .collect();
    Simulated {
        slos_met: workloads.iter().all(|w| w.slos_met),
        workloads,
        max_utilization: best.map(|b| b.1),
        bottleneck: best.map(|b| b.0.to_string()),
        saturated: s
            .services
            .iter()
            .filter(|s| s.saturated)
            .map(|s| s.name.clone())
            .collect(),
    }
}
