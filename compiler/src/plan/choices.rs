//! The planner's choices: `gpu one_of(…)` types and `batch max A..B` values.
//!
//! Every option of a service (GPU type × batch max candidate) changes its service times and
//! its price per replica, so each combination of options is its own replica problem. The
//! combinations are few in practice (a model server or two, each with two types and a
//! handful of batch sizes), so they are enumerated: the replica search ([`super::search`],
//! exact per combination) runs on the model with each combination applied, and the cheapest
//! plan over all combinations wins — exact when every combination's search is. Ties go to
//! the fewest replicas, then to the first combination in the order written (GPU types as
//! listed, batch max ascending). Past [`MAX_COMBINATIONS`], a coordinate descent instead:
//! one service's options at a time, the others held, until no change helps (not proved
//! optimal).

use super::explain::{ChosenOption, Infeasible};
use super::search::{self, Failed, Solved};
use super::{Plan, PlanOptions};
use crate::model::Model;
use crate::model::choice::Choice;
use std::collections::{BTreeMap, BTreeSet};

/// Combinations enumerated in full; beyond, coordinate descent.
pub const MAX_COMBINATIONS: usize = 64;
/// Passes of the coordinate descent over the services with choices.
const DESCENT_PASSES: usize = 4;

/// A combination: one option per service with choices, in design order.
type Combination = Vec<Choice>;

struct Chooser<'m> {
    model: &'m Model,
    options: &'m PlanOptions,
    /// The services with choices, and their options.
    services: Vec<(String, Vec<Choice>)>,
    predictions: u32,
    /// Every combination solved, with its outcome.
    seen: BTreeSet<Combination>,
    /// Whether every combination's replica search proved its optimum.
    all_optimal: bool,
    best: Option<(Combination, Solved)>,
    closest: Option<(Combination, Failed)>,
}

pub(super) fn run(model: &Model, options: &PlanOptions) -> Result<Plan, Infeasible> {
    let services: Vec<(String, Vec<Choice>)> = model
        .services
        .iter()
        .filter(|s| s.replicas.is_some() && s.has_choices())
        .map(|s| (s.name.clone(), s.options()))
        .collect();
    if services.is_empty() {
        let solved = search::solve(model, options, None)
            .map_err(|f| f.infeasible)?
            .map_err(|_| ())
            .expect("no cutoff, no pruning");
        return search::finish(model, options, &solved, 0);
    }
    let mut c = Chooser {
        model,
        options,
        services,
        predictions: 0,
        seen: BTreeSet::new(),
        all_optimal: true,
        best: None,
        closest: None,
    };
    let count = c
        .services
        .iter()
        .try_fold(1usize, |n, (_, o)| n.checked_mul(o.len()))
        .unwrap_or(usize::MAX);
    let mut optimal = true;
    if count <= MAX_COMBINATIONS {
        for index in 0..count {
            // Mixed radix, the last service's options fastest.
            let mut rest = index;
            let mut combo: Combination = vec![Choice::default(); c.services.len()];
            for k in (0..c.services.len()).rev() {
                let options = &c.services[k].1;
                combo[k] = options[rest % options.len()].clone();
                rest /= options.len();
            }
            c.try_combination(&combo)?;
        }
    } else {
        optimal = false;
        let mut combo: Combination = c.services.iter().map(|(_, o)| o[0].clone()).collect();
        c.try_combination(&combo)?;
        for _ in 0..DESCENT_PASSES {
            let mut changed = false;
            for k in 0..c.services.len() {
                for option in c.services[k].1.clone() {
                    let mut next = combo.clone();
                    next[k] = option;
                    c.try_combination(&next)?;
                }
                if let Some((best, _)) = &c.best
                    && best[k] != combo[k]
                {
                    combo = best.clone();
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
    match c.best.take() {
        Some((combo, mut solved)) => {
            solved.optimal = optimal && c.all_optimal;
            let model = c.apply(&combo);
            let spent = c.predictions - solved.predictions;
            search::finish(&model, options, &solved, spent)
        }
        None => {
            let (combo, failed) = c.closest.take().expect("some combination was tried");
            let mut infeasible = failed.infeasible;
            infeasible.choices = c
                .services
                .iter()
                .zip(&combo)
                .map(|((name, _), choice)| ChosenOption {
                    service: name.clone(),
                    gpu: choice.gpu.clone(),
                    batch_max: choice.batch_max,
                })
                .collect();
            Err(infeasible)
        }
    }
}

impl Chooser<'_> {
    fn apply(&self, combo: &Combination) -> Model {
        let choices: BTreeMap<String, Choice> = self
            .services
            .iter()
            .zip(combo)
            .map(|((name, _), c)| (name.clone(), c.clone()))
            .collect();
        self.model.with_choices(&choices)
    }

    /// Solves `combo` (once) and keeps it if it is the cheapest so far (or the closest to
    /// feasible when none is). A design error no option avoids (an unpriced GPU type, a call
    /// loop) ends the search.
    fn try_combination(&mut self, combo: &Combination) -> Result<(), Infeasible> {
        if !self.seen.insert(combo.clone()) {
            return Ok(());
        }
        let model = self.apply(combo);
        let cutoff = self.best.as_ref().map(|(_, b)| (b.cost, b.count));
        match search::solve(&model, self.options, cutoff) {
            // Its lower bounds cannot beat the best so far: nothing to solve.
            Ok(Err(predictions)) => self.predictions += predictions,
            Ok(Ok(solved)) => {
                self.predictions += solved.predictions;
                self.all_optimal &= solved.optimal;
                if cutoff.is_none_or(|c| !search::cannot_beat(solved.cost, solved.count, c)) {
                    self.best = Some((combo.clone(), solved));
                }
            }
            Err(failed) => {
                self.predictions += failed.predictions;
                // Unpriced and divergent designs fail the same way whatever the option.
                if failed.closeness.0 >= 4 {
                    return Err(failed.infeasible);
                }
                let closer = self.closest.as_ref().is_none_or(|(_, c)| {
                    failed.closeness.0 < c.closeness.0
                        || (failed.closeness.0 == c.closeness.0
                            && failed.closeness.1 < c.closeness.1)
                });
                if closer {
                    self.closest = Some((combo.clone(), failed));
                }
            }
        }
        Ok(())
    }
}
