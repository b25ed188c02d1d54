//! The search: bounds, greedy repair, trim, then the exact phase ([`super::milp`]).

use super::explain::{self, Infeasible, Reason};
use super::oracle::{Check, Oracle, Unit, units, utilization};
use super::{Plan, PlanOptions, jobs, milp, report};
use crate::model::{Model, Step};
use std::collections::BTreeSet;
use std::rc::Rc;

/// Per-replica cost added to the objective so that, at equal cost, fewer replicas win.
pub(super) const EPS: f64 = 1e-6;
/// Candidates tried one by one per repair step; beyond, the longest waits are tried.
const TRIALS: usize = 12;

/// A replica vector found for one model (one option of every choice), before the report.
pub(super) struct Solved {
    pub replicas: Vec<u32>,
    /// The lower bounds from the utilisation ceiling, for the binding constraints.
    pub lb: Vec<u32>,
    pub optimal: bool,
    /// Of the deployed services and jobs (external services are the same for every option).
    pub cost: f64,
    /// Replicas × shards over the units.
    pub count: u64,
    pub predictions: u32,
    /// The check of `replicas` (feasible), for [`finish`].
    pub check: Rc<Check>,
}

/// Why one model has no plan, and how close it came: lower is closer (see
/// [`super::choices`]).
pub(super) struct Failed {
    pub infeasible: Infeasible,
    pub closeness: (u8, f64),
    pub predictions: u32,
}

/// A plan to beat: (cost, replicas × shards).
pub(super) type Cutoff = (f64, u64);

/// Whether a plan of `cost` and `count` cannot beat `cutoff`: dearer, or as dear with as many
/// replicas (ties go to the plan found first).
pub(super) fn cannot_beat(cost: f64, count: u64, cutoff: Cutoff) -> bool {
    cost > cutoff.0 + 1e-9 || (cost >= cutoff.0 - 1e-9 && count >= cutoff.1)
}

/// The cost and replicas × shards of `r` over `units`, jobs at their sized cost.
fn cost_of(units: &[Unit], r: &[u32], jobs: &[super::JobPlan]) -> (f64, u64) {
    let cost = units
        .iter()
        .zip(r)
        .filter(|(u, _)| !u.job)
        .map(|(u, &n)| u.cost * f64::from(n))
        .sum::<f64>()
        + jobs.iter().map(|j| j.cost_per_hour).sum::<f64>();
    let count = units
        .iter()
        .zip(r)
        .map(|(u, &n)| u64::from(n) * u64::from(u.shards))
        .sum();
    (cost, count)
}

/// The cheapest replicas for `model` as it stands (its choices applied), without the report;
/// `Ok(Err(predictions made))` when its lower bounds already show it cannot beat `cutoff`.
pub(super) fn solve(
    model: &Model,
    options: &PlanOptions,
    cutoff: Option<Cutoff>,
) -> Result<Result<Solved, u32>, Failed> {
    let fail = |reasons: Vec<Reason>, closeness: (u8, f64), predictions: u32| Failed {
        infeasible: Infeasible {
            system: model.system.clone().unwrap_or_default(),
            load: options.load,
            reasons,
            choices: Vec::new(),
        },
        closeness,
        predictions,
    };
    if let Err(d) = crate::queueing::traffic(model, options.load) {
        return Err(fail(
            vec![Reason::Divergent {
                services: d.services,
            }],
            (4, 0.0),
            0,
        ));
    }
    let mut units = units(model, options).map_err(|r| fail(vec![r], (5, 0.0), 0))?;
    let jobs = jobs::size(model, &mut units).map_err(|r| fail(r, (3, 0.0), 0))?;
    let oracle = Oracle::new(model, &units, options.load, options);
    let hi: Vec<u32> = units.iter().map(|u| u.hi).collect();
    let top = oracle.check(&hi);
    if !top.ok() {
        let reasons = explain::at_top(&oracle, &top);
        return Err(fail(
            reasons,
            (2, top.violation()),
            oracle.predictions.get(),
        ));
    }
    let lb = lower_bounds(&oracle, &top);
    // Every plan of this model costs at least its lower bounds' cost (a valid bound).
    let (floor_cost, floor_count) = cost_of(&units, &lb, &jobs);
    if cutoff.is_some_and(|c| cannot_beat(floor_cost, floor_count, c)) {
        return Ok(Err(oracle.predictions.get()));
    }
    let mut learnt = Vec::new();
    let mut r = repair(&oracle, lb.clone(), &paths(model, &units), &mut learnt);
    trim(&oracle, &lb, &mut r, &mut learnt);
    let limits = milp::Limits::of(model, &units, &jobs);
    let incumbent = limits.fits(&units, &r).then(|| r.clone());
    let exact = milp::exact(
        &oracle,
        &lb,
        &limits,
        incumbent,
        &mut learnt,
        options.exact_budget,
    );
    let (r, optimal) = match exact {
        milp::Outcome::Found { replicas, optimal } => (replicas, optimal),
        milp::Outcome::NoneFits => {
            return Err(fail(
                vec![limits.explain(&units, &lb, &r)],
                (1, 0.0),
                oracle.predictions.get(),
            ));
        }
    };
    let (cost, count) = cost_of(&units, &r, &jobs);
    // Every answer of the search was checked feasible: this is the oracle's memory.
    let check = oracle.check(&r);
    debug_assert!(check.ok());
    Ok(Ok(Solved {
        replicas: r,
        lb,
        optimal,
        cost,
        count,
        predictions: oracle.predictions.get(),
        check,
    }))
}

