//! Model + replicas + load → per-service load and utilisation, per-workload latency
//! distributions. Every figure names the model that produced it.
//!
//! Stations (one per service shard):
//! * `kind external`: a pure delay, its own time distribution, unlimited capacity.
//! * exponential service and Poisson arrivals: M/M/c, exact.
//! * otherwise G/G/c (Allen–Cunneen mean wait; exponential wait tail).
//! * `balance shared` is one queue for all replicas × workers; `random` and `round_robin` give
//!   each replica its own queue with a share of the arrivals (round robin also smooths them:
//!   c_a² / replicas); `least_request` is modelled as a shared queue, an optimistic bound.
//! * `workers N blocking`: a worker is held for the request's own work plus the mean latency
//!   of its synchronous calls (mean-value approximation; the variability of the holding time
//!   is taken from the own work alone).
//! * dynamic batching: a provisional mean-value model — the batch size b solves
//!   b = clamp(λ·s(b)/instances, 1, max); a request waits half a batch time plus the batch
//!   wait, then its batch's time. Stability is λ < instances·max / s(max).
//!
//! Arrival variability is propagated through the network by QNA (see [`super::qna`]).
//!
//! End to end, a request's latency at an endpoint is its station's wait plus its own time, then
//! its calls: in sequence they add (convolution), `parallel` groups and fan-outs take the
//! slowest (product of CDFs, independence assumed), `when` and cache hits mix. Async calls add
//! load, not latency.

use super::GGc;
use super::lattice::Lattice;
use super::mmc::MMc;
use super::service_time::Dist;
use super::traffic::{Divergent, Traffic};
use crate::diagnostics::{Code, codes};
use crate::model::{Arrivals, Balance, Endpoint, Model, Service, ServiceKind, ServiceTime, Step};
use std::collections::BTreeMap;

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
    /// Batching: a fixed wait before a batch of fixed time.
    Batch {
        wait: f64,
        batch_time: f64,
    },
    Unstable,
}

/// The grid's points; the spacing adapts per workload.
const POINTS: usize = 4096;
/// Mass beyond the grid above which the grid is widened.
const MAX_OVERFLOW: f64 = 1e-6;

pub fn predict(model: &Model, options: &Options) -> Result<Prediction, Divergent> {
    let load = if options.load > 0.0 {
        options.load
    } else {
        1.0
    };
    // Retries add load when calls time out, which depends on the latency the load causes:
    // iterate to a fixed point (a few rounds; designs without retries take one).
    let mut attempts = super::traffic::Attempts::new();
    for round in 0.. {
        let t = super::traffic::traffic_with(model, load, &attempts)?;
        let mut p = Predictor::new(model, &t, options, load);
        for s in &model.services {
            p.station(&s.name);
        }
        let next = p.retry_attempts();
        let settled = next.len() == attempts.len()
            && next
                .iter()
                .all(|(k, v)| attempts.get(k).is_some_and(|a| (a - v).abs() <= 1e-6 * v));
        if settled || round == 20 {
            return Ok(p.finish());
        }
        attempts = next;
    }
    unreachable!("the loop returns")
}

