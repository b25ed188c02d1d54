//! The exact phase: a MILP over replica vectors with cuts learnt from the predictor.
//!
//! Variables: for each free unit i and each count k above its lower bound, a binary
//! y(i,k) = [rᵢ ≥ k], so rᵢ = lbᵢ + Σₖ y(i,k) with y(i,k+1) ≤ y(i,k). Linear constraints:
//! cluster cpu, memory and GPUs per type, the budget, and the objective below the incumbent's.
//! A vector v the predictor found infeasible proves every vector below it infeasible (more
//! replicas never raise a utilisation or a latency), so each gives the cut
//! Σᵢ y(i, vᵢ+1) ≥ 1: some unit must exceed v. The master's optimum is a lower bound; once
//! the predictor accepts it, it is optimal. Before cutting, each infeasible vector is lifted:
//! units whose raise to the upper bound leaves it infeasible leave the cut, making it
//! stronger. The incumbent's cost caps every count (a unit cannot add more than the
//! incumbent's slack buys), which keeps the master small for microlp; microlp gets a time
//! limit and every status is checked — on any failure the greedy plan stands, not optimal.

use super::explain::Reason;
use super::oracle::{Oracle, Unit};
use super::search::EPS;
use super::{Binding, JobPlan};
use crate::model::Model;
use good_lp::{
    Expression, ResolutionError, Solution, SolverModel, Variable, WithTimeLimit, constraint,
    microlp, variable, variables,
};
use std::collections::BTreeMap;

/// Seconds microlp may take on one master problem.
const SOLVE_SECONDS: f64 = 10.0;

/// The cluster's capacity and the budget, less what fixed services and jobs take.
pub(super) struct Limits {
    cpu: Option<f64>,
    memory: Option<f64>,
    gpus: BTreeMap<String, f64>,
    /// Dollars per hour left for deployed services, after jobs and external services.
    budget: Option<f64>,
    /// Jobs and external services, dollars per hour.
    pub fixed_cost: f64,
}

impl Limits {
    pub fn of(model: &Model, units: &[Unit], jobs: &[JobPlan]) -> Limits {
        let job_cost: f64 = jobs.iter().map(|j| j.cost_per_hour).sum();
        let external: f64 = model
            .services
            .iter()
            .filter(|s| s.replicas.is_none())
            .filter_map(|s| s.cost_per_hour)
            .sum();
        let _ = units;
        Limits {
            cpu: model.cluster.cpu_cores,
            memory: model.cluster.memory_bytes.map(|b| b as f64),
            gpus: model
                .cluster
                .gpus
                .iter()
                .map(|(k, &v)| (k.clone(), f64::from(v)))
                .collect(),
            budget: model.budget_per_hour.map(|b| b - job_cost - external),
            fixed_cost: job_cost + external,
        }
    }

    /// (resource, used, available) for every limited resource at `r`; a job's resources
    /// count in full, since its run must fit beside the services.
    fn usage(&self, units: &[Unit], r: &[u32]) -> Vec<(String, f64, f64)> {
        let sum = |f: &dyn Fn(&Unit) -> f64| -> f64 {
            units.iter().zip(r).map(|(u, &n)| f(u) * f64::from(n)).sum()
        };
        let mut out = Vec::new();
        if let Some(cap) = self.cpu {
            out.push(("cpu".into(), sum(&|u| u.cpu), cap));
        }
        if let Some(cap) = self.memory {
            out.push(("memory".into(), sum(&|u| u.memory), cap));
        }
        for (kind, &cap) in &self.gpus {
            let used = sum(&|u| match &u.gpu {
                Some((k, n)) if k == kind => *n,
                _ => 0.0,
            });
            out.push((format!("gpu {kind}"), used, cap));
        }
        if let Some(cap) = self.budget {
            let used = sum(&|u| if u.job { 0.0 } else { u.cost });
            out.push(("budget".into(), used, cap));
        }
        out
    }

    pub fn fits(&self, units: &[Unit], r: &[u32]) -> bool {
        self.usage(units, r)
            .iter()
            .all(|(_, used, cap)| *used <= cap + 1e-9)
    }

    /// Why no plan fits: the first limit the lower bounds exceed, else the one the
    /// cheapest SLO-meeting plan found (`r`) exceeds most.
    pub fn explain(&self, units: &[Unit], lb: &[u32], r: &[u32]) -> Reason {
        let over = |v: &[u32]| {
            self.usage(units, v)
                .into_iter()
                .filter(|(_, used, cap)| used > &(cap + 1e-9))
                .max_by(|a, b| (a.1 / a.2.max(1e-12)).total_cmp(&(b.1 / b.2.max(1e-12))))
        };
        let (resource, needed, available) = over(lb)
            .or_else(|| over(r))
            .unwrap_or_else(|| ("budget".into(), 0.0, 0.0));
        let floor = over(lb).is_some();
        if resource == "budget" {
            Reason::Budget {
                needed_per_hour: needed + self.fixed_cost,
                available_per_hour: available + self.fixed_cost,
                floor,
            }
        } else {
            Reason::Cluster {
                resource,
                needed,
                available,
                floor,
            }
        }
    }

