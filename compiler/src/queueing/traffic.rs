//! Traffic equations: requests per second reaching every endpoint, from all workloads together.
//!
//! A workload's requests arrive at its entry endpoint. An endpoint's cache hits answer at once;
//! its misses do its own work and make its calls: `when P` thins a call, `times N` multiplies
//! it, and a call to a service with `shards N` visits every shard, so each shard sees the full
//! call rate. `async` calls and queue deliveries add load like any other call. Retried calls
//! count as many times as [`traffic_with`] is told; the predictor works that out from the
//! latency model, since retries happen on timeouts.
//!
//! The equations λ = b + Pᵀλ are solved in one pass in topological order when calls form no
//! loop, else by fixed-point iteration, which converges exactly when every loop multiplies
//! traffic by less than 1.

use super::service_time::Dist;
use crate::model::graph::each_call;
use crate::model::{Model, ServiceTime};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointLoad {
    pub service: String,
    pub endpoint: String,
    /// Requests per second arriving at one shard of the endpoint.
    pub rate: f64,
    /// Of those, the ones that miss the cache: they do the endpoint's own work and calls.
    pub miss_rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceLoad {
    pub service: String,
    /// Requests per second arriving at one shard, over all endpoints.
    pub rate_per_shard: f64,
    pub shards: u32,
    /// Mean time a request holds a server (own work, or a cache hit's time), mixed over the
    /// endpoints by rate. `None` without traffic, or when an endpoint batches (the batching
    /// station has its own model).
    pub mean_service_s: Option<f64>,
    /// Squared coefficient of variation of that mixture.
    pub service_scv: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// In the model's order of services, then endpoints.
    pub endpoints: Vec<EndpointLoad>,
    /// In the model's order.
    pub services: Vec<ServiceLoad>,
}

impl Traffic {
    pub fn endpoint(&self, service: &str, endpoint: &str) -> Option<&EndpointLoad> {
        self.endpoints
            .iter()
            .find(|e| e.service == service && e.endpoint == endpoint)
    }

    pub fn service(&self, service: &str) -> Option<&ServiceLoad> {
        self.services.iter().find(|s| s.service == service)
    }
}

/// Calls loop back with a total multiplier of at least 1: the load grows without bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergent {
    /// The services on the loops, in the model's order.
    pub services: Vec<String>,
}

/// The traffic of every workload scaled by `load` (1.0 as designed). Job workloads are sized
/// by their work and deadline, not by request traffic, and are left out.
pub fn traffic(model: &Model, load: f64) -> Result<Traffic, Divergent> {
    traffic_with(model, load, &Attempts::new())
}

/// Attempts per call, for calls that retry on timeout: (service, endpoint, index of the call
/// among the endpoint's calls in source order) → expected attempts per call (1 when absent).
pub type Attempts = std::collections::BTreeMap<(String, String, usize), f64>;

