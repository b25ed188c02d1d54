//! The planner's view of a design: its deployed services as decision units, and the
//! feasibility check of one replica vector with the predictor.

use super::cost::{CostError, replica_cost_per_hour};
use super::{PlanOptions, explain::Reason};
use crate::model::{Model, ServiceKind};
use crate::queueing::{self, Prediction};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// One deployed service.
#[derive(Clone, Debug)]
pub(super) struct Unit {
    pub name: String,
    /// Bounds per shard: the design's range, the floor of `min_replicas` applied.
    pub lo: u32,
    pub hi: u32,
    pub pinned: bool,
    /// `kind job`: sized by its workloads, not by the search.
    pub job: bool,
    pub shards: u32,
    /// Per replica of every shard (so × shards already).
    pub cost: f64,
    pub cpu: f64,
    pub memory: f64,
    pub gpu: Option<(String, f64)>,
}

impl Unit {
    /// Decided by the search: neither pinned nor a job.
    pub fn free(&self) -> bool {
        !self.pinned && !self.job
    }
}

/// The deployed services of `model`, in design order.
pub(super) fn units(model: &Model, options: &PlanOptions) -> Result<Vec<Unit>, Reason> {
    // A design with no prices at all is planned for the fewest replicas.
    let unpriced = model.pricing.cpu_per_core_hour.is_none()
        && model.pricing.memory_per_gib_hour.is_none()
        && model.pricing.gpu_per_hour.is_empty();
    let mut out = Vec::new();
    for s in &model.services {
        let Some(r) = s.replicas else { continue };
        let each = match replica_cost_per_hour(s, &model.pricing) {
            Ok(c) => c,
            Err(_) if unpriced => s.cost_per_hour.unwrap_or(0.0),
            Err(CostError::Unpriced { service, resource }) => {
                return Err(Reason::Unpriced { service, resource });
            }
        };
        let shards = f64::from(s.shards);
        let job = s.kind == ServiceKind::Job;
        let lo = if r.pinned || job {
            r.min
        } else {
            r.min.max(options.min_replicas.min(r.max))
        };
        out.push(Unit {
            name: s.name.clone(),
            lo: lo.max(1),
            // Pins and jobs are not searched: their upper bound is their count.
            hi: if r.pinned || job {
                lo.max(1)
            } else {
                r.max.max(lo).max(1)
            },
            pinned: r.pinned,
            job,
            shards: s.shards,
            cost: each * shards,
            cpu: s.cpu_cores.unwrap_or(0.0) * shards,
            memory: s.memory_bytes.unwrap_or(0) as f64 * shards,
            gpu: s
                .gpu
                .as_ref()
                .map(|g| (g.kind.clone(), f64::from(g.count) * shards)),
        });
    }
    Ok(out)
}

/// The outcome of checking one replica vector.
pub(super) struct Check {
    pub prediction: Prediction,
    /// Units over the ceiling (or unstable): (unit, utilisation).
    pub over: Vec<(usize, f64)>,
    /// Failed SLOs: (workload index among request workloads, SLO index, predicted over
    /// target, with a zone lost).
    pub failed: Vec<(usize, usize, f64, bool)>,
    /// The prediction with one zone lost, when checked.
    pub zone: Option<Prediction>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.over.is_empty() && self.failed.is_empty()
    }

    /// How far the SLOs are from met: the sum of predicted/target − 1 over failed SLOs.
    pub fn violation(&self) -> f64 {
        self.failed.iter().map(|f| f.2 - 1.0).sum::<f64>()
            + self.over.iter().map(|o| o.1).sum::<f64>()
    }
}

/// Checks replica vectors at one load, counting its predictions.
pub(super) struct Oracle<'m> {
    pub model: &'m Model,
    pub units: &'m [Unit],
    pub load: f64,
    pub ceiling: f64,
    /// Zones a plan must survive losing one of; 1 when it need not.
    pub zones: u32,
    pub predictions: Cell<u32>,
    /// The last feasible checks, newest first: the search checks its answer again (repair,
    /// trim and the exact phase each end on a vector they have checked), and a 1,000-service
    /// prediction costs far more than the vector comparison.
    feasible: RefCell<VecDeque<(Vec<u32>, Rc<Check>)>>,
}

/// Feasible checks [`Oracle`] keeps.
const REMEMBERED: usize = 4;

/// The ratio of a failed SLO's prediction to its target when the workload is unstable.
const UNSTABLE_RATIO: f64 = 10.0;

impl<'m> Oracle<'m> {
    pub fn new(model: &'m Model, units: &'m [Unit], load: f64, options: &PlanOptions) -> Self {
        let zones = match (&model.deploy.kubernetes, options.zone_loss) {
            (Some(k), true) => k.zones.max(1),
            _ => 1,
        };
        Oracle {
            model,
            units,
            load,
            ceiling: options.ceiling,
            zones,
            predictions: Cell::new(0),
            feasible: RefCell::new(VecDeque::new()),
        }
    }

