//! Arrival variability through the network, after Whitt's Queueing Network Analyzer (1983).
//!
//! Each station's arrival SCV c_a² is the rate-weighted superposition of its flows: the
//! workloads entering it (Poisson 1, `bursty(scv k)` k, traces as measured) and the calls of its
//! callers. A caller's departures have
//!   c_d² = 1 + (1 − ρ²)(c_a² − 1) + ρ²(c_s² − 1)/√c            (Whitt's multi-server formula);
//! the share q of them that makes a call is a thinning, q·c_d² + 1 − q; and a call made `times
//! N` sends its N requests together, which the asymptotic method counts as N·c². A batching
//! station releases its requests in batches of b: c_d² = b. A delay (external service) passes
//! its arrivals through. Loops (through async calls) are solved by iteration.
//!
//! This is QNA's simple superposition. Sharded callers send their calls from every shard at
//! once, counted like `times`. Its errors against the simulator are in docs/models.md.

use super::traffic::Traffic;
use crate::model::graph::each_call;
use crate::model::{Arrivals, Model};
use rustc_hash::FxHashMap;

/// What QNA needs to know of one station.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Station {
    /// A queue: servers (all replicas), utilisation, service SCV.
    Queue {
        servers: u32,
        utilization: f64,
        service_scv: f64,
    },
    /// Releases requests in batches of about `batch` (dynamic batching).
    Batches { batch: f64 },
    /// Passes arrivals through unchanged (external services, idle or unstable stations).
    PassThrough,
}

/// The arrival SCV of every service (per shard: each shard sees every request), in the model's
/// order; `stations` is in the model's order too.
pub fn arrival_scv(model: &Model, traffic: &Traffic, load: f64, stations: &[Station]) -> Vec<f64> {
    let n = model.services.len();
    // Services by position: `traffic.services` is in the model's order.
    let ids: FxHashMap<&str, usize> = (model.services.iter().enumerate())
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let rate = |i: usize| traffic.services.get(i).map_or(0.0, |l| l.rate_per_shard);
    // External flows: (rate, rate × SCV) per service.
    let mut external: Vec<(f64, f64)> = vec![(0.0, 0.0); n];
    for w in model.workloads.iter().filter(|w| w.job.is_none()) {
        let scv = match &w.arrivals {
            Arrivals::Poisson => 1.0,
            Arrivals::Bursty { scv } | Arrivals::Trace { scv, .. } => *scv,
            Arrivals::Periodic { .. } => 0.0,
        };
        let Some(&i) = ids.get(w.entry.service.as_str()) else {
            continue;
        };
        let e = &mut external[i];
        e.0 += w.rate_rps * load;
        e.1 += w.rate_rps * load * scv;
    }
    // Internal flows: (caller, callee, share of the caller's departures, times).
    let mut flows = Vec::new();
    let mut endpoint = 0;
    for (from, s) in model.services.iter().enumerate() {
        let first = endpoint;
        endpoint += s.endpoints.len();
        let departures = rate(from);
        if departures <= 0.0 {
            continue;
        }
        for (k, e) in s.endpoints.iter().enumerate() {
            let Some(l) = traffic.endpoints.get(first + k) else {
                continue;
            };
            // Every shard makes the call, at the same moments for the same request: a sharded
            // caller's calls arrive in bunches of shards × times, like a fan-out.
            let bunch = s.shards as f64;
            each_call(&e.steps, &mut |c| {
                let share = (l.miss_rate * c.probability / departures).min(1.0);
                if share > 0.0 {
                    flows.push((from, ids[c.service.as_str()], share, c.times as f64 * bunch));
                }
            });
        }
    }
    let mut scv = vec![1.0; n];
    let mut next: Vec<(f64, f64)> = vec![(0.0, 0.0); n];
    for _ in 0..200 {
        let departure = |i: usize, ca2: f64| match stations.get(i) {
            Some(Station::Queue {
                servers,
                utilization,
                service_scv,
            }) => {
                let rho = utilization.min(1.0);
                1.0 + (1.0 - rho * rho) * (ca2 - 1.0)
                    + rho * rho * (service_scv - 1.0) / (*servers as f64).sqrt()
            }
            Some(Station::Batches { batch }) => *batch,
            Some(Station::PassThrough) | None => ca2,
        };
        // Per callee: its external flows first, then its callers' in the order of `flows`.
        next.copy_from_slice(&external);
        for &(from, to, share, times) in &flows {
            let cd2 = departure(from, scv[from]);
            let thinned = share * cd2 + 1.0 - share;
            let flow_rate = rate(from) * share * times;
            let e = &mut next[to];
            e.0 += flow_rate;
            e.1 += flow_rate * times * thinned;
        }
        let mut change: f64 = 0.0;
        for (i, old) in scv.iter_mut().enumerate() {
            let (r, weighted) = next[i];
            let value = if r > 0.0 {
                (weighted / r).max(0.0)
            } else {
                1.0
            };
            change = change.max((*old - value).abs());
            *old = value;
        }
        if change < 1e-12 {
            break;
        }
    }
    scv
}
