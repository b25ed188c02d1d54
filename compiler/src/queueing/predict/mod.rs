//! Model + replicas + load → per-service load and utilisation, per-workload latency
//! distributions. Every figure names the model that produced it.
//!
//! Stations (one per service shard):
//! * `kind external`: a pure delay, its own time distribution, unlimited capacity.
//! * exponential service: GI/M/c with phase-type gaps, exact for the gaps ([`super::phmc`]):
//!   M/M/c for Poisson arrivals, Erlang-r for a round-robin split of them.
//! * one server with Poisson arrivals and other service: M/G/1, its wait exact by the
//!   Pollaczek–Khinchine transform on a lattice ([`super::mg1`]).
//! * otherwise G/G/c (Allen–Cunneen mean wait, Cosmetatos for M/D/c; exponential wait tail).
//! * `balance shared` is one queue for all replicas × workers; `random` and `round_robin` give
//!   each replica its own queue with a share of the arrivals (round robin also smooths them:
//!   c_a² / replicas); `least_request` is join-the-shortest-queue, a Markov chain
//!   ([`super::jsq`]; beyond its size, one shared queue, an optimistic bound).
//! * `workers N blocking`: a worker is held for the request's own work plus its synchronous
//!   calls. Where the workers and their callees form a product-form closed network, a
//!   flow-equivalent server ([`super::fes`], `fes.rs`) solves them together; elsewhere the
//!   holding time's distribution comes from the callees' lattices (layered: callees first).
//! * dynamic batching: the embedded Markov chain at batch completions ([`super::batching`]),
//!   exact in the mean for one instance, and the wait's distribution from the same chain
//!   ([`super::batch_wait`]).
//!
//! Arrival variability is propagated through the network by QNA (see [`super::qna`]).
//!
//! End to end, a request's latency at an endpoint is its station's wait plus its own time, then
//! its calls: in sequence they add (convolution), `parallel` groups and fan-outs take the
//! slowest (product of CDFs, independence assumed), `when` and cache hits mix, timeouts cut
//! and retry ([`super::timeout`]). Async calls add load, not latency. The mean of a visit to
//! every shard of a service is corrected for the shards' correlation (`forks.rs`).
//! `docs/models.md` gives every model's error against the simulator.

use super::traffic::{Divergent, Traffic};
use crate::diagnostics::{Code, codes};
use crate::model::{Arrivals, Model, Service};
use crate::queueing::lattice::{Compact, Shared};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::rc::Rc;

mod fes;
mod forks;
mod latency;
mod retries;
mod stations;

use stations::qna_stations;

/// What to predict for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Multiplies every workload's rate (1.0 as designed).
    pub load: f64,
    /// Replicas per service (per shard), overriding the design's pin or lower bound.
    pub replicas: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SloVerdict {
    pub stat: String,
    pub target_s: f64,
    pub predicted_s: f64,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadPrediction {
    pub name: String,
    pub rate_rps: f64,
    /// `None` when a station on the workload's path is unstable.
    pub latency: Option<Latency>,
    pub slos: Vec<SloVerdict>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub mean_s: f64,
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    pub p999_s: f64,
    /// Probability mass beyond the latency grid (a bound on the truncation error).
    pub overflow: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServicePrediction {
    pub name: String,
    /// Requests per second arriving at one shard.
    pub arrival_rps: f64,
    pub replicas: Option<u32>,
    /// Servers of one shard: replicas × workers.
    pub servers: Option<u32>,
    pub utilization: Option<f64>,
    /// Batching stations: the fraction of time an instance is busy. `utilization` is the
    /// load fraction λ / capacity, which decides stability; a greedy batcher is busy far more.
    pub busy: Option<f64>,
    pub wait_mean_s: Option<f64>,
    pub sojourn_mean_s: Option<f64>,
    pub sojourn_p99_s: Option<f64>,
    pub model: &'static str,
    pub unstable: Option<Overload>,
    /// What to know before trusting the figures (codes W0801, W0802).
    pub warnings: Vec<(Code, String)>,
}

impl ServicePrediction {
    fn warn(&mut self, code: Code, message: impl Into<String>) {
        self.warnings.push((code, message.into()));
    }
}

/// A station whose load reaches its capacity: no steady state, no latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overload {
    /// Offered load over capacity (≥ 1).
    pub utilization: f64,
    /// The fewest replicas (per shard) with capacity above the load.
    pub replicas_needed: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub workloads: Vec<WorkloadPrediction>,
    pub services: Vec<ServicePrediction>,
    /// Callees predicted in a retry storm (each is also `unstable`), in the model's order.
    pub retry_storms: Vec<RetryStorm>,
}

/// A callee whose callers' retries keep it overloaded: with every attempt of the calls that
/// retry on timeout timing out, it would be loaded past capacity, so once congested it stays
/// congested (docs/models.md §1).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryStorm {
    pub service: String,
    /// Requests per second at one shard when every call is made once, and its utilisation then
    /// (below 1: the retries overload it).
    pub single_rps: f64,
    pub single_utilization: f64,
    /// The same when every retrying call makes all its attempts.
    pub full_rps: f64,
    pub full_utilization: f64,
    /// The calls that retry into it: (caller service, caller endpoint, timeout s, retries).
    pub calls: Vec<(String, String, f64, u32)>,
}