/// The plan of `model` with the replicas `solved` found: peak replicas, headroom, binding
/// constraints and the report. `spent` predictions were made before.
pub(super) fn finish(
    model: &Model,
    options: &PlanOptions,
    solved: &Solved,
    spent: u32,
) -> Result<Plan, Infeasible> {
    let fail = |reasons: Vec<Reason>| Infeasible {
        system: model.system.clone().unwrap_or_default(),
        load: options.load,
        reasons,
        choices: Vec::new(),
    };
    let mut units = units(model, options).map_err(|r| fail(vec![r]))?;
    let jobs = jobs::size(model, &mut units).map_err(fail)?;
    let oracle = Oracle::new(model, &units, options.load, options);
    oracle.predictions.set(spent + solved.predictions);
    let lb = &solved.lb;
    let limits = milp::Limits::of(model, &units, &jobs);
    let r = solved.replicas.clone();
    let optimal = solved.optimal;
    let check = &solved.check;
    let peak = peak_replicas(model, &units, options, &r, check);
    let headroom = headroom(&oracle, &r, check);
    let binding = binding(&oracle, lb, &r, check, &limits);
    Ok(report::build(
        &oracle,
        options,
        report::Parts {
            replicas: &r,
            peak: &peak,
            check,
            jobs,
            headroom,
            binding,
            optimal,
        },
    ))
}

/// Per unit, the fewest replicas that keep it under the ceiling when every other unit is at
/// its upper bound — where its utilisation is lowest, so the bound is valid for every plan.
fn lower_bounds(oracle: &Oracle, top: &Check) -> Vec<u32> {
    oracle
        .units
        .iter()
        .map(|u| {
            if !u.free() {
                return u.lo;
            }
            let util = utilization(&top.prediction, &u.name).unwrap_or(0.0);
            let needed = (f64::from(u.hi) * util / oracle.ceiling - 1e-9).ceil();
            (needed.max(0.0) as u32).clamp(u.lo, u.hi)
        })
        .collect()
}

/// The units each request workload's synchronous calls reach, by workload (in the order of
/// the predictor's workloads).
pub(super) fn paths(model: &Model, units: &[Unit]) -> Vec<BTreeSet<usize>> {
    let index = |name: &str| units.iter().position(|u| u.name == name);
    model
        .workloads
        .iter()
        .filter(|w| w.job.is_none())
        .map(|w| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![(
                w.entry.service.as_str(),
                w.entry.endpoint.as_deref().unwrap_or(""),
            )];
            let mut visited = BTreeSet::new();
            while let Some((s, e)) = stack.pop() {
                if !visited.insert((s, e)) {
                    continue;
                }
                if let Some(i) = index(s) {
                    seen.insert(i);
                }
                let Some(endpoint) = model.service(s).and_then(|s| s.endpoint(e)) else {
                    continue;
                };
                crate::model::graph::each_call(&endpoint.steps, &mut |c| {
                    if !c.is_async {
                        stack.push((c.service.as_str(), c.endpoint.as_str()));
                    }
                });
            }
            seen
        })
        .collect()
}

