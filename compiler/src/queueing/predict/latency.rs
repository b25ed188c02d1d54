//! Latency: mean-value estimates, and end-to-end distributions on a lattice.

use super::{
    Latency, POINTS, Predictor, REUSE_OVERFLOW, SloVerdict, Wait, WorkloadPrediction, harmonic,
    widening,
};
use crate::model::{Service, ServiceTime, Step, Workload};
use crate::queueing::lattice::{Compact, Lattice, Shared};
use crate::queueing::service_time::Dist;
use crate::queueing::timeout::{mean_with_timeout, with_timeout};
use crate::queueing::traffic::EndpointLoad;
use std::rc::Rc;

/// A `time` as a key of the discretisation memo: its numbers, bit for bit (empirical samples
/// by address: equal samples elsewhere only miss the memo).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum TimeKey {
    Numbers(u8, [u64; 4]),
    Samples(usize),
}

impl TimeKey {
    fn of(t: &ServiceTime) -> TimeKey {
        let numbers = |kind: u8, xs: &[f64]| {
            let mut bits = [0; 4];
            for (b, x) in bits.iter_mut().zip(xs) {
                *b = x.to_bits();
            }
            TimeKey::Numbers(kind, bits)
        };
        match t {
            ServiceTime::Exp { mean_s } => numbers(0, &[*mean_s]),
            ServiceTime::Const { value_s } => numbers(1, &[*value_s]),
            ServiceTime::Lognormal { mean_s, cv } => numbers(2, &[*mean_s, *cv]),
            ServiceTime::Gamma { mean_s, cv } => numbers(3, &[*mean_s, *cv]),
            ServiceTime::Uniform { low_s, high_s } => numbers(4, &[*low_s, *high_s]),
            ServiceTime::Fitted {
                p_low,
                low_s,
                p_high,
                high_s,
            } => numbers(5, &[*p_low, *low_s, *p_high, *high_s]),
            ServiceTime::Batch { base_s, per_item_s } => numbers(6, &[*base_s, *per_item_s]),
            ServiceTime::Empirical { samples_s, .. } => {
                TimeKey::Samples(samples_s.as_ptr() as usize)
            }
        }
    }
}

impl<'m> Predictor<'m> {
    /// The service named `name` and its index, through the name memo ([`Predictor::service`]
    /// scans the list).
    pub(super) fn find(&self, name: &str) -> (usize, &'m Service) {
        let i = *self
            .service_ids
            .get(name)
            .expect("calls resolve to services");
        (i, &self.model.services[i])
    }