/// [`traffic`], with retried calls counted `attempts` times.
pub fn traffic_with(model: &Model, load: f64, attempts: &Attempts) -> Result<Traffic, Divergent> {
    let mut index = FxHashMap::default();
    let mut nodes = Vec::new();
    for (si, s) in model.services.iter().enumerate() {
        for (ei, e) in s.endpoints.iter().enumerate() {
            index.insert((s.name.as_str(), e.name.as_str()), nodes.len());
            nodes.push((si, ei));
        }
    }
    let mut external = vec![0.0; nodes.len()];
    for w in model.workloads.iter().filter(|w| w.job.is_none()) {
        if let Some(ep) = &w.entry.endpoint {
            external[index[&(w.entry.service.as_str(), ep.as_str())]] += w.rate_rps * load;
        }
    }
    // Routing: per endpoint, (target, calls per miss).
    let mut graph: DiGraph<(), f64> = DiGraph::new();
    let ids: Vec<NodeIndex> = nodes.iter().map(|_| graph.add_node(())).collect();
    let mut hit = vec![0.0; nodes.len()];
    for (u, &(si, ei)) in nodes.iter().enumerate() {
        let e = &model.services[si].endpoints[ei];
        hit[u] = e.cache.as_ref().map_or(0.0, |c| c.hit_ratio);
        let service = &model.services[si].name;
        let mut k = 0;
        each_call(&e.steps, &mut |c| {
            let v = index[&(c.service.as_str(), c.endpoint.as_str())];
            let tries = attempts
                .get(&(service.clone(), e.name.clone(), k))
                .copied()
                .unwrap_or(1.0);
            // Every shard of a sharded caller runs the endpoint, and so makes the call.
            let shards = model.services[si].shards as f64;
            graph.add_edge(
                ids[u],
                ids[v],
                c.probability * c.times as f64 * tries * shards,
            );
            k += 1;
        });
    }
    let rates = match toposort(&graph, None) {
        Ok(order) => {
            let mut rate = external.clone();
            for n in order {
                let u = n.index();
                let misses = rate[u] * (1.0 - hit[u]);
                for e in graph.edges(n) {
                    rate[petgraph::visit::EdgeRef::target(&e).index()] += misses * e.weight();
                }
            }
            rate
        }
        Err(_) => {
            fixed_point(&graph, &external, &hit).ok_or_else(|| divergent(model, &graph, &nodes))?
        }
    };
    let endpoints: Vec<EndpointLoad> = nodes
        .iter()
        .enumerate()
        .map(|(u, &(si, ei))| EndpointLoad {
            service: model.services[si].name.clone(),
            endpoint: model.services[si].endpoints[ei].name.clone(),
            rate: rates[u],
            miss_rate: rates[u] * (1.0 - hit[u]),
        })
        .collect();
    let services = model
        .services
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let mine: Vec<(usize, &EndpointLoad)> = nodes
                .iter()
                .zip(&endpoints)
                .filter(|((i, _), _)| *i == si)
                .map(|((_, ei), l)| (*ei, l))
                .collect();
            let rate_per_shard = mine.iter().map(|(_, l)| l.rate).sum();
            let moments = mixture(s, &mine);
            ServiceLoad {
                service: s.name.clone(),
                rate_per_shard,
                shards: s.shards,
                mean_service_s: moments.map(|m| m.0),
                service_scv: moments.map(|m| m.1),
            }
        })
        .collect();
    Ok(Traffic {
        endpoints,
        services,
    })
}

/// Mean and SCV of the service time over a service's endpoints, weighted by rate: a hit takes
/// the cache's time, a miss the endpoint's own.
fn mixture(s: &crate::model::Service, loads: &[(usize, &EndpointLoad)]) -> Option<(f64, f64)> {
    let (mut weight, mut first, mut second) = (0.0, 0.0, 0.0);
    let mut add = |w: f64, t: &ServiceTime| -> Option<()> {
        if w <= 0.0 {
            return Some(());
        }
        let d = Dist::from_model(t)?;
        let m = d.mean();
        weight += w;
        first += w * m;
        second += w * m * m * (1.0 + d.scv());
        Some(())
    };
    for (ei, l) in loads {
        let e = &s.endpoints[*ei];
        if let Some(c) = &e.cache {
            add(l.rate - l.miss_rate, &c.hit_time)?;
        }
        add(l.miss_rate, &e.time)?;
    }
    if weight == 0.0 || first == 0.0 {
        return None;
    }
    let mean = first / weight;
    Some((mean, (second / weight) / (mean * mean) - 1.0))
}

/// λ = b + Pᵀλ by Jacobi iteration; `None` if it does not settle.
fn fixed_point(graph: &DiGraph<(), f64>, external: &[f64], hit: &[f64]) -> Option<Vec<f64>> {
    let total: f64 = external.iter().sum::<f64>().max(1.0);
    let mut rate = external.to_vec();
    for _ in 0..100_000 {
        let mut next = external.to_vec();
        for e in graph.edge_indices() {
            let (u, v) = graph.edge_endpoints(e).expect("edge exists");
            next[v.index()] += rate[u.index()] * (1.0 - hit[u.index()]) * graph[e];
        }
        let change = rate
            .iter()
            .zip(&next)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-300))
            .fold(0.0, f64::max);
        rate = next;
        if rate.iter().any(|r| !r.is_finite() || *r > total * 1e12) {
            return None;
        }
        if change < 1e-13 {
            return Some(rate);
        }
    }
    None
}

fn divergent(model: &Model, graph: &DiGraph<(), f64>, nodes: &[(usize, usize)]) -> Divergent {
    let mut on_loop = vec![false; model.services.len()];
    for scc in tarjan_scc(graph) {
        let looped = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if looped {
            for n in scc {
                on_loop[nodes[n.index()].0] = true;
            }
        }
    }
    Divergent {
        services: model
            .services
            .iter()
            .zip(on_loop)
            .filter(|(_, l)| *l)
            .map(|(s, _)| s.name.clone())
            .collect(),
    }
}
