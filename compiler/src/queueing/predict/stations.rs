//! Stations: one per service shard, by the model that fits it (see the parent module).

use super::latency::discretise_points;
use super::{
    MAX_OVERFLOW, Options, Overload, POINTS, Predictor, ServicePrediction, Wait, grid_step,
    widening,
};
use crate::diagnostics::codes;
use crate::model::{Balance, Endpoint, Model, Service, ServiceKind, ServiceTime};
use crate::queueing::GGc;
use crate::queueing::batch_wait::BatchWait;
use crate::queueing::batching::Batcher;
use crate::queueing::lattice::Compact;
use crate::queueing::mg1::Mg1Wait;
use crate::queueing::mmc::MMc;
use crate::queueing::phmc::{PhMc, PhaseType};
use crate::queueing::qna::Station;
use crate::queueing::retry_queue::Unsolved;
use crate::queueing::service_time::Dist;
use crate::queueing::traffic::Traffic;
use std::rc::Rc;

impl<'m> Predictor<'m> {
    /// Builds (once) the station of service `name`.
    pub(super) fn station(&mut self, name: &'m str) -> Wait {
        let (id, s) = self.find(name);
        // A flow-equivalent group is solved as a whole, whichever member is asked for first,
        // before anything reads one of its stations (a caller left saturated leaves its
        // callees to the open model below).
        if let Some(g) = self.fes_of[id] {
            if !self.fes_solved(g) {
                self.solve_fes(g);
            }
        }
        if let Some((w, _)) = &self.stations[id] {
            return w.clone();
        }
        let rate = self.traffic.services[id].rate_per_shard;
        let mut out = self.blank(s, rate);
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
        self.store(id, wait.clone(), out);
        wait
    }

    /// A station's prediction before its model fills it in.
    pub(super) fn blank(&self, s: &Service, rate: f64) -> ServicePrediction {
        ServicePrediction {
            name: s.name.clone(),
            arrival_rps: rate,
            replicas: self.replicas(s),
            servers: None,
            utilization: None,
            busy: None,
            wait_mean_s: None,
            sojourn_mean_s: None,
            sojourn_p99_s: None,
            model: "",
            unstable: None,
            warnings: Vec::new(),
        }
    }

    /// Stores a built station, with the warning every model shares.
    pub(super) fn store(&mut self, id: usize, wait: Wait, mut out: ServicePrediction) {
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
        self.stations[id] = Some((wait, out));
    }