/// From `r`, adds replicas until the plan is feasible: first to stations over the ceiling
/// (to the count that brings them under it), then where the failing SLOs gain most per
/// dollar. Every infeasible vector seen goes to `learnt`.
fn repair(
    oracle: &Oracle,
    mut r: Vec<u32>,
    paths: &[BTreeSet<usize>],
    learnt: &mut Vec<Vec<u32>>,
) -> Vec<u32> {
    let units = oracle.units;
    loop {
        let check = oracle.check(&r);
        if check.ok() {
            return r;
        }
        learnt.push(r.clone());
        let mut raised = false;
        for &(i, util) in &check.over {
            let u = &units[i];
            if u.free() && r[i] < u.hi {
                let needed = (f64::from(r[i]) * util / oracle.ceiling - 1e-9).ceil() as u32;
                r[i] = needed.max(r[i] + 1).min(u.hi);
                raised = true;
            }
        }
        if raised || raise_for_zone_loss(oracle, &check, &mut r) {
            continue;
        }
        let mut candidates: Vec<usize> = check
            .failed
            .iter()
            .flat_map(|f| paths[f.0].iter().copied())
            .filter(|&i| units[i].free() && r[i] < units[i].hi)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if candidates.is_empty() {
            // Nothing on the failing paths can grow: everything to its upper bound, which
            // was checked feasible.
            return units.iter().map(|u| u.hi).collect();
        }
        if candidates.len() > TRIALS {
            // The longest waits first: they are where replicas buy latency.
            let wait = |i: usize| {
                check
                    .prediction
                    .services
                    .iter()
                    .find(|s| s.name == units[i].name)
                    .and_then(|s| s.wait_mean_s)
                    .unwrap_or(0.0)
            };
            candidates.sort_by(|&a, &b| wait(b).total_cmp(&wait(a)).then(a.cmp(&b)));
            candidates.truncate(TRIALS);
        }
        let before = check.violation();
        let mut best: Option<(f64, usize, Vec<u32>)> = None;
        for &i in &candidates {
            let mut next = r.clone();
            next[i] = (r[i] + r[i].div_ceil(4).max(1)).min(units[i].hi);
            let trial = oracle.check(&next);
            let gain =
                (before - trial.violation()) / ((f64::from(next[i] - r[i])) * units[i].cost + EPS);
            if trial.ok() {
                // Feasible: the cheapest feasible step wins outright.
                let score = f64::INFINITY / 2.0 - units[i].cost;
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, i, next));
                }
                continue;
            }
            learnt.push(next.clone());
            if best.as_ref().is_none_or(|b| gain > b.0) {
                best = Some((gain, i, next));
            }
        }
        match best {
            Some((gain, _, next)) if gain > 0.0 => r = next,
            _ => {
                // No single step helps (a workload stays overloaded until several stations
                // grow): grow every candidate by a quarter.
                for &i in &candidates {
                    r[i] = (r[i] + r[i].div_ceil(4).max(1)).min(units[i].hi);
                }
            }
        }
    }
}

/// With a zone lost, stations that overload (or lose their only replica) get the replicas
/// whose survivors bring them to [`HEADROOM_UTILIZATION`]; whether that is enough for the
/// SLOs, the repair's trials decide. Returns whether anything was raised.
fn raise_for_zone_loss(oracle: &Oracle, check: &Check, r: &mut [u32]) -> bool {
    let mut raised = false;
    for (i, u) in oracle.units.iter().enumerate() {
        if !u.free() || r[i] >= u.hi {
            continue;
        }
        let left = super::oracle::survivors(r[i], oracle.zones);
        let needed = match &check.zone {
            _ if oracle.zones < 2 => continue,
            None if left == 0 => 1,
            None => continue,
            Some(z) => match utilization(z, &u.name) {
                Some(util) if util >= 1.0 => {
                    (f64::from(left) * util / HEADROOM_UTILIZATION - 1e-9).ceil() as u32
                }
                _ => continue,
            },
        };
        let mut n = r[i] + 1;
        while n < u.hi && super::oracle::survivors(n, oracle.zones) < needed {
            n += 1;
        }
        r[i] = n.min(u.hi);
        raised = true;
    }
    raised
}