    /// Limits within one replica of the cheapest free unit of their capacity.
    pub fn binding(&self, units: &[Unit], r: &[u32]) -> Vec<Binding> {
        let mut out = Vec::new();
        for (resource, used, cap) in self.usage(units, r) {
            let per = |u: &Unit| match resource.as_str() {
                "cpu" => u.cpu,
                "memory" => u.memory,
                "budget" => u.cost,
                gpu => match &u.gpu {
                    Some((k, n)) if gpu.strip_prefix("gpu ") == Some(k.as_str()) => *n,
                    _ => 0.0,
                },
            };
            let step = units
                .iter()
                .filter(|u| u.free())
                .map(per)
                .filter(|&p| p > 0.0)
                .fold(f64::INFINITY, f64::min);
            if step.is_finite() && cap - used < step {
                let (kind, subject) = if resource == "budget" {
                    ("budget", "budget".to_string())
                } else {
                    ("cluster", resource.clone())
                };
                let show = |x: f64| match resource.as_str() {
                    "memory" => format!("{:.1} GiB", x / (1u64 << 30) as f64),
                    "budget" => format!("${:.2}/h", x + self.fixed_cost),
                    _ => format!("{x:.1}"),
                };
                out.push(Binding {
                    kind: kind.into(),
                    subject,
                    detail: format!("uses {} of {}", show(used), show(cap)),
                });
            }
        }
        out
    }
}

pub(super) enum Outcome {
    Found {
        replicas: Vec<u32>,
        optimal: bool,
    },
    /// No vector meets the SLOs within the cluster and budget.
    NoneFits,
}

enum Master {
    Optimal(Vec<u32>),
    Infeasible,
    Failed,
}

/// The exact phase, from the greedy `incumbent` (if it fits the limits) and the infeasible
/// vectors seen so far (`learnt`), spending at most `budget` predictions.
pub(super) fn exact(
    oracle: &Oracle,
    lb: &[u32],
    limits: &Limits,
    mut incumbent: Option<Vec<u32>>,
    learnt: &mut Vec<Vec<u32>>,
    budget: u32,
) -> Outcome {
    let units = oracle.units;
    let start = oracle.predictions.get();
    let objective = |r: &[u32]| -> f64 {
        units
            .iter()
            .zip(r)
            .filter(|(u, _)| u.free())
            .map(|(u, &n)| (u.cost + EPS) * f64::from(n))
            .sum()
    };
    let mut cuts: Vec<Vec<u32>> = Vec::new();
    for v in learnt.drain(..) {
        add_cut(&mut cuts, v);
    }
    loop {
        if oracle.predictions.get() - start > budget {
            return done(incumbent, false);
        }
        let cap = incumbent.as_deref().map(objective);
        let ub: Vec<u32> = units
            .iter()
            .zip(lb)
            .map(|(u, &l)| {
                if !u.free() {
                    return l;
                }
                match cap {
                    Some(c) => {
                        let slack = (c - objective(lb)) / (u.cost + EPS);
                        u.hi.min(l.saturating_add((slack + 1e-9).floor().max(0.0) as u32))
                    }
                    None => u.hi,
                }
            })
            .collect();
        match solve(units, lb, &ub, limits, &cuts, cap) {
            Master::Failed => return done(incumbent, false),
            Master::Infeasible => return done(incumbent, true),
            Master::Optimal(v) => {
                let check = oracle.check(&v);
                if check.ok() {
                    return Outcome::Found {
                        replicas: v,
                        optimal: true,
                    };
                }
                let lifted = lift(oracle, v, &ub, start, budget);
                add_cut(&mut cuts, lifted);
                let _ = &mut incumbent;
            }
        }
    }
}

fn done(incumbent: Option<Vec<u32>>, optimal: bool) -> Outcome {
    match incumbent {
        Some(replicas) => Outcome::Found { replicas, optimal },
        None if optimal => Outcome::NoneFits,
        // The master failed without an incumbent: no plan found within the limits.
        None => Outcome::NoneFits,
    }
}

/// Raises each free unit of the infeasible `v` to its upper bound when that leaves `v`
/// infeasible: the unit is then no help, and leaves the cut.
fn lift(oracle: &Oracle, mut v: Vec<u32>, ub: &[u32], start: u32, budget: u32) -> Vec<u32> {
    let units = oracle.units;
    let mut order: Vec<usize> = (0..units.len())
        .filter(|&i| units[i].free() && v[i] < ub[i])
        .collect();
    order.sort_by(|&a, &b| units[b].cost.total_cmp(&units[a].cost).then(a.cmp(&b)));
    for i in order {
        if oracle.predictions.get() - start > budget {
            break;
        }
        let mut raised = v.clone();
        raised[i] = ub[i];
        if !oracle.check(&raised).ok() {
            v = raised;
        }
    }
    v
}