    pub(super) fn queue_station(
        &mut self,
        s: &'m Service,
        rate: f64,
        out: &mut ServicePrediction,
    ) -> Wait {
        let replicas = out.replicas.unwrap_or(1);
        let id = self.find(&s.name).0;
        let load = self.traffic.services.get(id);
        // A pure forwarder (`const(0ms)`) has no own work, but a blocking one still holds a
        // worker for its downstream calls.
        let mut mean = load.and_then(|l| l.mean_service_s).unwrap_or(0.0);
        let mut scv = load.and_then(|l| l.service_scv).unwrap_or(0.0);
        if s.workers_blocking && rate > 0.0 {
            (mean, scv) = self.holding_time(s);
            out.model = "G/G/c blocking (layered)";
        }
        if rate <= 0.0 || mean <= 0.0 {
            out.model = "idle";
            out.servers = Some(replicas * s.workers);
            out.utilization = Some(0.0);
            return Wait::None;
        }
        let upstream_ca2 = self.arrival_scv.get(id).copied().unwrap_or(1.0);
        let (queues, servers, arrivals, ca2) = match s.balance {
            Balance::Shared | Balance::LeastRequest => {
                (1, replicas * s.workers, rate, upstream_ca2)
            }
            Balance::Random => (replicas, s.workers, rate / replicas as f64, upstream_ca2),
            Balance::RoundRobin => (
                replicas,
                s.workers,
                rate / replicas as f64,
                upstream_ca2 / replicas as f64,
            ),
        };
        out.servers = Some(replicas * s.workers);
        // Exponential service: every endpoint `exp(…)` with one mean (a mixture of different
        // means is hyperexponential) and no cache hits.
        let exponential = exponential_service(s, scv) && !s.workers_blocking;
        // Poisson into the service, for certain: every workload Poisson, no repeated calls
        // (`times N` and fan-outs arrive in bunches) and the upstream SCV untouched by QNA.
        // Arrival variability is only approximated by QNA, so one bursty workload anywhere
        // makes no station exact.
        let poisson_input = self.all_poisson
            && (upstream_ca2 - 1.0).abs() < 1e-9
            && !self.bunched.contains(s.name.as_str());
        let exact = exponential && poisson_input;
        let exponential_service = exponential;
        // Phases × servers bounds the GI/M/c solution's work; beyond it, Allen–Cunneen.
        let phases = (1.0 / ca2.max(MIN_FITTED_SCV)).ceil().max(1.0);
        let exponential = exponential && phases * servers as f64 <= 4e6;
        let exact = exact && exponential;
        // `least_request` over several replicas: the shared queue's wait scaled by the JSQ
        // chain's ratio to it (the chain itself for Poisson arrivals and exponential service).
        let jsq = (s.balance == Balance::LeastRequest && replicas > 1)
            .then(|| jsq_ratios(replicas, s.workers, arrivals, mean))
            .flatten();
        let station = if exponential {
            // Renewal arrivals into exponential servers: GI/M/c, exact for the phase-type
            // gaps (Erlang-r for a round-robin split of a Poisson stream).
            let gaps = PhaseType::fit(1.0 / arrivals, ca2.max(MIN_FITTED_SCV));
            PhMc::new(&gaps, servers, mean).map(Queue::Renewal)
        } else {
            GGc::new(servers, arrivals, mean, ca2, scv).map(Queue::General)
        };
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
            out.model = match (exact, queues == 1 || ca2 == upstream_ca2, exponential) {
                _ if jsq.is_some() && exact => "JSQ Markov chain",
                _ if jsq.is_some() => "G/G/c × JSQ chain ratio",
                (true, true, _) => "M/M/c exact",
                (true, false, _) => "GI/M/c exact (Erlang round robin)",
                (false, _, true) => "GI/M/c (fitted arrivals)",
                (false, _, false) => "G/G/c Allen–Cunneen",
            };
        }
        if s.balance == Balance::LeastRequest && replicas > 1 {
            match jsq {
                None => out.warn(
                    codes::OUTSIDE_MODEL_RANGE,
                    "least_request is modelled as one shared queue: an optimistic bound",
                ),
                Some(_) if !exact => out.warn(
                    codes::OUTSIDE_MODEL_RANGE,
                    "least_request with non-Poisson arrivals or non-exponential service: the shared queue's wait scaled by the JSQ chain's ratio, an unmeasured approximation",
                ),
                Some(_) => {}
            }
        }
        let (mut p_wait, mut mean_wait) = match jsq {
            Some((p, w)) => ((g.p_wait() * p).min(1.0), g.mean_wait() * w),
            None => (g.p_wait(), g.mean_wait()),
        };
        let mut tabulated = None;
        if servers == 1
            && poisson_input
            && !exponential_service
            && !s.workers_blocking
            && s.balance != Balance::LeastRequest
            && (queues == 1 || s.balance == Balance::Random)
        {
            // One server, Poisson arrivals: the wait's distribution is known exactly.
            let parts = own_dists(self, s);
            if let Some(w) = Mg1Wait::new(arrivals, &parts) {
                out.model = "M/G/1 exact";
                (p_wait, mean_wait) = (w.p_wait(), w.mean());
                tabulated = Some(Rc::new(w));
            }
        }
        if scv > 2.0 && tabulated.is_none() {
            out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                format!(
                    "service-time SCV {scv:.2} is above 2, where the exponential wait tail is known to under-predict p99"
                ),
            );
        }
        out.utilization = Some(g.utilization());
        out.wait_mean_s = Some(mean_wait);
        out.sojourn_mean_s = Some(mean_wait + mean);
        let wait = match tabulated {
            Some(w) => Wait::Tabulated(w),
            None => Wait::exponential(p_wait, mean_wait),
        };
        match self.correlated_retries(id, &wait) {
            Some(Ok(q)) => {
                out.model = "M/G/1, correlated retries";
                out.wait_mean_s = Some(q.wait_mean);
                out.sojourn_mean_s = Some(q.wait_mean + mean);
                out.sojourn_p99_s = Some(q.sojourn_p99);
                return wait;
            }
            Some(Err(Unsolved::Congested)) => out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                "its retried calls' attempts, taken as correlated, have no steady state (each timeout's retry lengthens the queue that caused it): the figures, from attempts taken as independent, can be far too low",
            ),
            _ => {}
        }
        if exact && out.model == "M/M/c exact" && queues == 1 {
            let m = MMc::new(servers, arrivals, 1.0 / mean).expect("stable above");
            out.sojourn_p99_s = Some(m.sojourn_quantile(0.99));
        } else if !s.workers_blocking {
            out.sojourn_p99_s = self.station_p99(s, &wait, mean_wait + mean);
        }
        wait
    }

    /// Mean and SCV of the time a blocking worker is held: its own work plus its synchronous
    /// calls' latency, whose distribution comes from the callees' lattices (callees are solved
    /// first: synchronous calls form no cycle). Mixed over endpoints by rate; a cache hit
    /// holds the worker for the hit time only.
    fn holding_time(&mut self, s: &'m Service) -> (f64, f64) {
        let (mut weight, mut first, mut second) = (0.0, 0.0, 0.0);
        let mut add = |w: f64, m1: f64, m2: f64| {
            weight += w;
            first += w * m1;
            second += w * m2;
        };
        for (i, e) in s.endpoints.iter().enumerate() {
            let load = self.endpoint_load(s, i);
            let moments = |t: &ServiceTime| {
                Dist::from_model(t).map_or((0.0, 0.0), |d| {
                    (d.mean(), d.mean() * d.mean() * (1.0 + d.scv()))
                })
            };
            if let Some(c) = &e.cache {
                let (m1, m2) = moments(&c.hit_time);
                add(load.rate - load.miss_rate, m1, m2);
            }
            let (o1, o2) = moments(&e.time);
            let estimate = self.mean_steps(&e.steps);
            let (d1, d2) = if estimate > 0.0 {
                // Widened like a workload's grid until what lies beyond is negligible: a rare,
                // slow call (`when 1%`) puts mass far past 50 × the mean.
                let calls = widening(50.0 * estimate, 7, |span| {
                    let calls = self.steps_lattice(&e.steps, grid_step(span));
                    let overflow = calls.overflow;
                    (calls, overflow)
                });
                let h = calls.step;
                let last = (calls.points - 1) as f64 * h;
                let mut m = (calls.overflow * last, calls.overflow * last * last);
                for (i, p) in calls.body.iter().enumerate() {
                    let t = i as f64 * h;
                    m.0 += p * t;
                    m.1 += p * t * t;
                }
                m
            } else {
                (0.0, 0.0)
            };
            // Own work and calls are independent: E[(O + D)²] = E[O²] + 2E[O]E[D] + E[D²].
            add(load.miss_rate, o1 + d1, o2 + 2.0 * o1 * d1 + d2);
        }
        if weight <= 0.0 || first <= 0.0 {
            return (0.0, 0.0);
        }
        let mean = first / weight;
        (mean, (second / weight / (mean * mean) - 1.0).max(0.0))
    }

    /// The 99th percentile of wait + own work at a station, over its endpoints by rate.
    pub(super) fn station_p99(&self, s: &Service, wait: &Wait, mean: f64) -> Option<f64> {
        let parts = own_parts(self, s);
        if parts.is_empty() {
            return None;
        }
        let (p, wait_mean) = match wait {
            Wait::Exponential { p, mean } => (*p, *mean),
            Wait::Tabulated(w) => {
                let mut span = 50.0 * mean;
                for _ in 0..4 {
                    let step = span / POINTS as f64;
                    let own = sojourn(&parts, None, step, POINTS)?;
                    let sojourn = own.convolve(&w.discretise(step, POINTS));
                    if sojourn.overflow <= MAX_OVERFLOW {
                        return Some(sojourn.quantile(0.99));
                    }
                    span *= 4.0;
                }
                return None;
            }
            _ => return None,
        };
        let wait = (p > 0.0 && wait_mean > 0.0).then_some((p, wait_mean));
        let mut span = 50.0 * mean;
        for _ in 0..4 {
            let step = span / POINTS as f64;
            // Most grids are wide enough by far, and the 99th percentile lies in their first
            // eighth: when bounds on the mass beyond the grid settle the question, only a
            // prefix of the lattice is computed, which gives the same points as the whole.
            let fits = grid_fits(&parts, wait, step);
            if fits == Some(false) {
                span *= 4.0;
                continue;
            }
            if fits == Some(true) {
                if let Some(q) = p99_in_prefix(&parts, wait, step) {
                    return Some(q);
                }
            }
            let own = sojourn(&parts, None, step, POINTS)?;
            let sojourn = match wait {
                Some((p, mean)) => own.into_lattice().add_exponential_wait(p, mean),
                None => own.into_lattice(),
            };
            if sojourn.overflow() <= MAX_OVERFLOW {
                return Some(sojourn.quantile(0.99));
            }
            span *= 4.0;
        }
        None
    }

    /// Dynamic batching: the embedded-chain solution of one instance ([`Batcher`]), each of
    /// the c = replicas × workers instances taken to receive λ/c of the traffic.
    pub(super) fn batch_station(
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
        let instances = replicas * s.workers;
        out.servers = Some(instances);
        out.model = if instances == 1 {
            "batching (embedded chain)"
        } else {
            "batching (embedded chain, split queue)"
        };
        let batcher = Batcher {
            arrival_rate: rate / instances as f64,
            base_s,
            per_item_s,
            max,
            wait_s,
        };
        let capacity = instances as f64 * batcher.capacity();
        out.utilization = Some(rate / capacity);
        if rate <= 0.0 {
            out.busy = Some(0.0);
            return Wait::None;
        }
        let solution = match batcher.solve() {
            Ok(b) => b,
            Err(_) => {
                out.unstable = Some(Overload {
                    utilization: rate / capacity,
                    replicas_needed: (rate / batcher.capacity() / s.workers as f64).floor() as u32
                        + 1,
                });
                out.model = "unstable";
                return Wait::Unstable;
            }
        };
        if !solution.exact {
            out.model = "batching (mean-value)";
            out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                format!(
                    "`batch max {max}` is beyond the exact chain (max {}, or {} with a wait): a mean-value estimate with unmeasured error",
                    crate::queueing::batching::MAX_BATCH,
                    crate::queueing::batching::MAX_TIMED_BATCH
                ),
            );
        }
        if instances > 1 {
            out.warn(
                codes::OUTSIDE_MODEL_RANGE,
                format!(
                    "the {instances} batching instances share one queue, modelled as {instances} separate queues: a pessimistic approximation"
                ),
            );
        }
        // The wait's distribution from the same chain (`batch_wait`), independent of the batch
        // the request rides in (docs/models.md §3.7).
        let wait = Rc::new(BatchWait::new(&batcher, &solution));
        let batches: Vec<(f64, f64)> = solution
            .request_batch
            .iter()
            .enumerate()
            .filter(|(_, p)| **p > 0.0)
            .map(|(i, p)| (base_s + per_item_s * (i + 1) as f64, *p))
            .collect();
        out.busy = Some(solution.busy);
        out.wait_mean_s = Some(solution.mean_wait);
        out.sojourn_mean_s = Some(solution.mean_sojourn);
        out.sojourn_p99_s = Some({
            // P(wait + batch ≤ t) = Σ P(batch b)·F_wait(t − s(b)), inverted by bisection.
            let cdf = |t: f64| -> f64 {
                batches
                    .iter()
                    .map(|(s, p)| if t >= *s { p * wait.cdf(t - s) } else { 0.0 })
                    .sum()
            };
            let (mut lo, mut hi) = (0.0, solution.mean_sojourn);
            while cdf(hi) < 0.99 {
                hi *= 2.0;
            }
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                if cdf(mid) < 0.99 { lo = mid } else { hi = mid }
            }
            hi
        });
        Wait::Batch { wait, batches }
    }
}