/// A station's queueing delay, shared by all endpoints of its service.
#[derive(Clone, Debug)]
enum Wait {
    /// External services, and stations with no traffic.
    None,
    /// Waits with probability `p`, for an exponential time of mean `mean` when it does.
    Exponential {
        p: f64,
        mean: f64,
    },
    /// Batching: a wait (a distribution; see `batch_station`), then the batch the request
    /// rides in: (batch time, probability) pairs.
    Batch {
        wait: Rc<crate::queueing::batch_wait::BatchWait>,
        batches: Vec<(f64, f64)>,
    },
    /// The exact M/G/1 wait, tabulated ([`crate::queueing::mg1`]).
    Tabulated(Rc<crate::queueing::mg1::Mg1Wait>),
    Unstable,
}

impl Wait {
    /// A wait that is positive with probability `p`, of mean `mean` over everyone (so
    /// exponential with mean `mean / p` when positive).
    fn exponential(p: f64, mean: f64) -> Wait {
        Wait::Exponential {
            p,
            mean: if p > 0.0 { mean / p } else { 0.0 },
        }
    }
}

/// The grid's points; the spacing adapts per workload.
const POINTS: usize = 4096;
/// Mass beyond the grid above which the grid is widened.
const MAX_OVERFLOW: f64 = 1e-6;
/// Mass beyond a finer grid above which a lattice is computed again on a coarser grid rather
/// than resampled: resampling keeps it beyond the grid, where the coarser grid could place it.
const REUSE_OVERFLOW: f64 = 1e-9;

pub fn predict(model: &Model, options: &Options) -> Result<Prediction, Divergent> {
    let load = if options.load > 0.0 {
        options.load
    } else {
        1.0
    };
    let calm = super::traffic::Attempts::new();
    let (prediction, storms) = settle(model, options, load, calm, true)?;
    if storms.is_empty() {
        return Ok(prediction);
    }
    // A callee that every retrying call making all its attempts would overload has an
    // absorbing congested state (docs/models.md §1, "Retry storms"): once its queue passes the
    // timeout it never drains, so the long run ends there. Solve that state instead: start the
    // fixed point from full attempts, where it stays (its callees are unstable, so P = 1).
    let (mut stormy, _) = settle(model, options, load, full_attempts(model), false)?;
    stormy.retry_storms = storms
        .into_iter()
        .filter(|s| {
            let id = model.services.iter().position(|m| m.name == s.service);
            id.is_some_and(|i| stormy.services[i].unstable.is_some())
        })
        .collect();
    // A callee whose congestion does not make the retried calls time out (it is reached only
    // through `async` calls) drains again: no storm after all, and the calm state stands.
    if stormy.retry_storms.is_empty() {
        return Ok(prediction);
    }
    Ok(stormy)
}