/// Takes replicas away, one service at a time (dearest first), by bisection down to its
/// lower bound, while the plan stays feasible; repeated until a pass changes nothing, so no
/// single replica can be removed at the end.
fn trim(oracle: &Oracle, lb: &[u32], r: &mut [u32], learnt: &mut Vec<Vec<u32>>) {
    let units = oracle.units;
    let mut order: Vec<usize> = (0..units.len()).filter(|&i| units[i].free()).collect();
    order.sort_by(|&a, &b| units[b].cost.total_cmp(&units[a].cost).then(a.cmp(&b)));
    for _ in 0..4 {
        let mut changed = false;
        for &i in &order {
            let (mut low, mut high) = (lb[i], r[i]);
            while low < high {
                let mid = low + (high - low) / 2;
                let mut next = r.to_vec();
                next[i] = mid;
                if oracle.check(&next).ok() {
                    high = mid;
                } else {
                    learnt.push(next);
                    low = mid + 1;
                }
            }
            if high < r[i] {
                r[i] = high;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Replicas at the peak load: the plan, first scaled so that each station's utilisation
/// (inversely proportional to its replicas, proportional to the load) stays under the
/// ceiling, then repaired at `peak` × load; each within its range (at its upper bound when
/// the peak cannot be met).
fn peak_replicas(
    model: &Model,
    units: &[Unit],
    options: &PlanOptions,
    r: &[u32],
    at_plan: &Check,
) -> Vec<u32> {
    let oracle = Oracle::new(model, units, options.load * options.peak, options);
    let scaled: Vec<u32> = units
        .iter()
        .zip(r)
        .map(|(u, &n)| {
            if !u.free() {
                return n;
            }
            let util = utilization(&at_plan.prediction, &u.name).unwrap_or(0.0) * options.peak;
            let needed = (f64::from(n) * util / oracle.ceiling - 1e-9).ceil() as u32;
            needed.clamp(n, u.hi)
        })
        .collect();
    // Usually the scaled counts hold, and that one check settles it; otherwise the peak
    // may be out of reach, which the upper bounds tell before any repair.
    let raised = if oracle.check(&scaled).ok() {
        scaled
    } else {
        let top: Vec<u32> = units.iter().map(|u| u.hi).collect();
        if !oracle.check(&top).ok() {
            return top;
        }
        repair(&oracle, scaled, &paths(model, units), &mut Vec::new())
    };
    raised.iter().zip(r).map(|(&a, &b)| a.max(b)).collect()
}

/// The utilisation past which headroom stops: the predictor's approximations degrade above
/// 90% (W0801) and its figures near saturation are not worth their time.
pub(super) const HEADROOM_UTILIZATION: f64 = 0.95;

/// The load multiplier at which `r` first breaks an SLO or runs a station above
/// [`HEADROOM_UTILIZATION`], to 1%: doubling from the planned load, then bisection. `None`
/// beyond 1000x. Utilisation grows with the load in proportion, which bounds the search
/// without predicting near saturation.
fn headroom(oracle: &Oracle, r: &[u32], at_plan: &Check) -> Option<f64> {
    let busiest = oracle
        .units
        .iter()
        .filter(|u| !u.job)
        .filter_map(|u| utilization(&at_plan.prediction, &u.name))
        .fold(0.0, f64::max);
    let limit = if busiest > 0.0 {
        (oracle.load * HEADROOM_UTILIZATION / busiest).min(1000.0)
    } else {
        1000.0
    };
    let holds = |load: f64| load <= limit && oracle.holds_at(r, load, HEADROOM_UTILIZATION);
    let mut good = oracle.load;
    let mut bad = None;
    while good < 1000.0 {
        let next = (good * 2.0).min(1000.0).min(limit.max(good * 1.0001));
        if next <= good * 1.0001 {
            // At the utilisation limit.
            bad = Some(good * 1.0001);
            break;
        }
        if holds(next) {
            good = next;
        } else {
            bad = Some(next);
            break;
        }
    }
    let mut bad = bad?;
    while bad / good > 1.01 {
        let mid = (good * bad).sqrt();
        if holds(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    // Rounded down: the plan is known to hold there.
    Some((good * 100.0).floor() / 100.0)
}

/// What the plan sits at: each free service's reason for not having one replica fewer, and
/// the cluster resources or budget it nearly exhausts.
fn binding(
    oracle: &Oracle,
    lb: &[u32],
    r: &[u32],
    check: &Check,
    limits: &milp::Limits,
) -> Vec<super::Binding> {
    let units = oracle.units;
    let model = oracle.model;
    let mut out = Vec::new();
    let workloads: Vec<&crate::model::Workload> =
        model.workloads.iter().filter(|w| w.job.is_none()).collect();
    let design_min = |u: &Unit| {
        model
            .service(&u.name)
            .and_then(|s| s.replicas)
            .map_or(1, |r| r.min)
    };
    for (i, u) in units.iter().enumerate() {
        if !u.free() {
            continue;
        }
        let push = |out: &mut Vec<super::Binding>, kind: &str, detail: String| {
            out.push(super::Binding {
                kind: kind.into(),
                subject: u.name.clone(),
                detail,
            })
        };
        if r[i] == u.hi && u.hi > u.lo {
            push(
                &mut out,
                "range_max",
                format!("at its upper bound of {}", u.hi),
            );
        }
        if r[i] == u.lo {
            let kind = if r[i] == design_min(u) {
                "range_min"
            } else {
                "min_replicas"
            };
            push(&mut out, kind, format!("at the floor of {} replicas", r[i]));
            continue;
        }
        let mut fewer = r.to_vec();
        fewer[i] -= 1;
        let c = oracle.check(&fewer);
        if let Some(&(_, util)) = c.over.iter().find(|o| o.0 == i) {
            push(
                &mut out,
                "utilization",
                format!(
                    "{} replicas would run it at {:.1}% > {:.0}%",
                    fewer[i],
                    util * 100.0,
                    oracle.ceiling * 100.0
                ),
            );
        } else if let Some(&(w, s, _, zone)) = c.failed.first() {
            let lost = if zone { " with a zone lost" } else { "" };
            let detail = match workloads[w].slos.get(s) {
                None => format!(
                    "{} replicas would overload `{}`{lost}",
                    fewer[i], workloads[w].name
                ),
                Some(slo) => {
                    let predicted = if zone {
                        c.zone.as_ref()
                    } else {
                        Some(&c.prediction)
                    }
                    .and_then(|p| p.workloads[w].slos.get(s))
                    .map(|v| v.predicted_s);
                    format!(
                        "{} replicas would break {} {} < {}{}{lost}",
                        fewer[i],
                        workloads[w].name,
                        slo.stat,
                        report::fmt_ms(slo.target_s),
                        predicted.map_or(String::new(), |p| format!(" ({})", report::fmt_ms(p))),
                    )
                }
            };
            push(&mut out, "slo", detail);
        } else if lb[i] == r[i] {
            push(&mut out, "utilization", "at its utilisation bound".into());
        }
    }
    let _ = check;
    out.extend(limits.binding(units, r));
    out
}

/// The critical path of an endpoint by mean latency: sequential calls in order, the slowest
/// branch of each parallel group.
pub(super) fn critical_path(
    model: &Model,
    means: &dyn Fn(&str) -> f64,
    service: &str,
    endpoint: &str,
    depth: usize,
) -> (f64, Vec<String>) {
    let own = means(service);
    let mut path = vec![service.to_string()];
    let mut total = own;
    let Some(e) = model.service(service).and_then(|s| s.endpoint(endpoint)) else {
        return (total, path);
    };
    if depth > 64 {
        return (total, path);
    }
    fn walk(
        model: &Model,
        means: &dyn Fn(&str) -> f64,
        steps: &[Step],
        depth: usize,
    ) -> (f64, Vec<String>) {
        let mut total = 0.0;
        let mut path = Vec::new();
        for s in steps {
            match s {
                Step::Call(c) if c.is_async => {}
                Step::Call(c) => {
                    let (t, p) = critical_path(model, means, &c.service, &c.endpoint, depth + 1);
                    total += t * c.probability * f64::from(c.times);
                    path.extend(p);
                }
                Step::Parallel { steps } => {
                    let best = steps
                        .iter()
                        .map(|s| walk(model, means, std::slice::from_ref(s), depth))
                        .max_by(|a, b| a.0.total_cmp(&b.0));
                    if let Some((t, p)) = best {
                        total += t;
                        path.extend(p);
                    }
                }
            }
        }
        (total, path)
    }
    let (t, p) = walk(model, means, &e.steps, depth);
    total += t;
    path.extend(p);
    (total, path)
}