/// Whether every endpoint of `s` is `exp(…)` with no cache hits and the mixture's SCV is 1
/// (one mean: a mixture of different means is hyperexponential).
pub(super) fn exponential_service(s: &Service, scv: f64) -> bool {
    s.endpoints.iter().all(|e| {
        matches!(e.time, ServiceTime::Exp { .. })
            && e.cache.as_ref().is_none_or(|c| c.hit_ratio == 0.0)
    }) && (scv - 1.0).abs() < 1e-9
}

/// [`own_parts`] as distributions (batch times, which have none, left out).
pub(super) fn own_dists(p: &Predictor, s: &Service) -> Vec<(f64, Dist)> {
    (own_parts(p, s).into_iter())
        .filter_map(|(w, t)| Dist::from_model(t).map(|d| (w, d)))
        .collect()
}

/// A station's own time as (rate, time) per endpoint, each endpoint's cache hits first.
fn own_parts<'s>(p: &Predictor, s: &'s Service) -> Vec<(f64, &'s ServiceTime)> {
    let mut parts: Vec<(f64, &ServiceTime)> = Vec::new();
    for (k, e) in s.endpoints.iter().enumerate() {
        let load = p.endpoint_load(s, k);
        if let Some(c) = &e.cache {
            parts.push((load.rate - load.miss_rate, &c.hit_time));
        }
        parts.push((load.miss_rate, &e.time));
    }
    parts.retain(|(w, _)| *w > 0.0);
    parts
}