/// Each service as QNA sees it: servers, utilisation and service SCV from its own work (a
/// blocking worker's downstream time is left out here), or its batch size.
fn qna_stations(
    model: &Model,
    t: &Traffic,
    options: &Options,
) -> BTreeMap<String, super::qna::Station> {
    use super::qna::Station;
    model
        .services
        .iter()
        .map(|s| {
            let load = t.service(&s.name).expect("every service has a load");
            let replicas = s
                .replicas
                .map(|r| (*options.replicas.get(&s.name).unwrap_or(&r.min)).max(1));
            let batching = s.endpoints.iter().find_map(|e| match (&e.time, &e.batch) {
                (ServiceTime::Batch { base_s, per_item_s }, Some(b)) => {
                    Some((*base_s, *per_item_s, b.max))
                }
                _ => None,
            });
            let station = match (
                s.kind,
                replicas,
                batching,
                load.mean_service_s,
                load.service_scv,
            ) {
                (ServiceKind::External, ..) | (_, None, ..) => Station::PassThrough,
                (_, Some(r), Some((base, per_item, max)), ..) => {
                    let instances = (r * s.workers) as f64;
                    let mut size = 1.0f64;
                    for _ in 0..200 {
                        size = (load.rate_per_shard * (base + per_item * size) / instances)
                            .clamp(1.0, max as f64);
                    }
                    Station::Batches { batch: size }
                }
                (_, Some(r), None, Some(mean), Some(scv)) => {
                    let servers = r * s.workers;
                    let utilization = load.rate_per_shard * mean / servers as f64;
                    if utilization < 1.0 {
                        Station::Queue {
                            servers,
                            utilization,
                            service_scv: scv,
                        }
                    } else {
                        Station::PassThrough
                    }
                }
                _ => Station::PassThrough,
            };
            (s.name.clone(), station)
        })
        .collect()
}

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
    stations: BTreeMap<&'m str, (Wait, ServicePrediction)>,
    /// Arrival SCV per service, propagated through the network (QNA).
    arrival_scv: BTreeMap<String, f64>,
    /// Every request workload arrives as a Poisson process.
    all_poisson: bool,
    /// Services that receive `times N` calls, whose arrivals come in bunches.
    bunched: std::collections::BTreeSet<&'m str>,
    /// Endpoint latency distributions on a grid, by (service, endpoint, grid step bits).
    lattices: BTreeMap<(&'m str, &'m str, u64), Lattice>,
}

