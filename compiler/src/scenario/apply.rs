//! A scenario's changes, applied to a copy of the design and its replicas.

use crate::compare::fmt_load;
use crate::model::{Model, ScenarioStep};
use std::collections::BTreeMap;

/// The design as the scenario sees it.
#[derive(Clone, Debug)]
pub struct Situation {
    pub model: Model,
    /// Replicas per deployed service (per shard), after failures and `set`s.
    pub replicas: BTreeMap<String, u32>,
    /// What the scenario did, one phrase per step, for the report (`3x homepage`, …).
    pub changes: Vec<String>,
    /// Services a failure left with no replica: everything that calls them fails.
    pub down: Vec<String>,
}

/// Applies the scenario's steps in the order written, from `base` replicas (where it names a
/// service; else the design's pin or lower bound, as `predict` takes them).
///
/// A zone failure takes the most replicas it can: topology spread places at most ⌈r / zones⌉
/// replicas of a service in one zone, so failing n zones leaves r − n·⌈r / zones⌉ — the worst
/// case the design must survive.
pub fn apply(model: &Model, base: &BTreeMap<String, u32>, steps: &[ScenarioStep]) -> Situation {
    let mut s = Situation {
        model: model.clone(),
        replicas: crate::compare::design_replicas(model, base),
        changes: Vec::new(),
        down: Vec::new(),
    };
    for step in steps {
        match step {
            ScenarioStep::Load { factor, workload } => {
                for w in &mut s.model.workloads {
                    if workload.as_ref().is_none_or(|name| *name == w.name) {
                        w.rate_rps *= factor;
                    }
                }
                let whom = workload.as_deref().unwrap_or("every workload");
                s.changes
                    .push(format!("load {}x {whom}", fmt_load(*factor)));
            }
            ScenarioStep::FailZones { count } => {
                let zones = (s.model.deploy.kubernetes.as_ref()).map_or(1, |k| k.zones.max(1));
                for (_, r) in s.replicas.iter_mut() {
                    let per_zone = r.div_ceil(zones);
                    *r = r.saturating_sub(count * per_zone);
                }
                s.changes.push(format!("fail {count} of {zones} zones"));
            }
            ScenarioStep::FailReplicas { count, service } => {
                if let Some(r) = s.replicas.get_mut(service) {
                    *r = r.saturating_sub(*count);
                }
                let noun = if *count == 1 { "replica" } else { "replicas" };
                s.changes.push(format!("fail {count} {noun} of {service}"));
            }
            ScenarioStep::Set {
                service,
                field,
                value,
            } => {
                set(&mut s, service, field, *value);
                s.changes
                    .push(format!("set {service}.{field} {}", fmt_load(*value)));
            }
            ScenarioStep::ExpectSlo | ScenarioStep::Expect { .. } => {}
        }
    }
    s.down = (s.replicas.iter())
        .filter(|(_, r)| **r == 0)
        .map(|(name, _)| name.clone())
        .collect();
    s
}

fn set(s: &mut Situation, service: &str, field: &str, value: f64) {
    if field == "replicas" {
        s.replicas.insert(service.to_string(), value as u32);
        return;
    }
    let Some(svc) = s.model.services.iter_mut().find(|x| x.name == service) else {
        return;
    };
    match field {
        "workers" => svc.workers = value as u32,
        "shards" => svc.shards = value as u32,
        // `ENDPOINT.hit` (the checker names the endpoint).
        _ => {
            let endpoint = field.strip_suffix(".hit").unwrap_or(field);
            let cache = (svc.endpoints.iter_mut())
                .find(|e| e.name == endpoint)
                .and_then(|e| e.cache.as_mut());
            if let Some(c) = cache {
                c.hit_ratio = value;
            }
        }
    }
}
