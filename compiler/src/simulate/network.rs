//! The model compiled for the event loop: every name resolved to an index up front, every
//! `time` turned into a sampler, every step list into a flat program, so the hot path never
//! looks anything up by name.

use super::arrivals::Gaps;
use super::sample::Sampler;
use super::{Error, Options};
use crate::model::{Balance, Model, ServiceKind, ServiceTime, Step};
use std::collections::BTreeMap;

/// "No frame", "no parent", "no program".
pub(crate) const NONE: u32 = u32::MAX;

/// The most servers (replicas × workers) one station may have.
const MAX_SERVERS: u64 = 1 << 20;

pub(crate) struct Net {
    pub services: Vec<Svc>,
    pub endpoints: Vec<Ep>,
    /// Step programs: an endpoint's `body` is a `Seq` node.
    pub nodes: Vec<Node>,
    /// The members of `Seq` and `Par` nodes, as node indices.
    pub children: Vec<u32>,
    /// Request workloads only, in the model's order.
    pub workloads: Vec<Wl>,
    /// The service of every station. A service has one station per shard (one in all for an
    /// external service), numbered from its `first_station`.
    pub station_service: Vec<u32>,
}

pub(crate) struct Svc {
    pub external: bool,
    pub shards: u32,
    pub first_station: u32,
    /// Per shard; 0 for external services.
    pub replicas: u32,
    pub workers: u32,
    pub blocking: bool,
    pub balance: Balance,
    pub batch: Option<BatchSpec>,
}

/// The dynamic batching of a service: the first batching endpoint's settings, applied to all
/// of the service's requests (as the predictor does).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchSpec {
    pub max: u32,
    pub wait: f64,
    pub base: f64,
    pub per_item: f64,
}

impl BatchSpec {
    pub(crate) fn time(&self, b: u32) -> f64 {
        self.base + self.per_item * b as f64
    }
}