impl<'m> Predictor<'m> {
    fn new(model: &'m Model, t: &'m Traffic, options: &'m Options, load: f64) -> Predictor<'m> {
        Predictor {
            model,
            traffic: t,
            options,
            load,
            stations: BTreeMap::new(),
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
                            if c.times > 1 {
                                bunched.insert(c.service.as_str());
                            }
                        });
                    }
                }
                bunched
            },
            lattices: BTreeMap::new(),
        }
    }

    /// Services and workloads, once every station is built.
    fn finish(mut self) -> Prediction {
        let model = self.model;
        let services = model
            .services
            .iter()
            .map(|s| self.stations[s.name.as_str()].1.clone())
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

    fn service(&self, name: &str) -> &'m Service {
        self.model.service(name).expect("calls resolve to services")
    }

    fn replicas(&self, s: &Service) -> Option<u32> {
        let r = s.replicas?;
        Some((*self.options.replicas.get(&s.name).unwrap_or(&r.min)).max(1))
    }

    /// Builds (once) the station of service `name`.
    fn station(&mut self, name: &'m str) -> Wait {
        if let Some((w, _)) = self.stations.get(name) {
            return w.clone();
        }
        let s = self.service(name);
        let load = self
            .traffic
            .service(name)
            .expect("every service has a load");
        let rate = load.rate_per_shard;
        let mut out = ServicePrediction {
            name: s.name.clone(),
            arrival_rps: rate,
            replicas: self.replicas(s),
            servers: None,
            utilization: None,
            wait_mean_s: None,
            sojourn_mean_s: None,
            sojourn_p99_s: None,
            model: "",
            unstable: None,
            warnings: Vec::new(),
        };
        let wait = if s.kind == ServiceKind::External {
            out.model = "delay";
            Wait::None
        } else if let Some((endpoint, batch)) = s
            .endpoints
            .iter()
            .find_map(|e| e.batch.as_ref().map(|b| (e, b)))
        {
            self.batch_station(s, endpoint, batch.max, batch.wait_s, rate, &mut out)
        } else {
            self.queue_station(s, rate, &mut out)
        };
        if let Some(u) = out.utilization {
            if u > 0.9 && out.unstable.is_none() {
                out.warn(
                    codes::HIGH_UTILIZATION,
                    format!(
                        "utilisation {:.1}% is above 90%: queueing approximations degrade and tails grow fast",
                        u * 100.0
                    ),
                );
            }
        }
        self.stations.insert(name, (wait.clone(), out));
        wait
    }

    fn queue_station(&mut self, s: &'m Service, rate: f64, out: &mut ServicePrediction) -> Wait {
        let replicas = out.replicas.unwrap_or(1);
        let load = self.traffic.service(&s.name);
        // A pure forwarder (`const(0ms)`) has no own work, but a blocking one still holds a
        // worker for its downstream calls.
        let mut mean = load.and_then(|l| l.mean_service_s).unwrap_or(0.0);
        let scv = load.and_then(|l| l.service_scv).unwrap_or(0.0);
        if s.workers_blocking && rate > 0.0 {
            mean += self.mean_downstream(s);
            out.model = "G/G/c blocking (mean-value)";
        }
        if rate <= 0.0 || mean <= 0.0 {
            out.model = "idle";
            out.servers = Some(replicas * s.workers);
            out.utilization = Some(0.0);
            return Wait::None;
        }
        let ca2 = self.arrival_scv.get(&s.name).copied().unwrap_or(1.0);
        let (queues, servers, arrivals, ca2) = match s.balance {
            Balance::Shared | Balance::LeastRequest => (1, replicas * s.workers, rate, ca2),
            Balance::Random => (replicas, s.workers, rate / replicas as f64, ca2),
            Balance::RoundRobin => (
                replicas,
                s.workers,
                rate / replicas as f64,
                ca2 / replicas as f64,
            ),
        };
        out.servers = Some(replicas * s.workers);
        // Within rounding of the moment arithmetic, exponential service and Poisson arrivals.
        // Exact only for truly exponential service and Poisson arrivals everywhere (arrival
        // variability is only approximated by QNA, so one bursty workload makes no station exact).
        let exponential = s.endpoints.iter().all(|e| {
            matches!(e.time, ServiceTime::Exp { .. })
                && e.cache.as_ref().is_none_or(|c| c.hit_ratio == 0.0)
        });
        // Repeated calls (`times N`, fan-outs) arrive in bunches, and endpoints with different
        // exponential means mix into a non-exponential time: neither is M/M/c.
        let exact = exponential
            && self.all_poisson
            && (ca2 - 1.0).abs() < 1e-9
            && (scv - 1.0).abs() < 1e-9
            && !self.bunched.contains(s.name.as_str())
            && !s.workers_blocking
            && s.balance != Balance::LeastRequest;
        let station = GGc::new(servers, arrivals, mean, ca2, scv);
        let g = match station {
            Ok(g) => g,
            Err(_) => {
                let utilization = rate * mean / (replicas * s.workers) as f64;
                out.utilization = Some(utilization);
                out.unstable = Some(Overload {
                    utilization,
                    replicas_needed: (rate * mean / s.workers as f64).floor() as u32 + 1,
                });
                out.model = "unstable";
                return Wait::Unstable;
            }
        };
        if out.model.is_empty() {
            out.model = if exact {
                "M/M/c exact"
            } else {
                "G/G/c Allen–Cunneen"
            };
        }
        if s.balance == Balance::LeastRequest {
            out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                "least_request is modelled as one shared queue: an optimistic bound",
            );
        }
        if scv > 2.0 {
            out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                format!(
                    "service-time SCV {scv:.2} is above 2, where the exponential wait tail is known to under-predict p99"
                ),
            );
        }
        out.utilization = Some(g.utilization());
        out.wait_mean_s = Some(g.mean_wait());
        out.sojourn_mean_s = Some(g.mean_sojourn());
        let wait = Wait::Exponential {
            p: g.p_wait(),
            mean: if g.p_wait() > 0.0 {
                g.mean_wait() / g.p_wait()
            } else {
                0.0
            },
        };
        if exact && queues == 1 {
            let m = MMc::new(servers, arrivals, 1.0 / mean).expect("stable above");
            out.sojourn_p99_s = Some(m.sojourn_quantile(0.99));
        } else if !s.workers_blocking {
            out.sojourn_p99_s = self.station_p99(s, &wait, g.mean_sojourn());
        }
        wait
    }

    /// The 99th percentile of wait + own work at a station, over its endpoints by rate.
    fn station_p99(&self, s: &Service, wait: &Wait, mean: f64) -> Option<f64> {
        let Wait::Exponential { p, mean: wait_mean } = *wait else {
            return None;
        };
        let mut span = 50.0 * mean;
        for _ in 0..4 {
            let step = span / POINTS as f64;
            let mut own: Option<(f64, Lattice)> = None;
            let mut add = |w: f64, t: &ServiceTime| {
                if w <= 0.0 {
                    return;
                }
                let l = discretise(t, step);
                own = Some(match own.take() {
                    None => (w, l),
                    Some((total, acc)) => (total + w, l.mix(w / (total + w), &acc)),
                });
            };
            for e in &s.endpoints {
                let load = self.traffic.endpoint(&s.name, &e.name)?;
                if let Some(c) = &e.cache {
                    add(load.rate - load.miss_rate, &c.hit_time);
                }
                add(load.miss_rate, &e.time);
            }
            let (_, own) = own?;
            let sojourn = if p > 0.0 && wait_mean > 0.0 {
                own.add_exponential_wait(p, wait_mean)
            } else {
                own
            };
            if sojourn.overflow() <= MAX_OVERFLOW {
                return Some(sojourn.quantile(0.99));
            }
            span *= 4.0;
        }
        None
    }

    /// The provisional batching model (see the module docs).
    fn batch_station(
        &mut self,
        s: &'m Service,
        e: &Endpoint,
        max: u32,
        wait_s: f64,
        rate: f64,
        out: &mut ServicePrediction,
    ) -> Wait {
        let ServiceTime::Batch { base_s, per_item_s } = e.time else {
            unreachable!("the checker requires a batch time on batching endpoints")
        };
        let replicas = out.replicas.unwrap_or(1);
        let instances = (replicas * s.workers) as f64;
        out.servers = Some(replicas * s.workers);
        out.model = "batching (provisional mean-value)";
        out.warn(
            codes::OUTSIDE_MODEL_RANGE,
            "the dynamic-batching model is provisional: its error against simulation is not yet measured",
        );
        let batch_time = |b: f64| base_s + per_item_s * b;
        let capacity = instances * max as f64 / batch_time(max as f64);
        out.utilization = Some(rate / capacity);
        if rate >= capacity {
            out.unstable = Some(Overload {
                utilization: rate / capacity,
                replicas_needed: (rate * batch_time(max as f64) / max as f64 / s.workers as f64)
                    .floor() as u32
                    + 1,
            });
            out.model = "unstable";
            return Wait::Unstable;
        }
        // Fixed point for the batch size: what arrives while a batch is served.
        let mut b = 1.0f64;
        for _ in 0..200 {
            b = (rate * batch_time(b) / instances).clamp(1.0, max as f64);
        }
        let time = batch_time(b);
        let wait = time / 2.0 + wait_s;
        out.wait_mean_s = Some(wait);
        out.sojourn_mean_s = Some(wait + time);
        out.sojourn_p99_s = Some(wait + time);
        Wait::Batch {
            wait,
            batch_time: time,
        }
    }

    /// The mean latency of a service's synchronous calls, averaged over its endpoints by rate.
    fn mean_downstream(&mut self, s: &'m Service) -> f64 {
        let mut total = 0.0;
        let mut weight = 0.0;
        for e in &s.endpoints {
            let l = self.traffic.endpoint(&s.name, &e.name).expect("loaded");
            if l.miss_rate > 0.0 {
                total += l.miss_rate * self.mean_steps(&e.steps);
                weight += l.rate;
            }
        }
        if weight > 0.0 { total / weight } else { 0.0 }
    }

    /// Mean latency of a step list (parallel groups take the slowest mean: a lower bound).
    fn mean_steps(&mut self, steps: &'m [Step]) -> f64 {
        steps
            .iter()
            .map(|step| match step {
                Step::Call(c) if c.is_async => 0.0,
                Step::Call(c) => {
                    let shards = self.service(&c.service).shards;
                    let one = self.mean_endpoint(&c.service, &c.endpoint) * harmonic(shards);
                    let all = if c.fanout {
                        one * harmonic(c.times)
                    } else {
                        one * c.times as f64
                    };
                    c.probability * all
                }
                Step::Parallel { steps } => steps
                    .iter()
                    .map(|s| self.mean_steps(std::slice::from_ref(s)))
                    .fold(0.0, f64::max),
            })
            .sum()
    }

    fn mean_endpoint(&mut self, service: &'m str, endpoint: &'m str) -> f64 {
        let s = self.service(service);
        let e = s.endpoint(endpoint).expect("endpoint exists");
        let wait = match self.station(service) {
            Wait::Exponential { p, mean } => p * mean,
            Wait::Batch { wait, batch_time } => wait + batch_time,
            Wait::None | Wait::Unstable => 0.0,
        };
        let own = match &e.time {
            ServiceTime::Batch { .. } => 0.0,
            t => Dist::from_model(t).map_or(0.0, |d| d.mean()),
        };
        let hit = e.cache.as_ref().map_or(0.0, |c| c.hit_ratio);
        let hit_time = e
            .cache
            .as_ref()
            .and_then(|c| Dist::from_model(&c.hit_time))
            .map_or(0.0, |d| d.mean());
        wait + hit * hit_time + (1.0 - hit) * (own + self.mean_steps(&e.steps))
    }

    fn workload(&mut self, w: &'m crate::model::Workload) -> WorkloadPrediction {
        let rate_rps = w.rate_rps * self.load;
        let endpoint = w
            .entry
            .endpoint
            .as_deref()
            .expect("request workloads enter an endpoint");
        let latency = if self.touches_unstable(&w.entry.service, endpoint) {
            None
        } else {
            let shards = self.service(&w.entry.service).shards;
            let mean =
                (self.mean_endpoint(&w.entry.service, endpoint) * harmonic(shards)).max(1e-6);
            let mut span = 25.0 * mean;
            let mut lattice = None;
            for _ in 0..6 {
                let step = span / POINTS as f64;
                let mut l = self.lattice(&w.entry.service, endpoint, step);
                // An entry on a sharded service visits every shard and waits for the slowest.
                let shards = self.service(&w.entry.service).shards;
                if shards > 1 {
                    l = l.max_of(shards);
                }
                let done = l.overflow() <= MAX_OVERFLOW;
                lattice = Some(l);
                if done {
                    break;
                }
                span *= 4.0;
            }
            lattice.map(|l| Latency {
                mean_s: l.mean(),
                p50_s: l.quantile(0.5),
                p95_s: l.quantile(0.95),
                p99_s: l.quantile(0.99),
                p999_s: l.quantile(0.999),
                overflow: l.overflow(),
            })
        };
        let slos = match &latency {
            None => Vec::new(),
            Some(l) => w
                .slos
                .iter()
                .map(|slo| {
                    let predicted_s = match slo.quantile {
                        None => l.mean_s,
                        Some(0.5) => l.p50_s,
                        Some(0.95) => l.p95_s,
                        Some(0.99) => l.p99_s,
                        Some(0.999) => l.p999_s,
                        Some(q) => self.quantile_again(w, q),
                    };
                    SloVerdict {
                        stat: slo.stat.clone(),
                        target_s: slo.target_s,
                        predicted_s,
                        met: predicted_s < slo.target_s,
                    }
                })
                .collect(),
        };
        WorkloadPrediction {
            name: w.name.clone(),
            rate_rps,
            latency,
            slos,
        }
    }

    /// A percentile other than the reported ones, from a fresh lattice.
    fn quantile_again(&mut self, w: &'m crate::model::Workload, q: f64) -> f64 {
        let endpoint = w.entry.endpoint.as_deref().expect("entry endpoint");
        let mean = self.mean_endpoint(&w.entry.service, endpoint).max(1e-6);
        let mut l = self.lattice(&w.entry.service, endpoint, 100.0 * mean / POINTS as f64);
        let shards = self.service(&w.entry.service).shards;
        if shards > 1 {
            l = l.max_of(shards);
        }
        l.quantile(q)
    }

    fn touches_unstable(&mut self, service: &'m str, endpoint: &'m str) -> bool {
        if matches!(self.station(service), Wait::Unstable) {
            return true;
        }
        let e = self
            .service(service)
            .endpoint(endpoint)
            .expect("endpoint exists");
        let mut calls = Vec::new();
        crate::model::graph::each_call(&e.steps, &mut |c| {
            if !c.is_async {
                calls.push((c.service.as_str(), c.endpoint.as_str()));
            }
        });
        calls.into_iter().any(|(s, e)| self.touches_unstable(s, e))
    }

    /// The latency distribution of a request entering `service.endpoint`, computed once per
    /// grid.
    fn lattice(&mut self, service: &'m str, endpoint: &'m str, step: f64) -> Lattice {
        let key = (service, endpoint, step.to_bits());
        if let Some(l) = self.lattices.get(&key) {
            return l.clone();
        }
        let l = self.compute_lattice(service, endpoint, step);
        self.lattices.insert(key, l.clone());
        l
    }

    fn compute_lattice(&mut self, service: &'m str, endpoint: &'m str, step: f64) -> Lattice {
        let s = self.service(service);
        let e = s.endpoint(endpoint).expect("endpoint exists");
        let wait = self.station(service);
        let queued = |own: Lattice| -> Lattice {
            match &wait {
                Wait::Exponential { p, mean } if *p > 0.0 && *mean > 0.0 => {
                    own.add_exponential_wait(*p, *mean)
                }
                _ => own,
            }
        };
        let own = match (&wait, &e.time) {
            (Wait::Batch { wait, batch_time }, _) => {
                let total = wait + batch_time;
                Lattice::from_cdf(step, POINTS, move |t| f64::from(t >= total))
            }
            (_, t) => queued(discretise(t, step)),
        };
        let missed = own.convolve(&self.steps_lattice(&e.steps, step));
        match &e.cache {
            Some(c) => queued(discretise(&c.hit_time, step)).mix(c.hit_ratio, &missed),
            None => missed,
        }
    }

    fn steps_lattice(&mut self, steps: &'m [Step], step: f64) -> Lattice {
        let mut total: Option<Lattice> = None;
        for s in steps {
            let l = self.step_lattice(s, step);
            total = Some(match total {
                None => l,
                Some(t) => t.convolve(&l),
            });
        }
        total.unwrap_or_else(|| Lattice::zero(step, POINTS))
    }

    fn step_lattice(&mut self, s: &'m Step, step: f64) -> Lattice {
        match s {
            Step::Call(c) if c.is_async => Lattice::zero(step, POINTS),
            Step::Call(c) => {
                let callee = self.service(&c.service);
                let mut one = self.lattice(&c.service, &c.endpoint, step);
                if callee.shards > 1 {
                    one = one.max_of(callee.shards);
                }
                let all = if c.fanout {
                    one.max_of(c.times)
                } else {
                    let mut sum = one.clone();
                    for _ in 1..c.times {
                        sum = sum.convolve(&one);
                    }
                    sum
                };
                if c.probability < 1.0 {
                    all.mix(c.probability, &Lattice::zero(step, POINTS))
                } else {
                    all
                }
            }
            Step::Parallel { steps } => {
                let mut slowest = Lattice::zero(step, POINTS);
                for s in steps {
                    let l = self.step_lattice(s, step);
                    slowest = slowest.max(&l);
                }
                slowest
            }
        }
    }
}

fn discretise(t: &ServiceTime, step: f64) -> Lattice {
    match Dist::from_model(t) {
        Some(d) => Lattice::from_cdf(step, POINTS, move |x| if x < 0.0 { 0.0 } else { d.cdf(x) }),
        None => Lattice::zero(step, POINTS),
    }
}
