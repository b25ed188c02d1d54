//! Latency: mean-value estimates, and end-to-end distributions on a lattice.

use super::{
    Latency, MAX_OVERFLOW, POINTS, Predictor, SloVerdict, Wait, WorkloadPrediction, harmonic,
};
use crate::model::{Service, ServiceTime, Step, Workload};
use crate::queueing::lattice::Lattice;
use crate::queueing::service_time::Dist;

impl<'m> Predictor<'m> {
    /// The mean latency of a service's synchronous calls, averaged over its endpoints by rate.
    pub(super) fn mean_downstream(&mut self, s: &'m Service) -> f64 {
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
    pub(super) fn mean_steps(&mut self, steps: &'m [Step]) -> f64 {
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
    pub(super) fn quantile_again(&mut self, w: &'m Workload, q: f64) -> f64 {
        let endpoint = w.entry.endpoint.as_deref().expect("entry endpoint");
        let mean = self.mean_endpoint(&w.entry.service, endpoint).max(1e-6);
        let mut l = self.lattice(&w.entry.service, endpoint, 100.0 * mean / POINTS as f64);
        let shards = self.service(&w.entry.service).shards;
        if shards > 1 {
            l = l.max_of(shards);
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
    pub(super) fn lattice(&mut self, service: &'m str, endpoint: &'m str, step: f64) -> Lattice {
        let key = (service, endpoint, step.to_bits());
        if let Some(l) = self.lattices.get(&key) {
            return l.clone();
        }
        let l = self.compute_lattice(service, endpoint, step);
        self.lattices.insert(key, l.clone());
        l
    }

    pub(super) fn compute_lattice(
        &mut self,
        service: &'m str,
        endpoint: &'m str,
        step: f64,
    ) -> Lattice {
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

    pub(super) fn steps_lattice(&mut self, steps: &'m [Step], step: f64) -> Lattice {
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

    pub(super) fn step_lattice(&mut self, s: &'m Step, step: f64) -> Lattice {
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

pub(super) fn discretise(t: &ServiceTime, step: f64) -> Lattice {
    match Dist::from_model(t) {
        Some(d) => Lattice::from_cdf(step, POINTS, move |x| if x < 0.0 { 0.0 } else { d.cdf(x) }),
        None => Lattice::zero(step, POINTS),
    }
}