/// The own time of a station on the first `points` points of a grid: the mixture of `parts`
/// by weight, in their order. With `prefix`, a prefix of a longer grid: `None` when it could
/// differ from the whole grid's points (see [`p99_in_prefix`]).
fn sojourn(
    parts: &[(f64, &ServiceTime)],
    prefix: Option<usize>,
    step: f64,
    points: usize,
) -> Option<Compact> {
    let mut own: Option<(f64, Compact)> = None;
    let mut complete = true;
    for &(w, t) in parts {
        let l = discretise_points(t, step, points);
        complete &= l.body.len() < points - 1;
        own = Some(match own.take() {
            None => (w, l),
            Some((total, acc)) => (total + w, l.mix(w / (total + w), &acc)),
        });
    }
    let (_, mut own) = own?;
    // A whole grid's lattice is read up to its support (`Lattice::support`); so is a prefix
    // whose every part ended within it. One that did not end must not end in a zero: the
    // whole grid may have mass past it, where the wait is added differently.
    if prefix.is_none() || complete {
        while own.body.last() == Some(&0.0) {
            own.body.pop();
        }
    } else if own.body.last() == Some(&0.0) {
        return None;
    }
    Some(own)
}

/// The 99th percentile of a station's sojourn from the first points of its grid, exactly as
/// the whole grid gives it: every point depends only on the points before it (the mixture
/// point by point, the wait by a forward recursion in aligned blocks), and the quantile reads
/// the points in order. `None` when the prefixes tried do not reach 0.99.
fn p99_in_prefix(
    parts: &[(f64, &ServiceTime)],
    wait: Option<(f64, f64)>,
    step: f64,
) -> Option<f64> {
    for length in [POINTS / 8, POINTS / 2] {
        let own = sojourn(parts, Some(length), step, length + 1)?;
        let sojourn = match wait {
            Some((p, mean)) => own.add_exponential_wait(p, mean),
            None => own,
        };
        if let Some(q) = sojourn.quantile_in_body(0.99) {
            return Some(q);
        }
    }
    None
}

