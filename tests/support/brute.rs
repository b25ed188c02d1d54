//! The cheapest plan by enumeration, written independently of the planner, for the
//! optimality tests.

use kendall::model::Model;
use kendall::model::choice::Choice;
use kendall::plan::PlanOptions;
use kendall::queueing;
use std::collections::BTreeMap;

/// A plan found by enumeration: (cost, replicas, replicas by service, options by service).
pub type Found = (f64, u64, BTreeMap<String, u32>, BTreeMap<String, Choice>);

/// The cheapest plan over every combination of the design's choices (GPU type × batch max
/// candidate per service) and every replica vector: (cost, replicas, replicas by service,
/// the options chosen by service). Ties go to the fewest replicas, then to the first
/// combination (types as written, batch max ascending), as the planner's.
pub fn brute_force_choices(model: &Model, options: &PlanOptions) -> Option<Found> {
    let chosen: Vec<(String, Vec<Choice>)> = model
        .services
        .iter()
        .filter(|s| s.replicas.is_some() && s.has_choices())
        .map(|s| (s.name.clone(), s.options()))
        .collect();
    let mut best: Option<Found> = None;
    let mut digits = vec![0usize; chosen.len()];
    loop {
        let choices: BTreeMap<String, Choice> = chosen
            .iter()
            .zip(&digits)
            .map(|((name, options), &d)| (name.clone(), options[d].clone()))
            .collect();
        if let Some((cost, count, replicas)) = brute_force(&model.with_choices(&choices), options) {
            let better = best
                .as_ref()
                .is_none_or(|b| cost < b.0 - 1e-9 || (cost < b.0 + 1e-9 && count < b.1));
            if better {
                best = Some((cost, count, replicas, choices));
            }
        }
        // The next combination, the last service fastest.
        let mut k = digits.len();
        loop {
            if k == 0 {
                return best;
            }
            k -= 1;
            digits[k] += 1;
            if digits[k] < chosen[k].1.len() {
                break;
            }
            digits[k] = 0;
        }
    }
}

/// The cheapest replica vector by enumerating every one: the same feasibility rules as the
/// planner (utilisation ceiling, SLOs, SLOs with the fullest zone lost, the `min_replicas`
/// floor, cluster cpu and budget), written out independently. Returns (cost, replicas).
pub fn brute_force(
    model: &Model,
    options: &PlanOptions,
) -> Option<(f64, u64, BTreeMap<String, u32>)> {
    let zones = model
        .deploy
        .kubernetes
        .as_ref()
        .map_or(1, |k| if options.zone_loss { k.zones } else { 1 });
    let planned: Vec<_> = model
        .services
        .iter()
        .filter(|s| s.replicas.is_some())
        .collect();
    let ranges: Vec<(u32, u32)> = planned
        .iter()
        .map(|s| {
            let r = s.replicas.unwrap();
            if r.pinned {
                (r.min, r.min)
            } else {
                (r.min.max(options.min_replicas.min(r.max)), r.max)
            }
        })
        .collect();
    let price: Vec<f64> = planned
        .iter()
        .map(|s| {
            kendall::plan::cost::replica_cost_per_hour(s, &model.pricing).unwrap()
                * f64::from(s.shards)
        })
        .collect();
    let holds = |replicas: &BTreeMap<String, u32>, ceiling: Option<f64>| {
        let p = queueing::predict(
            model,
            &queueing::Options {
                load: options.load,
                replicas: replicas.clone(),
            },
        )
        .unwrap();
        let stable = p.services.iter().all(|s| {
            s.unstable.is_none()
                && ceiling.is_none_or(|c| s.utilization.is_none_or(|u| u <= c + 1e-9))
        });
        stable && p.workloads.iter().all(|w| w.slos.iter().all(|s| s.met))
    };
    let mut best: Option<(f64, u64, BTreeMap<String, u32>)> = None;
    let mut vector: Vec<u32> = ranges.iter().map(|r| r.0).collect();
    loop {
        let replicas: BTreeMap<String, u32> = planned
            .iter()
            .zip(&vector)
            .map(|(s, &n)| (s.name.clone(), n))
            .collect();
        let cost: f64 = vector
            .iter()
            .zip(&price)
            .map(|(&n, p)| f64::from(n) * p)
            .sum();
        let count: u64 = vector
            .iter()
            .zip(&planned)
            .map(|(&n, s)| u64::from(n) * u64::from(s.shards))
            .sum();
        let cpu: f64 = vector
            .iter()
            .zip(&planned)
            .map(|(&n, s)| f64::from(n) * s.cpu_cores.unwrap_or(0.0) * f64::from(s.shards))
            .sum();
        let fits = model.cluster.cpu_cores.is_none_or(|c| cpu <= c + 1e-9)
            && model.budget_per_hour.is_none_or(|b| cost <= b + 1e-9);
        let better = best
            .as_ref()
            .is_none_or(|b| cost < b.0 - 1e-9 || (cost < b.0 + 1e-9 && count < b.1));
        if fits && better && holds(&replicas, Some(options.ceiling)) {
            let survivors: BTreeMap<String, u32> = replicas
                .iter()
                .map(|(k, &n)| (k.clone(), n - n.div_ceil(zones)))
                .collect();
            let zone_ok =
                zones < 2 || (survivors.values().all(|&n| n > 0) && holds(&survivors, None));
            if zone_ok {
                best = Some((cost, count, replicas));
            }
        }
        // The next vector, odometer style.
        let mut i = 0;
        loop {
            if i == vector.len() {
                return best;
            }
            if vector[i] < ranges[i].1 {
                vector[i] += 1;
                break;
            }
            vector[i] = ranges[i].0;
            i += 1;
        }
    }
}
