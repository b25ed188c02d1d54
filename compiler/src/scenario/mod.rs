//! Scenarios: design tests (`kendall test`). Each applies its changes to a copy of the design
//! (load, failures, `set`s) and judges its expectations against the predicted figures, or the
//! simulated ones.

pub mod apply;
pub mod evaluate;
pub mod junit;
pub mod report;

pub use evaluate::{Check, Engine, Unit};

use crate::model::Model;
use std::collections::BTreeMap;

/// One scenario's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub name: String,
    /// What the scenario changed, in order (`load 3x homepage`, `fail 1 of 2 zones`).
    pub changes: Vec<String>,
    pub checks: Vec<Check>,
    /// Why no figure could be computed at all (a prediction that did not converge).
    pub error: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.passed)
    }
}

/// Runs every scenario of `model`, in the order written, from `base` replicas (the plan's, or
/// `--replicas`; the design's pins or lower bounds for services it does not name).
pub fn run(model: &Model, base: &BTreeMap<String, u32>, engine: &Engine) -> Vec<Outcome> {
    (model.scenarios.iter())
        .map(|sc| {
            let situation = apply::apply(model, base, &sc.steps);
            let (checks, error) = match evaluate::judge(&situation, &sc.steps, engine) {
                Ok(checks) => (checks, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            Outcome {
                name: sc.name.clone(),
                changes: situation.changes,
                checks,
                error,
            }
        })
        .collect()
}