/// Whether the mass of a station's sojourn beyond a grid of `POINTS` points `step` apart is
/// at most [`MAX_OVERFLOW`] (`Some(true)`), above it (`Some(false)`), or too close to tell
/// from bounds (`None`). The lattice rounds own time O and wait W to the nearest point, each
/// by at most h/2, so its overflow P(O' + W' ≥ (n − 1)h) lies between P(O + W ≥ nh) and
/// P(O + W ≥ (n − 2)h) (up to folded tails of 1e-13). Above: P(O + W ≥ x) ≤ P(O ≥ x − a) +
/// P(W > a) for any a; below: P(O + W ≥ x) ≥ max(P(O ≥ x), P(W ≥ x)). Margins of 2× keep
/// the answer clear of rounding.
fn grid_fits(parts: &[(f64, &ServiceTime)], wait: Option<(f64, f64)>, step: f64) -> Option<bool> {
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let dists: Vec<(f64, Option<Dist>)> = (parts.iter())
        .map(|(w, t)| (w / total, Dist::from_model(t)))
        .collect();
    let own_tail = |y: f64| -> f64 {
        (dists.iter())
            .map(|(w, d)| w * d.as_ref().map_or(0.0, |d| (1.0 - d.cdf(y)).max(0.0)))
            .sum()
    };
    let wait_tail = |a: f64| wait.map_or(0.0, |(p, mean)| p * (-a.max(0.0) / mean).exp());
    let n = POINTS as f64;
    let far = n * step;
    if own_tail(far).max(wait_tail(far)) >= 2.0 * MAX_OVERFLOW {
        return Some(false);
    }
    let near = (n - 2.0) * step;
    let upper = (1..16)
        .map(|k| {
            let a = near * k as f64 / 16.0;
            own_tail(near - a) + wait_tail(a)
        })
        .fold(own_tail(near) + wait.map_or(0.0, |(p, _)| p), f64::min);
    (upper <= 0.5 * MAX_OVERFLOW).then_some(true)
}