/// Keeps only the maximal infeasible vectors: a larger one's cut implies a smaller one's.
fn add_cut(cuts: &mut Vec<Vec<u32>>, v: Vec<u32>) {
    let below = |a: &[u32], b: &[u32]| a.iter().zip(b).all(|(x, y)| x <= y);
    if cuts.iter().any(|c| below(&v, c)) {
        return;
    }
    cuts.retain(|c| !below(c, &v));
    cuts.push(v);
}

fn solve(
    units: &[Unit],
    lb: &[u32],
    ub: &[u32],
    limits: &Limits,
    cuts: &[Vec<u32>],
    cap: Option<f64>,
) -> Master {
    let mut vars = variables!();
    // y[i][k]: rᵢ ≥ lbᵢ + 1 + k.
    let y: Vec<Vec<Variable>> = units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let n = if u.free() {
                ub[i].saturating_sub(lb[i])
            } else {
                0
            };
            (0..n).map(|_| vars.add(variable().binary())).collect()
        })
        .collect();
    let added = |i: usize| -> Expression { y[i].iter().copied().sum() };
    let objective: Expression = (0..units.len())
        .map(|i| (units[i].cost + EPS) * added(i))
        .sum();
    let lb_objective: f64 = units
        .iter()
        .zip(lb)
        .filter(|(u, _)| u.free())
        .map(|(u, &n)| (u.cost + EPS) * f64::from(n))
        .sum();
    let mut problem = vars.minimise(objective.clone()).using(microlp);
    for ys in &y {
        for w in ys.windows(2) {
            problem = problem.with(constraint!(w[1] <= w[0]));
        }
    }
    // Limits: usage at the lower bounds plus what the added replicas use.
    let at_lb = |f: &dyn Fn(&Unit) -> f64| -> f64 {
        units
            .iter()
            .zip(lb)
            .map(|(u, &n)| f(u) * f64::from(n))
            .sum()
    };
    let extra = |f: &dyn Fn(&Unit) -> f64| -> Expression {
        (0..units.len()).map(|i| f(&units[i]) * added(i)).sum()
    };
    let mut rows: Vec<(Expression, f64)> = Vec::new();
    if let Some(cap) = limits.cpu {
        rows.push((extra(&|u| u.cpu), cap - at_lb(&|u| u.cpu)));
    }
    if let Some(cap) = limits.memory {
        rows.push((extra(&|u| u.memory), cap - at_lb(&|u| u.memory)));
    }
    for (kind, &cap) in &limits.gpus {
        let per = |u: &Unit| match &u.gpu {
            Some((k, n)) if k == kind => *n,
            _ => 0.0,
        };
        rows.push((extra(&per), cap - at_lb(&per)));
    }
    if let Some(cap) = limits.budget {
        let per = |u: &Unit| if u.job { 0.0 } else { u.cost };
        rows.push((extra(&per), cap - at_lb(&per)));
    }
    if let Some(c) = cap {
        // Strictly cheaper than the incumbent.
        rows.push((objective, c - lb_objective - EPS / 2.0));
    }
    for (lhs, rhs) in rows {
        if rhs < -1e-9 {
            return Master::Infeasible;
        }
        problem = problem.with(constraint!(lhs <= rhs + 1e-9));
    }
    for v in cuts {
        // Some unit above vᵢ; a unit already above it at its lower bound satisfies the cut.
        if units
            .iter()
            .enumerate()
            .any(|(i, u)| u.free() && lb[i] > v[i])
        {
            continue;
        }
        let terms: Vec<Variable> = (0..units.len())
            .filter(|&i| units[i].free() && v[i] < ub[i])
            .map(|i| y[i][(v[i] - lb[i]) as usize])
            .collect();
        if terms.is_empty() {
            return Master::Infeasible;
        }
        let lhs: Expression = terms.into_iter().sum();
        problem = problem.with(constraint!(lhs >= 1));
    }
    match problem.with_time_limit(SOLVE_SECONDS).solve() {
        Ok(solution) => {
            if !matches!(solution.status(), good_lp::solvers::SolutionStatus::Optimal) {
                return Master::Failed;
            }
            let r = (0..units.len())
                .map(|i| {
                    let n: f64 = y[i].iter().map(|&v| solution.value(v)).sum();
                    lb[i] + n.round() as u32
                })
                .collect();
            Master::Optimal(r)
        }
        Err(ResolutionError::Infeasible) => Master::Infeasible,
        Err(_) => Master::Failed,
    }
}