pub(crate) struct Ep {
    pub service: u32,
    /// `None` for a batch time: the batching station times whole batches.
    pub time: Option<Sampler>,
    pub hit_ratio: f64,
    pub hit_time: Sampler,
    /// The step program, or [`NONE`] when the endpoint calls nothing.
    pub body: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    Seq { first: u32, len: u32 },
    Par { first: u32, len: u32 },
    Call(CallNode),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct CallNode {
    pub callee: u32,
    pub probability: f64,
    pub times: u32,
    pub fanout: bool,
    pub is_async: bool,
    /// Infinite when the call has no timeout.
    pub timeout: f64,
    pub retries: u32,
}

pub(crate) struct Wl {
    /// Index in `model.workloads`.
    pub model_index: usize,
    pub entry: u32,
    /// Offered rate: the design's rate × load.
    pub rate: f64,
    pub gaps: Gaps,
}

impl Net {
    pub(crate) fn build(model: &Model, options: &Options) -> Result<Net, Error> {
        for name in options.replicas.keys() {
            match model.service(name) {
                None => return Err(Error::UnknownService(name.clone())),
                Some(s) if s.kind == ServiceKind::External => {
                    return Err(Error::ExternalReplicas(name.clone()));
                }
                Some(_) => {}
            }
        }
        let mut index = BTreeMap::new();
        let mut n = 0u32;
        for s in &model.services {
            for e in &s.endpoints {
                index.insert((s.name.as_str(), e.name.as_str()), n);
                n += 1;
            }
        }
        let mut net = Net {
            services: Vec::new(),
            endpoints: Vec::new(),
            nodes: Vec::new(),
            children: Vec::new(),
            workloads: Vec::new(),
            station_service: Vec::new(),
        };
        for (si, s) in model.services.iter().enumerate() {
            let external = s.kind == ServiceKind::External;
            let batch = s
                .endpoints
                .iter()
                .find_map(|e| match (&e.batch, &e.time) {
                    (Some(b), ServiceTime::Batch { base_s, per_item_s }) => Some(BatchSpec {
                        max: b.max.max(1),
                        wait: b.wait_s.max(0.0),
                        base: *base_s,
                        per_item: *per_item_s,
                    }),
                    _ => None,
                })
                .filter(|_| !external);
            let stations = if external { 1 } else { s.shards.max(1) };
            let replicas = if external { 0 } else { replicas(s, options) };
            // Every server of a station is simulated; past this a run would only exhaust memory.
            let servers = u64::from(replicas) * u64::from(s.workers.max(1));
            if servers > MAX_SERVERS {
                return Err(Error::InvalidOptions(format!(
                    "`{}` would have {servers} servers per shard; at most {MAX_SERVERS} can be simulated",
                    s.name
                )));
            }
            net.services.push(Svc {
                external,
                shards: stations,
                first_station: net.station_service.len() as u32,
                replicas,
                workers: s.workers.max(1),
                blocking: s.workers_blocking,
                balance: s.balance,
                batch,
            });
            net.station_service
                .extend(std::iter::repeat_n(si as u32, stations as usize));
            for e in &s.endpoints {
                let invalid = || Error::InvalidTime {
                    service: s.name.clone(),
                    endpoint: e.name.clone(),
                };
                let time = match (&e.time, batch) {
                    (_, Some(_)) | (ServiceTime::Batch { .. }, None) => None,
                    (t, None) => Some(Sampler::new(t).ok_or_else(invalid)?),
                };
                if time.is_none() && batch.is_none() {
                    return Err(invalid());
                }
                let (hit_ratio, hit_time) = match &e.cache {
                    Some(c) => (
                        c.hit_ratio.clamp(0.0, 1.0),
                        Sampler::new(&c.hit_time).ok_or_else(invalid)?,
                    ),
                    None => (0.0, Sampler::Const(0.0)),
                };
                let body = if e.steps.is_empty() || external {
                    NONE
                } else {
                    net.program(&e.steps, &index)?
                };
                net.endpoints.push(Ep {
                    service: si as u32,
                    time,
                    hit_ratio,
                    hit_time,
                    body,
                });
            }
        }
        for (wi, w) in model.workloads.iter().enumerate() {
            if w.job.is_some() {
                continue;
            }
            let rate = w.rate_rps * options.load;
            let trace = options.traces.get(&w.name).map(Vec::as_slice);
            let gaps = match Gaps::new(&w.arrivals, rate, trace) {
                Ok(Some(g)) => g,
                Ok(None) => continue,
                Err(_) if trace.is_none() => {
                    return Err(Error::MissingTrace {
                        workload: w.name.clone(),
                    });
                }
                Err(message) => {
                    return Err(Error::BadWorkload {
                        workload: w.name.clone(),
                        message,
                    });
                }
            };
            let entry = w
                .entry
                .endpoint
                .as_deref()
                .and_then(|e| index.get(&(w.entry.service.as_str(), e)))
                .copied()
                .ok_or_else(|| Error::BadWorkload {
                    workload: w.name.clone(),
                    message: "its entry is not an endpoint".into(),
                })?;
            net.workloads.push(Wl {
                model_index: wi,
                entry,
                rate,
                gaps,
            });
        }
        if net.workloads.is_empty() {
            return Err(Error::NoRequestWorkloads);
        }
        if net.workloads.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidOptions(format!(
                "the design has {} request workloads; at most {} can be simulated",
                net.workloads.len(),
                u16::MAX
            )));
        }
        net.check_growth(model)?;
        Ok(net)
    }

    /// Compiles a step list into a `Seq` node and returns its index.
    fn program(
        &mut self,
        steps: &[Step],
        index: &BTreeMap<(&str, &str), u32>,
    ) -> Result<u32, Error> {
        let members = steps
            .iter()
            .map(|s| self.step(s, index))
            .collect::<Result<Vec<u32>, Error>>()?;
        Ok(self.group(members, false))
    }

    fn step(&mut self, step: &Step, index: &BTreeMap<(&str, &str), u32>) -> Result<u32, Error> {
        match step {
            Step::Call(c) => {
                let callee = *index
                    .get(&(c.service.as_str(), c.endpoint.as_str()))
                    .ok_or_else(|| Error::UnknownEndpoint {
                        service: c.service.clone(),
                        endpoint: c.endpoint.clone(),
                    })?;
                self.nodes.push(Node::Call(CallNode {
                    callee,
                    probability: c.probability.clamp(0.0, 1.0),
                    times: c.times,
                    fanout: c.fanout,
                    is_async: c.is_async,
                    timeout: c
                        .timeout_s
                        .filter(|t| *t >= 0.0 && !c.is_async)
                        .unwrap_or(f64::INFINITY),
                    retries: c.retries,
                }));
                Ok(self.nodes.len() as u32 - 1)
            }
            Step::Parallel { steps } => {
                let members = steps
                    .iter()
                    .map(|s| self.step(s, index))
                    .collect::<Result<Vec<u32>, Error>>()?;
                Ok(self.group(members, true))
            }
        }
    }

    fn group(&mut self, members: Vec<u32>, parallel: bool) -> u32 {
        let first = self.children.len() as u32;
        let len = members.len() as u32;
        self.children.extend(members);
        self.nodes.push(if parallel {
            Node::Par { first, len }
        } else {
            Node::Seq { first, len }
        });
        self.nodes.len() as u32 - 1
    }

    /// Refuses designs whose calls loop with a total multiplier of at least 1 (possible only
    /// through `async` calls): the expected number of requests one arrival causes would be
    /// infinite, and the run would never end. Expected visits per endpoint solve
    /// x = b + Pᵀx, where a visit of endpoint u makes, on each of its shards, (1 − hit) ×
    /// P(when) × times calls to each callee; iterated from x = b.
    fn check_growth(&self, model: &Model) -> Result<(), Error> {
        let n = self.endpoints.len();
        let mut b = vec![0.0; n];
        for w in &self.workloads {
            b[w.entry as usize] += 1.0;
        }
        let mut edges: Vec<(usize, usize, f64)> = Vec::new();
        for (u, e) in self.endpoints.iter().enumerate() {
            if e.body == NONE {
                continue;
            }
            let shards = self.services[e.service as usize].shards as f64;
            self.each_call(e.body, &mut |c| {
                edges.push((
                    u,
                    c.callee as usize,
                    shards * (1.0 - e.hit_ratio) * c.probability * c.times as f64,
                ))
            });
        }
        let mut x = b.clone();
        for _ in 0..100_000 {
            let mut next = b.clone();
            for &(u, v, w) in &edges {
                next[v] += x[u] * w;
            }
            let change = next
                .iter()
                .zip(&x)
                .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
                .fold(0.0, f64::max);
            let total: f64 = next.iter().sum();
            x = next;
            if !(total.is_finite() && total < 1e12) {
                break;
            }
            if change < 1e-13 {
                return Ok(());
            }
        }
        // Name the services on a loop of calls.
        let mut graph = petgraph::graph::DiGraph::<(), ()>::new();
        let ids: Vec<_> = (0..n).map(|_| graph.add_node(())).collect();
        for &(u, v, _) in &edges {
            graph.add_edge(ids[u], ids[v], ());
        }
        let mut on_loop = vec![false; self.services.len()];
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let looped = scc.len() > 1 || edges.iter().any(|&(u, v, _)| u == v && ids[u] == scc[0]);
            for node in scc.iter().filter(|_| looped) {
                on_loop[self.endpoints[node.index()].service as usize] = true;
            }
        }
        Err(Error::Divergent {
            services: model
                .services
                .iter()
                .zip(on_loop)
                .filter(|(_, l)| *l)
                .map(|(s, _)| s.name.clone())
                .collect(),
        })
    }

    /// Every call in the program rooted at `node`.
    pub(crate) fn each_call(&self, node: u32, f: &mut dyn FnMut(&CallNode)) {
        match self.nodes[node as usize] {
            Node::Call(ref c) => f(c),
            Node::Seq { first, len } | Node::Par { first, len } => {
                for i in first..first + len {
                    self.each_call(self.children[i as usize], f);
                }
            }
        }
    }
}

/// Replicas per shard: the `--replicas` override, else the design's pin or lower bound, at
/// least 1 (the rule of `kendall predict`).
fn replicas(s: &crate::model::Service, options: &Options) -> u32 {
    let r = s.replicas.map_or(1, |r| r.min);
    options.replicas.get(&s.name).copied().unwrap_or(r).max(1)
}