/// JSQ over `replicas` replicas of `workers` workers against one shared queue of them all,
/// both M/M (Poisson λ, exponential service of mean `mean`): the ratios of P(wait) and of the
/// mean wait. `None` beyond the chain's size, or when the shared queue never waits.
fn jsq_ratios(replicas: u32, workers: u32, rate: f64, mean: f64) -> Option<(f64, f64)> {
    let shared = MMc::new(replicas * workers, rate, 1.0 / mean).ok()?;
    let jsq = crate::queueing::jsq::solve(replicas, workers, rate, 1.0 / mean)?;
    (shared.p_wait() > 0.0 && shared.mean_wait() > 0.0).then(|| {
        (
            jsq.p_wait / shared.p_wait(),
            jsq.mean_wait / shared.mean_wait(),
        )
    })
}

/// The smallest arrival SCV fitted: an SCV of s needs ⌈1/s⌉ phases, and the queue is as good as
/// deterministic long before 1000.
const MIN_FITTED_SCV: f64 = 1e-3;

/// The queue of a station: renewal arrivals into exponential servers, or the general case.
enum Queue {
    Renewal(PhMc),
    General(GGc),
}

impl Queue {
    fn utilization(&self) -> f64 {
        match self {
            Queue::Renewal(s) => s.utilization(),
            Queue::General(s) => s.utilization(),
        }
    }
    fn p_wait(&self) -> f64 {
        match self {
            Queue::Renewal(s) => s.p_wait(),
            Queue::General(s) => s.p_wait(),
        }
    }
    fn mean_wait(&self) -> f64 {
        match self {
            Queue::Renewal(s) => s.mean_wait(),
            Queue::General(s) => s.mean_wait(),
        }
    }
}

