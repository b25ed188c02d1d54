//! What the generator deploys per service: replicas, autoscaling bounds and target, GPU type.
//! The planner's `Plan` converts into this; [`Allocation::from_design`] derives it from the
//! design alone, for `kendall generate` without a plan.

use crate::model::{Model, ServiceKind};
use crate::queueing::{self, Options};
use serde::Serialize;
use std::collections::BTreeMap;

/// The HPA target is kept within these bounds: below 20% CPU noise alone scales a service up,
/// above 90% the autoscaler has no time to add replicas before queues build.
pub const TARGET_MIN: f64 = 0.2;
pub const TARGET_MAX: f64 = 0.9;

/// Rounds of raising overloaded services to the replicas the predictor says they need.
const ROUNDS: usize = 8;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Placement {
    /// Replicas per shard at the designed load.
    pub replicas: u32,
    /// The most replicas per shard an autoscaler may add (≥ `replicas`).
    pub max_replicas: u32,
    /// The utilisation the autoscaler holds (0..1).
    pub target_utilization: f64,
    /// The GPU type each replica needs, if any.
    pub gpu: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Allocation {
    /// Deployed services (everything but `kind external`) by name.
    pub services: BTreeMap<String, Placement>,
}

impl Allocation {
    /// The planner's allocation: its replicas, its replicas at peak load as the autoscaler's
    /// ceiling, and the utilisation it predicts at its replicas as the autoscaler's target
    /// (clamped to 20–90%, as for [`Allocation::from_design`]). Services the plan does not
    /// name (none, for a plan of this design) are left out.
    pub fn from_plan(model: &Model, plan: &crate::plan::Plan) -> Allocation {
        let services = (plan.services.iter())
            .filter(|p| model.service(&p.name).is_some_and(|s| s.kind.is_deployed()))
            .map(|p| {
                let design_gpu = model
                    .service(&p.name)
                    .and_then(|s| s.gpu.as_ref())
                    .map(|g| g.kind.clone());
                (
                    p.name.clone(),
                    Placement {
                        replicas: p.replicas,
                        max_replicas: p.max_replicas.max(p.replicas),
                        target_utilization: p.utilization.clamp(TARGET_MIN, TARGET_MAX),
                        gpu: p.gpu.clone().or(design_gpu),
                    },
                )
            })
            .collect();
        Allocation { services }
    }

    /// Replicas from the design: a pin, else the lower bound of `replicas A..B`, raised to 2
    /// when the system spreads over 2 or more zones (one zone's loss must not take a service
    /// down), then raised to what the predictor says an overloaded service needs (capped by
    /// `B`). The maximum is `B`. The autoscaling target is the utilisation the predictor gives
    /// at those replicas, within [`TARGET_MIN`]..[`TARGET_MAX`]: an autoscaler holding it keeps
    /// every replica as busy as the design's own load does, so latency stays as predicted as
    /// the load grows. A service with no traffic gets [`TARGET_MAX`].
    pub fn from_design(model: &Model) -> Allocation {
        let zones = model.deploy.kubernetes.as_ref().map_or(1, |k| k.zones);
        let mut replicas = BTreeMap::new();
        let mut bounds = BTreeMap::new();
        for s in &model.services {
            let Some(r) = s.replicas.filter(|_| s.kind.is_deployed()) else {
                continue;
            };
            let mut n = r.min;
            if !r.pinned && zones >= 2 {
                n = n.max(2).min(r.max);
            }
            replicas.insert(s.name.clone(), n);
            bounds.insert(s.name.clone(), r);
        }
        let mut utilization = BTreeMap::new();
        for _ in 0..ROUNDS {
            let options = Options {
                load: 1.0,
                replicas: replicas.clone(),
            };
            let Ok(prediction) = queueing::predict(model, &options) else {
                break;
            };
            let mut raised = false;
            for p in &prediction.services {
                let (Some(n), Some(b)) = (replicas.get_mut(&p.name), bounds.get(&p.name)) else {
                    continue;
                };
                if let Some(o) = p.unstable {
                    let needed = o.replicas_needed.min(b.max);
                    if !b.pinned && needed > *n {
                        *n = needed;
                        raised = true;
                    }
                }
                utilization.insert(p.name.clone(), p.utilization);
            }
            if !raised {
                break;
            }
        }
        let services = model
            .services
            .iter()
            .filter(|s| s.kind != ServiceKind::External)
            .filter_map(|s| {
                let n = *replicas.get(&s.name)?;
                let b = bounds.get(&s.name)?;
                let u = utilization.get(&s.name).copied().flatten();
                Some((
                    s.name.clone(),
                    Placement {
                        replicas: n,
                        max_replicas: b.max.max(n),
                        target_utilization: u
                            .map_or(TARGET_MAX, |u| u.clamp(TARGET_MIN, TARGET_MAX)),
                        gpu: s.gpu.as_ref().map(|g| g.kind.clone()),
                    },
                ))
            })
            .collect();
        Allocation { services }
    }
}
