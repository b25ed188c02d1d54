//! The planner's choices of a design — `gpu one_of(…)` and `batch max A..B` — and applying a
//! choice to the model. The predictor and the simulator only ever see a model with every
//! choice applied (its `gpu`, `time` and `batch.max` are the ones in use), so they know
//! nothing of choices.

use super::{Model, Service};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One option of a service: its GPU type and the batch max of its ranged batching endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Choice {
    pub gpu: Option<String>,
    pub batch_max: Option<u32>,
}

/// The values `batch max lo..hi` tries: every power of two strictly inside, and both bounds,
/// ascending.
pub fn batch_candidates(lo: u32, hi: u32) -> Vec<u32> {
    let mut out = vec![lo];
    let mut p = 1u32;
    while p < hi {
        if p > lo {
            out.push(p);
        }
        p = p.saturating_mul(2);
    }
    if hi > lo {
        out.push(hi);
    }
    out
}

impl Service {
    /// Whether the planner has something to choose for this service.
    pub fn has_choices(&self) -> bool {
        !self.gpu_choices.is_empty() || self.batch_choices().is_some()
    }

    /// The candidate batch maxima of the service's ranged batching endpoint.
    pub fn batch_choices(&self) -> Option<&[u32]> {
        self.endpoints
            .iter()
            .filter_map(|e| e.batch.as_ref())
            .find(|b| !b.max_choices.is_empty())
            .map(|b| b.max_choices.as_slice())
    }

    /// Every option of the service: GPU types (in the order written) × batch candidates
    /// (ascending). One option, the current one, when there is nothing to choose.
    pub fn options(&self) -> Vec<Choice> {
        let gpus: Vec<Option<String>> = if self.gpu_choices.is_empty() {
            vec![self.gpu.as_ref().map(|g| g.kind.clone())]
        } else {
            self.gpu_choices.iter().cloned().map(Some).collect()
        };
        let batches: Vec<Option<u32>> = match self.batch_choices() {
            Some(c) => c.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        gpus.iter()
            .flat_map(|g| {
                batches.iter().map(move |b| Choice {
                    gpu: g.clone(),
                    batch_max: *b,
                })
            })
            .collect()
    }

    /// Applies `choice`: the GPU type (when it is one of the choice's) with its endpoint
    /// times, and the batch max of the ranged endpoint (when within its candidates' range).
    /// Returns whether both parts applied.
    pub fn apply(&mut self, choice: &Choice) -> bool {
        let mut ok = true;
        if let Some(kind) = &choice.gpu
            && !self.gpu_choices.is_empty()
        {
            if self.gpu_choices.contains(kind) {
                if let Some(g) = self.gpu.as_mut() {
                    g.kind = kind.clone();
                }
                for e in &mut self.endpoints {
                    if let Some(t) = e.gpu_times.get(kind) {
                        e.time = t.clone();
                    }
                }
            } else {
                ok = false;
            }
        }
        if let Some(n) = choice.batch_max {
            for b in self.endpoints.iter_mut().filter_map(|e| e.batch.as_mut()) {
                let (Some(&lo), Some(&hi)) = (b.max_choices.first(), b.max_choices.last()) else {
                    continue;
                };
                if (lo..=hi).contains(&n) {
                    b.max = n;
                } else {
                    ok = false;
                }
            }
        }
        ok
    }

    /// The option in use.
    pub fn current(&self) -> Choice {
        Choice {
            gpu: self.gpu.as_ref().map(|g| g.kind.clone()),
            batch_max: self
                .endpoints
                .iter()
                .filter_map(|e| e.batch.as_ref())
                .find(|b| !b.max_choices.is_empty())
                .map(|b| b.max),
        }
    }
}

impl Model {
    /// The model with `choices` applied, by service name (services not named keep theirs).
    pub fn with_choices(&self, choices: &BTreeMap<String, Choice>) -> Model {
        let mut m = self.clone();
        for s in &mut m.services {
            if let Some(c) = choices.get(&s.name) {
                s.apply(c);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::batch_candidates;

    #[test]
    fn candidates_are_powers_of_two_and_the_bounds() {
        assert_eq!(batch_candidates(8, 64), vec![8, 16, 32, 64]);
        assert_eq!(batch_candidates(6, 40), vec![6, 8, 16, 32, 40]);
        assert_eq!(batch_candidates(1, 3), vec![1, 2, 3]);
        assert_eq!(batch_candidates(5, 7), vec![5, 7]);
        assert_eq!(batch_candidates(4, 4), vec![4]);
    }
}