/// Retries add load when calls time out, which depends on the latency the load causes:
/// iterate traffic and stations to a fixed point of the attempt counts, from `start` (a few
/// rounds; designs without retries take one). With `check`, also returns the callees that
/// full attempts would overload, and warns at the heavily loaded ones.
fn settle(
    model: &Model,
    options: &Options,
    load: f64,
    start: super::traffic::Attempts,
    check: bool,
) -> Result<(Prediction, Vec<RetryStorm>), Divergent> {
    let mut attempts = start;
    let mut queues = retries::RetryQueues::default();
    for round in 0.. {
        let t = super::traffic::traffic_with(model, load, &attempts)?;
        let mut p = Predictor::new(model, &t, &attempts, queues, options, load);
        for s in &model.services {
            p.station(&s.name);
        }
        let next = p.retry_attempts();
        // A call absent from `attempts` was counted once: settled if it still would be.
        let settled = next
            .iter()
            .all(|(k, v)| (attempts.get(k).copied().unwrap_or(1.0) - v).abs() <= 1e-6 * v);
        if settled || round == 20 {
            let storms = if check {
                // A first round's traffic counts every call once: the storm check's baseline.
                p.flag_retry_storms(&next, attempts.is_empty())?
            } else {
                Vec::new()
            };
            return Ok((p.finish(), storms));
        }
        queues = std::mem::take(&mut p.retry_queues);
        attempts = next;
    }
    unreachable!("the loop returns")
}

/// The spacing of a grid spanning at least `span` on [`POINTS`] points, rounded up to a power
/// of 2^¼: grids of nearby spans coincide, so that lattices computed on one serve the other
/// and a `time` repeated across a design is discretised (and transformed) once per grid.
fn grid_step(span: f64) -> f64 {
    let step = span / POINTS as f64;
    if !(step.is_finite() && step > 0.0) {
        return step;
    }
    ((4.0 * step.log2()).ceil() / 4.0).exp2()
}

/// `attempt` on a span, then on spans 4× wider, at most `tries` in all, until the mass it
/// leaves beyond its grid (the second of its pair) is at most [`MAX_OVERFLOW`]; the last
/// attempt's result otherwise.
fn widening<T>(mut span: f64, tries: usize, mut attempt: impl FnMut(f64) -> (T, f64)) -> T {
    let (mut out, mut overflow) = attempt(span);
    for _ in 1..tries {
        if overflow <= MAX_OVERFLOW {
            break;
        }
        span *= 4.0;
        (out, overflow) = attempt(span);
    }
    out
}

/// Every call that retries on timeout making all its attempts.
fn full_attempts(model: &Model) -> super::traffic::Attempts {
    let mut all = super::traffic::Attempts::new();
    for s in &model.services {
        for e in &s.endpoints {
            let mut k = 0;
            crate::model::graph::each_call(&e.steps, &mut |c| {
                if c.timeout_s.is_some() && c.retries > 0 {
                    let key = (s.name.clone(), e.name.clone(), k);
                    all.insert(key, (c.retries + 1) as f64);
                }
                k += 1;
            });
        }
    }
    all
}

/// The calls that retry on timeout into `service`: (caller, endpoint, timeout, retries).
fn retrying_calls(model: &Model, service: &str) -> Vec<(String, String, f64, u32)> {
    let mut out = Vec::new();
    for s in &model.services {
        for e in &s.endpoints {
            crate::model::graph::each_call(&e.steps, &mut |c| {
                if let (Some(t), true, true) = (c.timeout_s, c.retries > 0, c.service == service) {
                    out.push((s.name.clone(), e.name.clone(), t, c.retries));
                }
            });
        }
    }
    out
}

/// Full-attempt utilisation from which a callee's congested state is reported as a risk
/// (W0802): at 0.96 the simulator's `retries.arch` backend spends long spells congested.
const STORM_RISK: f64 = 0.9;

/// E[max of n independent exponentials] / mean = H(n), the n-th harmonic number: the
/// mean-value stand-in for a fan-out's slowest branch.
fn harmonic(n: u32) -> f64 {
    (1..=n).map(|k| 1.0 / k as f64).sum()
}

