//! `kendall plan`: the cheapest replica counts that meet every SLO.
//!
//! The decision is the replicas (per shard) of every deployed service whose count is not
//! pinned; the objective is cost per hour from `pricing` (or a service's `cost`), then the
//! fewest replicas. A plan is **feasible** when, at the planned load:
//!
//! * every station's utilisation is at or below the ceiling (0.85 by default) and stable;
//! * every SLO of every request workload is met by the predictor ([`crate::queueing::predict()`]);
//! * with `zones N` (N ≥ 2), the SLOs are still met with one zone lost: each service keeps
//!   `r − ⌈r / N⌉` of its `r` replicas (replicas spread evenly, the fullest zone lost);
//! * every planned service has at least `min_replicas` (2) replicas, within its `replicas A..B`;
//! * the planned resources fit the `cluster` and the cost fits the `budget`.
//!
//! How ([`search`], [`milp`]), after QUEUEING.md §7: lower bounds from the utilisation ceiling
//! (each station's utilisation is inversely proportional to its replicas); a check that the
//! design can meet its SLOs at all (every service at its upper bound — if not, [`explain`]
//! says which SLO, on which path, and the floor); a greedy repair that adds replicas where
//! the failing SLOs wait longest per dollar; a trim that takes away every replica it can.
//! Then an exact phase: a MILP (good_lp with microlp) chooses the cheapest replica vector
//! under cuts learnt from every infeasible vector the predictor has seen — feasibility is
//! monotone (more replicas never hurt), so a vector that fails proves every vector below it
//! fails — and the predictor verifies its choice; the first verified choice is optimal. The
//! greedy plan bounds the MILP (its cost) and stays the answer if the exact phase runs out
//! of its budget of predictions, which [`Plan::optimal`] reports.

mod choices;
pub mod cost;
mod explain;
mod jobs;
mod milp;
mod oracle;
pub mod report;
mod search;
pub mod sweep;

pub use choices::MAX_COMBINATIONS;
pub use explain::{ChosenOption, Infeasible, Reason};
pub use report::{to_json, to_table};

use crate::model::Model;
use serde::{Deserialize, Serialize};

/// The version of plan.json; bumped on any change that is not a pure addition.
pub const FORMAT_VERSION: u32 = 1;
/// Hours in a month, for `$/month` (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// What to plan for.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOptions {
    /// Multiplies every workload's rate.
    pub load: f64,
    /// The highest utilisation any station may run at.
    pub ceiling: f64,
    /// The fewest replicas of a planned service (capped by its range's upper bound).
    pub min_replicas: u32,
    /// Whether `zones N` asks the plan to survive the loss of one zone.
    pub zone_loss: bool,
    /// The load, as a multiple of `load`, that [`ServicePlan::max_replicas`] is sized for.
    pub peak: f64,
    /// Predictions the exact phase may spend before it settles for the greedy plan.
    pub exact_budget: u32,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            load: 1.0,
            ceiling: 0.85,
            min_replicas: 2,
            zone_loss: true,
            peak: 2.0,
            exact_budget: 400,
        }
    }
}

/// A feasible plan (`feasible` is true; an infeasible design is an [`Infeasible`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    pub system: String,
    pub feasible: bool,
    /// The exact phase proved no cheaper plan exists (under the predictor).
    pub optimal: bool,
    pub load: f64,
    pub ceiling: f64,
    /// Deployed services and jobs, dollars per hour (a job's runs averaged over its period).
    pub cost_per_hour: f64,
    pub cost_per_month: f64,
    /// Replicas over all deployed services, a sharded service counting replicas × shards.
    pub total_replicas: u64,
    /// Every deployed service, in design order.
    pub services: Vec<ServicePlan>,
    /// Every request workload, in design order.
    pub workloads: Vec<WorkloadPlan>,
    pub jobs: Vec<JobPlan>,
    /// The load multiplier (of the design's rates) up to which the plan holds, to 1%: beyond
    /// it an SLO breaks or a station runs above 95% utilisation; `None` beyond 1000x.
    pub headroom: Option<f64>,
    pub binding: Vec<Binding>,
    /// Predictions the planner made (a measure of its work; deterministic).
    pub predictions: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServicePlan {
    pub name: String,
    /// Replicas per shard.
    pub replicas: u32,
    pub shards: u32,
    /// Replicas per shard needed at the peak load ([`PlanOptions::peak`] × load), within
    /// the design's range: the maximum for an autoscaler.
    pub max_replicas: u32,
    /// The count is the design's pin.
    pub pinned: bool,
    /// The highest utilisation of the service's stations (a job: the share of its period
    /// it runs).
    pub utilization: f64,
    /// All replicas of all shards.
    pub cost_per_hour: f64,
    /// The batch size chosen, for a batching service.
    pub batch_max: Option<u32>,
    /// The GPU type, for a GPU service (the planner's choice with `gpu one_of`).
    pub gpu: Option<String>,
    /// `gpu one_of(…)`: the types the planner chose `gpu` from, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_choices: Vec<String>,
    /// `batch max A..B`: the candidates the planner chose `batch_max` from, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch_max_choices: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadPlan {
    pub name: String,
    pub rate_rps: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub slos: Vec<SloPlan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloPlan {
    pub stat: String,
    pub target_ms: f64,
    pub predicted_ms: f64,
    /// With one zone lost, when the plan must survive it.
    pub zone_loss_ms: Option<f64>,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    pub workload: String,
    pub service: String,
    pub replicas: u32,
    /// How long one run takes with `replicas`, hours.
    pub run_hours: f64,
    pub deadline_hours: f64,
    pub every_hours: f64,
    pub cost_per_run: f64,
    /// `cost_per_run` spread over the period.
    pub cost_per_hour: f64,
}

/// A constraint the plan sits at: loosening it could make the plan cheaper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// `slo`, `utilization`, `min_replicas`, `range_min`, `range_max`, `cluster`, `budget`,
    /// `deadline`.
    pub kind: String,
    /// The service, workload or resource it concerns.
    pub subject: String,
    pub detail: String,
}

/// Plans `model`: the cheapest feasible replicas, or why there are none.
pub fn plan(model: &Model, options: &PlanOptions) -> Result<Plan, Infeasible> {
    choices::run(model, options)
}

/// plan.json, pretty-printed (see docs/plan-json.md).
pub fn to_json_string(plan: &Plan) -> String {
    serde_json::to_string_pretty(&to_json(plan)).expect("a plan serialises")
}

/// Reads plan.json.
pub fn from_json(text: &str) -> Result<Plan, String> {
    let plan: Plan = serde_json::from_str(text).map_err(|e| format!("not a plan: {e}"))?;
    if plan.format_version != FORMAT_VERSION {
        return Err(format!(
            "plan format version {} is not the supported {FORMAT_VERSION}",
            plan.format_version
        ));
    }
    Ok(plan)
}

impl Plan {
    /// Replicas per shard of every deployed service, as [`crate::queueing::Options`] and
    /// [`crate::simulate::Options`] take them.
    pub fn replicas(&self) -> std::collections::BTreeMap<String, u32> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.replicas))
            .collect()
    }

    /// The GPU type and batch max of every planned service, to apply with
    /// [`Model::with_choices`] (services without choices ignore theirs).
    pub fn choices(&self) -> std::collections::BTreeMap<String, crate::model::choice::Choice> {
        self.services
            .iter()
            .map(|s| {
                let choice = crate::model::choice::Choice {
                    gpu: s.gpu.clone(),
                    batch_max: s.batch_max,
                };
                (s.name.clone(), choice)
            })
            .collect()
    }
}