    /// The load of endpoint `e` of `s`. `Traffic::endpoints` lists every endpoint in the
    /// model's order, so it is found by position (checked) rather than by a search over names.
    pub(super) fn endpoint_load(&self, s: &Service, e: usize) -> &'m EndpointLoad {
        let at = self.endpoint_offsets[self.find(&s.name).0] + e;
        match self.traffic.endpoints.get(at) {
            Some(l) if l.service == s.name && l.endpoint == s.endpoints[e].name => l,
            _ => (self.traffic)
                .endpoint(&s.name, &s.endpoints[e].name)
                .expect("loaded"),
        }
    }

    /// Mean latency of a step list (parallel groups take the slowest mean: a lower bound).
    pub(super) fn mean_steps(&mut self, steps: &'m [Step]) -> f64 {
        steps
            .iter()
            .map(|step| match step {
                Step::Call(c) if c.is_async => 0.0,
                Step::Call(c) => {
                    let shards = self.find(&c.service).1.shards;
                    let mut one = self.mean_endpoint(&c.service, &c.endpoint) * harmonic(shards);
                    if let Some(timeout) = c.timeout_s {
                        one = mean_with_timeout(one, timeout, c.retries);
                    }
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

    /// Mean latency of a request entering `service.endpoint`, computed once.
    pub(super) fn mean_endpoint(&mut self, service: &'m str, endpoint: &'m str) -> f64 {
        if let Some(&m) = self.means.get(&(service, endpoint)) {
            return m;
        }
        let m = self.compute_mean_endpoint(service, endpoint);
        self.means.insert((service, endpoint), m);
        m
    }

    fn compute_mean_endpoint(&mut self, service: &'m str, endpoint: &'m str) -> f64 {
        let s = self.find(service).1;
        let e = s.endpoint(endpoint).expect("endpoint exists");
        let wait = match self.station(service) {
            Wait::Exponential { p, mean } => p * mean,
            Wait::Tabulated(w) => w.mean(),
            Wait::Batch { wait, batches } => {
                wait.mean() + batches.iter().map(|(s, p)| s * p).sum::<f64>()
            }
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

    pub(super) fn workload(&mut self, w: &'m Workload) -> WorkloadPrediction {
        let rate_rps = w.rate_rps * self.load;
        let endpoint = w
            .entry
            .endpoint
            .as_deref()
            .expect("request workloads enter an endpoint");
        let latency = if self.touches_unstable(&w.entry.service, endpoint) {
            None
        } else {
            let shards = self.find(&w.entry.service).1.shards;
            let mean =
                (self.mean_endpoint(&w.entry.service, endpoint) * harmonic(shards)).max(1e-6);
            let (l, excess) = widening(25.0 * mean, 6, |span| {
                let entry = self.lattice_rc(&w.entry.service, endpoint, span / POINTS as f64);
                let excess = self.workload_fork_excess(&w.entry.service, endpoint, &entry);
                // An entry on a sharded service visits every shard and waits for the slowest.
                let l = if shards > 1 {
                    Rc::new(entry.max_of(shards))
                } else {
                    entry
                };
                let overflow = l.overflow;
                ((l, excess), overflow)
            });
            Some(Latency {
                // Fork-join: correlated shards are faster on average than independent ones.
                mean_s: l.mean() - excess,
                p50_s: l.quantile(0.5),
                p95_s: l.quantile(0.95),
                p99_s: l.quantile(0.99),
                p999_s: l.quantile(0.999),
                overflow: l.overflow,
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
    pub(super) fn quantile_again(&mut self, w: &'m Workload, q: f64) -> f64 {
        let endpoint = w.entry.endpoint.as_deref().expect("entry endpoint");
        let mean = self.mean_endpoint(&w.entry.service, endpoint).max(1e-6);
        let l = self.lattice_rc(&w.entry.service, endpoint, 100.0 * mean / POINTS as f64);
        let shards = self.find(&w.entry.service).1.shards;
        if shards > 1 {
            return l.max_of(shards).quantile(q);
        }
        l.quantile(q)
    }

    /// Whether a request entering `service.endpoint` waits on an overloaded station, computed
    /// once.
    pub(super) fn touches_unstable(&mut self, service: &'m str, endpoint: &'m str) -> bool {
        if let Some(&u) = self.unstable_paths.get(&(service, endpoint)) {
            return u;
        }
        let u = self.compute_touches_unstable(service, endpoint);
        self.unstable_paths.insert((service, endpoint), u);
        u
    }

    fn compute_touches_unstable(&mut self, service: &'m str, endpoint: &'m str) -> bool {
        if matches!(self.station(service), Wait::Unstable) {
            return true;
        }
        let e = self
            .find(service)
            .1
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
    pub(super) fn lattice(&mut self, service: &'m str, endpoint: &'m str, step: f64) -> Lattice {
        Compact::clone(&self.lattice_rc(service, endpoint, step)).into_lattice()
    }

    /// [`Predictor::lattice`], stored up to its support and shared with the memo.
    ///
    /// An endpoint's lattice is computed once, on the finest grid asked for first; a coarser
    /// grid resamples it ([`Compact::resample`]). A blocking station's holding time asks for
    /// its callees on a grid fitted to its calls, so a call tree under layered blocking
    /// stations was otherwise computed again on every ancestor's grid and the workload's.
    pub(super) fn lattice_rc(
        &mut self,
        service: &'m str,
        endpoint: &'m str,
        step: f64,
    ) -> Rc<Compact> {
        let key = self.lattice_key(service, endpoint, step);
        if let Some(l) = self.lattices.get(&key) {
            return Rc::clone(l);
        }
        let at = self.endpoint_offsets[key.0] + key.1;
        if let Some(Some(fine)) = self.finest.get(at) {
            if fine.step < step && fine.overflow <= REUSE_OVERFLOW {
                return Rc::new(fine.resample(step));
            }
        }
        let l = Rc::new(self.compute_lattice(service, endpoint, step));
        self.lattices.insert(key, Rc::clone(&l));
        let slot = &mut self.finest[at];
        if slot.as_ref().is_none_or(|f| step < f.step) {
            *slot = Some(Rc::clone(&l));
        }
        l
    }

    /// (service index, endpoint index, grid step bits).
    fn lattice_key(&self, service: &str, endpoint: &str, step: f64) -> (usize, usize, u64) {
        let (id, s) = self.find(service);
        let e = s
            .endpoints
            .iter()
            .position(|e| e.name == endpoint)
            .expect("endpoint exists");
        (id, e, step.to_bits())
    }

    /// A `time` on a grid, discretised once per distinct time and grid: designs built from
    /// templates repeat their times. It keeps its convolution kernels for the same reason.
    fn discretised(&mut self, t: &ServiceTime, step: f64) -> Rc<Shared> {
        let key = (TimeKey::of(t), step.to_bits());
        if let Some(l) = self.discretised.get(&key) {
            return Rc::clone(l);
        }
        let l = Rc::new(Shared::new(discretise_compact(t, step)));
        self.discretised.insert(key, Rc::clone(&l));
        l
    }

    pub(super) fn compute_lattice(
        &mut self,
        service: &'m str,
        endpoint: &'m str,
        step: f64,
    ) -> Compact {
        let s = self.find(service).1;
        let e = s.endpoint(endpoint).expect("endpoint exists");
        let wait = self.station(service);
        let queued = |own: &Compact| -> Option<Compact> {
            match &wait {
                Wait::Exponential { p, mean } if *p > 0.0 && *mean > 0.0 => {
                    Some(own.add_exponential_wait(*p, *mean))
                }
                Wait::Tabulated(w) => Some(own.convolve(&w.discretise(step, POINTS))),
                _ => None,
            }
        };
        let steps = self.steps_lattice(&e.steps, step);
        let missed = match (&wait, &e.time) {
            (Wait::Batch { wait, batches }, _) => {
                let batch = Compact::from_cdf(step, POINTS, |t| {
                    batches
                        .iter()
                        .filter(|(s, _)| t >= *s)
                        .map(|(_, p)| p)
                        .sum()
                });
                wait.discretise(step, POINTS)
                    .convolve(&batch)
                    .convolve(&steps)
            }
            // Own time, then calls, then the wait: the same sum in another order, which lets
            // the own time (shared by every endpoint with the same `time`) keep its kernel.
            (_, t) => {
                let work = self.discretised(t, step).convolve(&steps);
                queued(&work).unwrap_or(work)
            }
        };
        match &e.cache {
            Some(c) => {
                let hit = self.discretised(&c.hit_time, step);
                let hit = hit.lattice();
                queued(hit)
                    .as_ref()
                    .unwrap_or(hit)
                    .mix(c.hit_ratio, &missed)
            }
            None => missed,
        }
    }

    pub(super) fn steps_lattice(&mut self, steps: &'m [Step], step: f64) -> Rc<Compact> {
        let mut total: Option<Rc<Compact>> = None;
        for s in steps {
            let l = self.step_lattice(s, step);
            total = Some(match total {
                None => l,
                Some(t) => Rc::new(t.convolve(&l)),
            });
        }
        total.unwrap_or_else(|| Rc::new(Compact::zero(step, POINTS)))
    }

    pub(super) fn step_lattice(&mut self, s: &'m Step, step: f64) -> Rc<Compact> {
        match s {
            Step::Call(c) if c.is_async => Rc::new(Compact::zero(step, POINTS)),
            Step::Call(c) => {
                // Into a queue of its own, attempts are correlated (predict/retries.rs): the
                // call's whole distribution comes from there. Elsewhere each attempt is cut at
                // the timeout and retried (queueing/timeout.rs).
                let correlated = c.timeout_s.and_then(|_| self.retry_queue(&c.service));
                let one = if let Some(q) = correlated {
                    Rc::new(q.latency(step, POINTS))
                } else {
                    let shards = self.find(&c.service).1.shards;
                    let mut one = self.lattice_rc(&c.service, &c.endpoint, step);
                    if shards > 1 {
                        one = Rc::new(one.max_of(shards));
                    }
                    if let Some(timeout) = c.timeout_s {
                        let attempt = (*one).clone().into_lattice();
                        one = Rc::new(with_timeout(&attempt, timeout, c.retries).compact());
                    }
                    one
                };
                let all = if c.fanout {
                    Rc::new(one.max_of(c.times))
                } else {
                    let mut sum = Rc::clone(&one);
                    for _ in 1..c.times {
                        sum = Rc::new(sum.convolve(&one));
                    }
                    sum
                };
                if c.probability < 1.0 {
                    Rc::new(all.or_zero(c.probability))
                } else {
                    all
                }
            }
            // The slowest member: the product of their CDFs.
            Step::Parallel { steps } => {
                let mut slowest: Option<Rc<Compact>> = None;
                for s in steps {
                    let l = self.step_lattice(s, step);
                    slowest = Some(match slowest {
                        None => l,
                        Some(m) => Rc::new(m.max(&l)),
                    });
                }
                slowest.unwrap_or_else(|| Rc::new(Compact::zero(step, POINTS)))
            }
        }
    }
}

fn discretise_compact(t: &ServiceTime, step: f64) -> Compact {
    discretise_points(t, step, POINTS)
}

/// `t` on a grid of `points` points.
pub(super) fn discretise_points(t: &ServiceTime, step: f64, points: usize) -> Compact {
    match Dist::from_model(t) {
        Some(d) => d.discretise(step, points),
        None => Compact::zero(step, points),
    }
}