struct Predictor<'m> {
    model: &'m Model,
    traffic: &'m Traffic,
    options: &'m Options,
    load: f64,
    /// Per service (by index), once built.
    stations: Vec<Option<(Wait, ServicePrediction)>>,
    /// Arrival SCV per service (by index), propagated through the network (QNA).
    arrival_scv: Vec<f64>,
    /// Every request workload arrives as a Poisson process.
    all_poisson: bool,
    /// Services that receive `times N` calls or calls from a sharded service, whose arrivals
    /// come in bunches.
    bunched: std::collections::BTreeSet<&'m str>,
    /// Index in `model.services` by name (memo lookups hash names instead of scanning).
    service_ids: FxHashMap<&'m str, usize>,
    /// Per service (by index), the position of its first endpoint in `traffic.endpoints`.
    endpoint_offsets: Vec<usize>,
    /// Endpoint latency distributions computed on a grid, by (service index, endpoint index,
    /// grid step bits).
    lattices: FxHashMap<(usize, usize, u64), Rc<Compact>>,
    /// Per endpoint (by `endpoint_offsets`), the lattice computed on the finest grid, which
    /// coarser grids resample.
    finest: Vec<Option<Rc<Compact>>>,
    /// Discretised `time`s, by (time, grid step bits).
    discretised: FxHashMap<(latency::TimeKey, u64), Rc<Shared>>,
    /// Mean endpoint latencies, by (service, endpoint).
    means: FxHashMap<(&'m str, &'m str), f64>,
    /// Whether an endpoint's synchronous path reaches an overloaded station.
    unstable_paths: FxHashMap<(&'m str, &'m str), bool>,
    /// The attempts per retrying call this round's traffic counts.
    attempts: &'m super::traffic::Attempts,
    /// Services reached only by one call that retries on timeout, with that call.
    sole_callers: FxHashMap<&'m str, retries::Site<'m>>,
    /// Queues solved under the correlated-attempts model (predict/retries.rs), in this round
    /// or the last ones.
    retry_queues: retries::RetryQueues,
    /// Per service (by index), this round's verdict: the model applies, with its solution.
    retry_queues_now: FxHashMap<
        usize,
        Result<
            Rc<crate::queueing::retry_queue::RetryQueue>,
            crate::queueing::retry_queue::Unsolved,
        >,
    >,
    /// Blocking stations solved with their callees as a flow-equivalent server.
    fes: Vec<fes::Group>,
    /// Per service (by index), its group in `fes`.
    fes_of: Vec<Option<usize>>,
}