/// Each service as QNA sees it: servers, utilisation and service SCV from its own work (a
/// blocking worker's downstream time is left out here), or its batch size.
pub(super) fn qna_stations(model: &Model, t: &Traffic, options: &Options) -> Vec<Station> {
    model
        .services
        .iter()
        .zip(&t.services)
        .map(|(s, load)| {
            let replicas = s
                .replicas
                .map(|r| (*options.replicas.get(&s.name).unwrap_or(&r.min)).max(1));
            let batching = s.endpoints.iter().find_map(|e| match (&e.time, &e.batch) {
                (ServiceTime::Batch { base_s, per_item_s }, Some(b)) => {
                    Some((*base_s, *per_item_s, b.max, b.wait_s))
                }
                _ => None,
            });
            match (
                s.kind,
                replicas,
                batching,
                load.mean_service_s,
                load.service_scv,
            ) {
                (ServiceKind::External, ..) | (_, None, ..) => Station::PassThrough,
                (_, Some(r), Some((base, per_item, max, b_wait)), ..) => {
                    let instances = r * s.workers;
                    let batcher = Batcher {
                        arrival_rate: load.rate_per_shard / instances as f64,
                        base_s: base,
                        per_item_s: per_item,
                        max,
                        wait_s: b_wait,
                    };
                    match (load.rate_per_shard > 0.0).then(|| batcher.solve()) {
                        Some(Ok(b)) => Station::Batches {
                            batch: b.mean_batch,
                        },
                        _ => Station::PassThrough,
                    }
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
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole grid's percentile, as computed before the prefix shortcut.
    fn whole(parts: &[(f64, &ServiceTime)], wait: Option<(f64, f64)>, step: f64) -> f64 {
        let own = sojourn(parts, None, step, POINTS)
            .expect("parts")
            .into_lattice();
        match wait {
            Some((p, mean)) => own.add_exponential_wait(p, mean).quantile(0.99),
            None => own.quantile(0.99),
        }
    }

    /// A prefix of the grid gives the whole grid's 99th percentile to the bit, for mixtures,
    /// short and long supports, with and without a wait.
    #[test]
    fn the_prefix_percentile_is_the_whole_grids() {
        let lognormal = ServiceTime::Lognormal {
            mean_s: 0.002,
            cv: 0.8,
        };
        let gamma = ServiceTime::Gamma {
            mean_s: 0.005,
            cv: 0.5,
        };
        let constant = ServiceTime::Const { value_s: 0.001 };
        let exp = ServiceTime::Exp { mean_s: 0.003 };
        type Case<'a> = (&'a [(f64, &'a ServiceTime)], Option<(f64, f64)>, f64);
        let cases: [Case; 5] = [
            (&[(1.0, &lognormal)], Some((0.6, 0.004)), 0.125 / 4096.0),
            (&[(1.0, &lognormal)], None, 0.1 / 4096.0),
            (
                &[(3.0, &constant), (1.0, &gamma)],
                Some((0.3, 0.01)),
                0.2 / 4096.0,
            ),
            (&[(1.0, &constant)], Some((0.9, 0.02)), 0.5 / 4096.0),
            (
                &[(2.0, &exp), (5.0, &lognormal)],
                Some((0.2, 0.001)),
                0.3 / 4096.0,
            ),
        ];
        for (i, (parts, wait, step)) in cases.into_iter().enumerate() {
            assert_eq!(grid_fits(parts, wait, step), Some(true), "case {i}");
            let fast = p99_in_prefix(parts, wait, step).expect("in the prefix");
            assert_eq!(
                fast.to_bits(),
                whole(parts, wait, step).to_bits(),
                "case {i}"
            );
        }
    }

    /// The bounds say a grid is too short only when the whole lattice overflows, and wide
    /// enough only when it does not.
    #[test]
    fn grid_bounds_agree_with_the_lattice() {
        let lognormal = ServiceTime::Lognormal {
            mean_s: 0.002,
            cv: 0.8,
        };
        let parts: &[(f64, &ServiceTime)] = &[(1.0, &lognormal)];
        let mut settled = [0; 2];
        for span in [0.004, 0.01, 0.02, 0.04, 0.1, 0.5] {
            for wait in [None, Some((0.5, 0.002)), Some((0.9, 0.01))] {
                let step = span / POINTS as f64;
                let own = sojourn(parts, None, step, POINTS)
                    .expect("parts")
                    .into_lattice();
                let overflow = match wait {
                    Some((p, mean)) => own.add_exponential_wait(p, mean).overflow(),
                    None => own.overflow(),
                };
                match grid_fits(parts, wait, step) {
                    Some(true) => {
                        assert!(overflow <= MAX_OVERFLOW, "{span} {wait:?}");
                        settled[0] += 1;
                    }
                    Some(false) => {
                        assert!(overflow > MAX_OVERFLOW, "{span} {wait:?}");
                        settled[1] += 1;
                    }
                    None => {}
                }
            }
        }
        // Both answers are given on this range of grids, for most of it.
        assert!(settled[0] >= 5 && settled[1] >= 5, "{settled:?}");
    }
}