    pub fn map(&self, r: &[u32]) -> BTreeMap<String, u32> {
        self.units
            .iter()
            .zip(r)
            .map(|(u, &n)| (u.name.clone(), n))
            .collect()
    }

    /// A prediction at `load` with replicas `r`. Traffic settled when the planner started,
    /// and replicas do not change whether it settles, so this cannot fail.
    pub fn predict_at(&self, r: &[u32], load: f64) -> Prediction {
        self.predictions.set(self.predictions.get() + 1);
        let options = queueing::Options {
            load,
            replicas: self.map(r),
        };
        queueing::predict(self.model, &options).expect("traffic settled before planning")
    }

    /// Feasibility of `r`: utilisation ceiling, SLOs, and SLOs with a zone lost.
    pub fn check(&self, r: &[u32]) -> Rc<Check> {
        if let Some((_, c)) = self.feasible.borrow().iter().find(|(v, _)| v == r) {
            return Rc::clone(c);
        }
        let check = Rc::new(self.check_anew(r));
        if check.ok() {
            let mut feasible = self.feasible.borrow_mut();
            feasible.truncate(REMEMBERED - 1);
            feasible.push_front((r.to_vec(), Rc::clone(&check)));
        }
        check
    }

    fn check_anew(&self, r: &[u32]) -> Check {
        let prediction = self.predict_at(r, self.load);
        let mut over = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            if u.job {
                continue;
            }
            let unstable = prediction
                .services
                .iter()
                .any(|s| s.name == u.name && s.unstable.is_some());
            if let Some(util) = utilization(&prediction, &u.name)
                && (unstable || util > self.ceiling + 1e-9)
            {
                over.push((i, util));
            }
        }
        let mut failed = slo_failures(&prediction, false);
        let mut zone = None;
        if over.is_empty() && failed.is_empty() && self.zones >= 2 {
            let survivors: Vec<u32> = r
                .iter()
                .zip(self.units)
                .map(|(&n, u)| if u.job { n } else { survivors(n, self.zones) })
                .collect();
            if survivors.contains(&0) {
                // A service with one replica goes down with its zone: every SLO fails.
                for w in 0..prediction.workloads.len() {
                    failed.push((w, UNSTABLE, UNSTABLE_RATIO, true));
                }
            } else {
                let z = self.predict_at(&survivors, self.load);
                failed.extend(slo_failures(&z, true));
                zone = Some(z);
            }
        }
        Check {
            prediction,
            over,
            failed,
            zone,
        }
    }

    /// Whether `r` meets every SLO and keeps every station at or below `limit` utilisation
    /// at `load` (the ceiling and zone loss aside): the test of headroom.
    pub fn holds_at(&self, r: &[u32], load: f64, limit: f64) -> bool {
        let p = self.predict_at(r, load);
        let units_ok = self
            .units
            .iter()
            .filter(|u| !u.job)
            .all(|u| utilization(&p, &u.name).is_none_or(|x| x <= limit));
        units_ok && p.workloads.iter().all(|w| w.slos.iter().all(|s| s.met))
    }
}

/// Replicas left of `n` spread evenly over `zones` when the fullest zone is lost.
pub(super) fn survivors(n: u32, zones: u32) -> u32 {
    n - n.div_ceil(zones)
}

/// A service's utilisation in `p` (offered load over capacity when unstable).
pub(super) fn utilization(p: &Prediction, name: &str) -> Option<f64> {
    let s = p.services.iter().find(|s| s.name == name)?;
    match s.unstable {
        Some(o) => Some(o.utilization.max(1.0)),
        None => s.utilization,
    }
}

/// The SLO index of a failure that is no SLO's: the workload has no steady state.
pub(super) const UNSTABLE: usize = usize::MAX;

/// Failed SLOs; a workload that reaches an overloaded station (the predictor gives it no
/// latency and no verdicts) fails as [`UNSTABLE`].
fn slo_failures(p: &Prediction, zone: bool) -> Vec<(usize, usize, f64, bool)> {
    let mut out = Vec::new();
    for (w, wp) in p.workloads.iter().enumerate() {
        if wp.latency.is_none() {
            out.push((w, UNSTABLE, UNSTABLE_RATIO, zone));
            continue;
        }
        for (k, s) in wp.slos.iter().enumerate() {
            if !s.met {
                let ratio = if wp.latency.is_some() && s.target_s > 0.0 {
                    (s.predicted_s / s.target_s).min(UNSTABLE_RATIO)
                } else {
                    UNSTABLE_RATIO
                };
                out.push((w, k, ratio, zone));
            }
        }
    }
    out
}