impl<'m> Predictor<'m> {
    fn new(
        model: &'m Model,
        t: &'m Traffic,
        attempts: &'m super::traffic::Attempts,
        retry_queues: retries::RetryQueues,
        options: &'m Options,
        load: f64,
    ) -> Predictor<'m> {
        let mut p = Predictor {
            model,
            attempts,
            sole_callers: retries::sole_retrying_callers(model),
            retry_queues,
            retry_queues_now: FxHashMap::default(),
            traffic: t,
            options,
            load,
            stations: vec![None; model.services.len()],
            arrival_scv: super::qna::arrival_scv(model, t, load, &qna_stations(model, t, options)),
            all_poisson: model
                .workloads
                .iter()
                .filter(|w| w.job.is_none())
                .all(|w| w.arrivals == Arrivals::Poisson),
            bunched: {
                let mut bunched = std::collections::BTreeSet::new();
                for s in &model.services {
                    for e in &s.endpoints {
                        crate::model::graph::each_call(&e.steps, &mut |c| {
                            if c.times > 1 || s.shards > 1 {
                                bunched.insert(c.service.as_str());
                            }
                        });
                    }
                }
                bunched
            },
            service_ids: (model.services.iter().enumerate())
                .map(|(i, s)| (s.name.as_str(), i))
                .collect(),
            endpoint_offsets: (model.services.iter())
                .scan(0, |next, s| {
                    let first = *next;
                    *next += s.endpoints.len();
                    Some(first)
                })
                .collect(),
            lattices: FxHashMap::default(),
            finest: vec![None; model.services.iter().map(|s| s.endpoints.len()).sum()],
            discretised: FxHashMap::default(),
            means: FxHashMap::default(),
            unstable_paths: FxHashMap::default(),
            fes: Vec::new(),
            fes_of: vec![None; model.services.len()],
        };
        p.fes = p.fes_groups();
        for (g, group) in p.fes.iter().enumerate() {
            for k in group.members() {
                p.fes_of[k] = Some(g);
            }
        }
        p
    }

    /// Services and workloads, once every station is built.
    fn finish(mut self) -> Prediction {
        let model = self.model;
        let services = model
            .services
            .iter()
            .map(|s| {
                let built = self.stations[self.find(&s.name).0].as_ref();
                built.expect("every station is built").1.clone()
            })
            .collect();
        let workloads = model
            .workloads
            .iter()
            .filter(|w| w.job.is_none())
            .map(|w| self.workload(w))
            .collect();
        Prediction {
            workloads,
            services,
            retry_storms: Vec::new(),
        }
    }

    /// Expected attempts of every call that retries on timeout: 1 + P + … + P^retries, where P
    /// is the chance the callee answers later than the timeout (1 if it is overloaded).
    fn retry_attempts(&mut self) -> super::traffic::Attempts {
        let mut out = super::traffic::Attempts::new();
        let model = self.model;
        for s in &model.services {
            for e in &s.endpoints {
                let mut calls = Vec::new();
                crate::model::graph::each_call(&e.steps, &mut |c| calls.push(c));
                for (k, c) in calls.into_iter().enumerate() {
                    let (Some(timeout), true) = (c.timeout_s, c.retries > 0) else {
                        continue;
                    };
                    if let Some(q) = self.retry_queue(&c.service) {
                        out.insert((s.name.clone(), e.name.clone(), k), q.attempts);
                        continue;
                    }
                    let late = if self.touches_unstable(&c.service, &c.endpoint) {
                        1.0
                    } else {
                        let shards = self.service(&c.service).shards;
                        let mean = self.mean_endpoint(&c.service, &c.endpoint) * harmonic(shards);
                        let span = (25.0 * mean).max(2.0 * timeout);
                        let mut l = self.lattice(&c.service, &c.endpoint, span / POINTS as f64);
                        if shards > 1 {
                            l = l.max_of(shards);
                        }
                        let i = ((timeout / l.step).floor() as usize).min(l.points() - 1);
                        (1.0 - l.cdf_at(i)).clamp(0.0, 1.0)
                    };
                    let tries: f64 = (0..=c.retries).map(|r| late.powi(r as i32)).sum();
                    out.insert((s.name.clone(), e.name.clone(), k), tries);
                }
            }
        }
        out
    }

    /// The callees, stable when every call is made once, that every attempt of its callers'
    /// retrying calls timing out would overload (a congested queue makes calls time out,
    /// whose retries keep it congested: a retry storm), and a W0802 at those it would load
    /// past [`STORM_RISK`]. `once`: this predictor's traffic already counts every call once.
    fn flag_retry_storms(
        &mut self,
        attempts: &super::traffic::Attempts,
        once: bool,
    ) -> Result<Vec<RetryStorm>, Divergent> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let storm =
            super::traffic::traffic_with(self.model, self.load, &full_attempts(self.model))?;
        let solved;
        let single = if once {
            self.traffic
        } else {
            solved = super::traffic::traffic(self.model, self.load)?;
            &solved
        };
        let mut storms = Vec::new();
        for (id, ((full, now), one)) in (storm.services.iter())
            .zip(&self.traffic.services)
            .zip(&single.services)
            .enumerate()
        {
            let Some((_, out)) = self.stations[id].as_mut() else {
                continue;
            };
            // Offered load over capacity scales with the rate (unstable stations report it too).
            let Some(u) = out.unstable.map(|o| o.utilization).or(out.utilization) else {
                continue;
            };
            if now.rate_per_shard <= 0.0 || full.rate_per_shard <= one.rate_per_shard {
                continue;
            }
            let overloaded = u * full.rate_per_shard / now.rate_per_shard;
            let once = u * one.rate_per_shard / now.rate_per_shard;
            // Overloaded even when every call is made once: not the retries' doing (E0801).
            if once >= 1.0 {
                continue;
            }
            if overloaded >= 1.0 {
                storms.push(RetryStorm {
                    service: out.name.clone(),
                    single_rps: one.rate_per_shard,
                    single_utilization: once,
                    full_rps: full.rate_per_shard,
                    full_utilization: overloaded,
                    calls: retrying_calls(self.model, &out.name),
                });
            } else if overloaded >= STORM_RISK && out.unstable.is_none() {
                out.warn(
                    codes::OUTSIDE_MODEL_RANGE,
                    format!(
                        "retry storm risk: if every attempt of the calls that retry on timeout timed out, they would offer {:.0} rps, {:.0}% of capacity; a queue congested past the timeout then drains slowly, and the figures predicted ({:.0} rps, {:.1}%) can be far too low",
                        full.rate_per_shard,
                        overloaded * 100.0,
                        now.rate_per_shard,
                        u * 100.0
                    ),
                );
            }
        }
        Ok(storms)
    }

    fn service(&self, name: &str) -> &'m Service {
        self.find(name).1
    }

    fn replicas(&self, s: &Service) -> Option<u32> {
        let r = s.replicas?;
        Some((*self.options.replicas.get(&s.name).unwrap_or(&r.min)).max(1))
    }
}
