//! The wait at a dynamic batcher (arrival → dispatch) as a distribution, from the embedded
//! chain of [`super::batching`] and the same assumptions (one instance, Poisson arrivals).
//!
//! By PASTA a request arrives at a time-stationary point of the chain's cycles, so P(wait > t)
//! is λ·(the expected time per cycle at which an arrival would wait more than t) / (requests
//! per cycle). A cycle is an idle period, a collection (the timer running, the instance free)
//! and a batch in service; each has a closed form, with N(x) the Poisson arrivals in x:
//!
//! * **Idle**: its one arrival starts the timer and waits min(`wait`, the time for `max` − 1
//!   more to arrive): P(> t) = [t < `wait`]·P(N(t) ≤ max − 2).
//! * **Collection** from n₀ queued with R left on the timer: an arrival τ in waits
//!   min(R − τ, the time for the batch to fill), and the time measure of those waiting more
//!   than t is ∫ₜᴿ P(N(x) ≤ max − n₀ − 2) dx.
//! * **Service** of a batch of b with `left` queued behind it: an arrival with v of the batch
//!   left waits v, plus s(max) for each `max` ahead of it (a leftover), or — when the queue it
//!   joins is fresh (`left` = 0, below `max` at completion) — until the timer of the oldest or
//!   the batch filling: P(> t) = P(N(min(u + t, `wait`)) ≤ max − 2)·e^{−λ(u + t − wait)⁺},
//!   u = s(b) − v, for t < `wait`.
//!
//! The integrals over the arrival point are closed forms in ∫P(N(x) ≤ m)dx; only the fresh
//! queues' timers come from the chain's own quadrature nodes. The result is tabulated once per
//! station as a CDF; its mean is the chain's (both are exact for the model: the unit tests
//! compare them).

use super::batching::{Batcher, Batching, poisson_terms};
use super::lattice::Compact;
use super::service_time::Dist;
use crate::model::ServiceTime;

/// Points of the table.
const POINTS: usize = 2048;
/// P(wait > span) left out of the table.
const TABLE_TAIL: f64 = 1e-10;

/// A batcher's wait, tabulated as a CDF.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchWait {
    step: f64,
    /// P(W ≤ i·step), i = 0 … POINTS.
    table: Vec<f64>,
    /// The chain's exact mean.
    mean: f64,
}

impl BatchWait {
    /// The wait from the chain's solution; the mean-value stand-in (beyond the chain's size)
    /// keeps an Erlang-2 wait with its mean.
    pub fn new(batcher: &Batcher, solution: &Batching) -> BatchWait {
        let mean = solution.mean_wait;
        match solution.wait_parts.as_ref() {
            Some(_) if mean > 0.0 => {
                let survival = Survival::new(batcher, solution);
                let mut span = 2.0 * batcher.wait_s.max(survival.s_max);
                for _ in 0..12 {
                    if survival.at(span) <= TABLE_TAIL {
                        break;
                    }
                    span *= 2.0;
                }
                BatchWait::tabulate(span, mean, |t| 1.0 - survival.at(t))
            }
            _ if mean > 0.0 => {
                let erlang2 = Dist::from_model(&ServiceTime::Gamma {
                    mean_s: mean,
                    cv: std::f64::consts::FRAC_1_SQRT_2,
                })
                .expect("a positive gamma");
                BatchWait::tabulate(mean * 20.0, mean, |t| erlang2.cdf(t))
            }
            _ => BatchWait::tabulate(1.0, 0.0, |_| 1.0),
        }
    }

    fn tabulate(span: f64, mean: f64, cdf: impl Fn(f64) -> f64) -> BatchWait {
        let step = span / POINTS as f64;
        let mut below = 0.0f64;
        let table = (0..=POINTS)
            .map(|i| {
                // Monotone despite rounding in the closed forms.
                below = below.max(cdf(i as f64 * step).clamp(0.0, 1.0));
                below
            })
            .collect();
        BatchWait { step, table, mean }
    }

    /// The chain's mean wait (exact for one instance, see [`super::batching`]).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// P(W ≤ t), interpolated linearly in the table; 1 past it.
    pub fn cdf(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        let x = t / self.step;
        let i = x.floor() as usize;
        if i >= POINTS {
            return 1.0;
        }
        let frac = x - i as f64;
        self.table[i] + frac * (self.table[i + 1] - self.table[i])
    }

    /// The wait on a lattice of `points` points `step` apart.
    pub fn discretise(&self, step: f64, points: usize) -> Compact {
        Compact::from_cdf(step, points, |t| self.cdf(t))
    }
}

/// P(wait > t), evaluated from the chain's parts.
pub(crate) struct Survival {
    lambda: f64,
    max: usize,
    wait: f64,
    timed: bool,
    s_max: f64,
    /// Requests per cycle (the mean batch).
    requests: f64,
    /// Idle periods per cycle.
    idle: f64,
    /// Collections grouped by m = max − n₀ − 2 (index), each sorted by R, with suffix sums of
    /// the weight and of weight·g(m, R).
    collections: Vec<Collections>,
    /// Batches with nothing queued behind them: (batch time, weight per cycle).
    services: Vec<(f64, f64)>,
    /// Batches of `max` with requests queued behind them: (leftovers, weight per cycle).
    leftovers: Vec<(usize, f64)>,
}

#[derive(Default)]
struct Collections {
    timers: Vec<f64>,
    weight_after: Vec<f64>,
    area_after: Vec<f64>,
}

impl Survival {
    pub(crate) fn new(batcher: &Batcher, solution: &Batching) -> Survival {
        let parts = solution
            .wait_parts
            .as_ref()
            .expect("the chain's solution has its parts");
        let max = batcher.max as usize;
        let lambda = batcher.arrival_rate;
        let service = |b: usize| batcher.base_s + batcher.per_item_s * b as f64;
        let mut grouped: Vec<Vec<(f64, f64)>> = vec![Vec::new(); max];
        for &(n0, timer, weight) in &parts.collections {
            // A collection that starts one short of `max` fills with its first arrival.
            if n0 + 2 <= max && timer > 0.0 && weight > 0.0 {
                grouped[max - n0 - 2].push((timer, weight));
            }
        }
        let collections = grouped
            .into_iter()
            .enumerate()
            .map(|(m, mut nodes)| {
                nodes.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut c = Collections {
                    timers: nodes.iter().map(|n| n.0).collect(),
                    weight_after: vec![0.0; nodes.len() + 1],
                    area_after: vec![0.0; nodes.len() + 1],
                };
                for (i, (timer, weight)) in nodes.iter().enumerate().rev() {
                    c.weight_after[i] = c.weight_after[i + 1] + weight;
                    c.area_after[i] =
                        c.area_after[i + 1] + weight * below_integral(lambda, m as i64, *timer);
                }
                c
            })
            .collect();
        Survival {
            lambda,
            max,
            wait: batcher.wait_s,
            timed: batcher.wait_s > 0.0 && max > 1,
            s_max: service(max),
            requests: solution.mean_batch,
            idle: parts.idle,
            collections,
            services: (parts.services.iter())
                .filter(|p| p.1 == 0)
                .map(|&(b, _, w)| (service(b), w))
                .collect(),
            leftovers: (parts.services.iter())
                .filter(|p| p.1 > 0)
                .map(|&(_, left, w)| (left, w))
                .collect(),
        }
    }

    /// P(wait > t).
    pub(crate) fn at(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 1.0;
        }
        let lambda = self.lambda;
        let mut measure = 0.0;
        if self.timed && t < self.wait {
            measure += self.idle * poisson_le(lambda * t, self.max as i64 - 2);
        }
        for (m, c) in self.collections.iter().enumerate() {
            let from = c.timers.partition_point(|r| *r <= t);
            if from < c.timers.len() {
                measure += lambda
                    * (c.area_after[from]
                        - c.weight_after[from] * below_integral(lambda, m as i64, t));
            }
        }
        for &(s, w) in &self.services {
            measure += lambda * w * self.in_service(t, s);
        }
        measure += lambda * self.behind_leftovers(t);
        (measure / self.requests).clamp(0.0, 1.0)
    }

    /// The pieces of [v ∈ [0, min(t, s)]] where a request with v of the batch left has
    /// j + 1 batches of `max` to wait for before it exceeds t: with d = t − v, ⌊d/s(max)⌋ = j.
    /// Yields (j, u₁, u₂), u = s − v the part of the batch before its arrival.
    fn pieces(&self, t: f64, s: f64) -> impl Iterator<Item = (i64, f64, f64)> + '_ {
        let reach = t.min(s);
        let first = ((t - reach) / self.s_max).floor() as i64;
        let last = (t / self.s_max).floor() as i64;
        (first..=last).filter_map(move |j| {
            let d1 = (t - reach).max(j as f64 * self.s_max);
            let d2 = t.min((j + 1) as f64 * self.s_max);
            (d2 > d1).then_some((j, s - t + d1, s - t + d2))
        })
    }

    /// ∫ over the arrival points of a batch in service of length s, with nothing queued behind
    /// it, of P(wait > t), t ≥ 0.
    fn in_service(&self, t: f64, s: f64) -> f64 {
        let lambda = self.lambda;
        let max = self.max as i64;
        // v ∈ (t, s]: the rest of the batch alone is longer than t.
        let reach = t.min(s);
        let mut total = s - reach;
        // Leftovers: a request waits more than t when (j + 1)·max of the N(u) arrivals before
        // it are ahead: ∫ P(N(u) ≥ (j + 1)·max) du.
        for (j, u1, u2) in self.pieces(t, s) {
            let need = max * (j + 1);
            total += (u2 - u1)
                - (below_integral(lambda, need - 1, u2) - below_integral(lambda, need - 1, u1));
        }
        // A fresh queue below `max` at completion waits for the timer or the batch to fill.
        if self.timed && t < self.wait {
            let (ua, ub) = (s - reach, s);
            let split = self.wait - t;
            let m = max - 2;
            if split.min(ub) > ua {
                total += below_integral(lambda, m, split.min(ub) + t)
                    - below_integral(lambda, m, ua + t);
            }
            let lo = ua.max(split);
            if ub > lo {
                total += poisson_le(lambda * self.wait, m)
                    * ((-lambda * (lo + t - self.wait)).exp()
                        - (-lambda * (ub + t - self.wait)).exp())
                    / lambda;
            }
        }
        total
    }

    /// The same, summed over the batches of `max` with `left` ≥ 1 queued behind them (never a
    /// fresh queue): ahead of an arrival are `left` plus the N(u) before it. All share s(max),
    /// so the integrals for every `left` come from one table per piece.
    fn behind_leftovers(&self, t: f64) -> f64 {
        if self.leftovers.is_empty() {
            return 0.0;
        }
        let s = self.s_max;
        let weight: f64 = self.leftovers.iter().map(|l| l.1).sum();
        let mut total = weight * (s - t.min(s));
        for (j, u1, u2) in self.pieces(t, s) {
            let need = self.max * (j as usize + 1);
            let (g1, g2) = (
                below_integrals(self.lambda, need, u1),
                below_integrals(self.lambda, need, u2),
            );
            for &(left, w) in &self.leftovers {
                // ∫ P(N(u) ≥ need − left) du.
                total += w * match need.checked_sub(left + 1) {
                    Some(m) => (u2 - u1) - (g2[m] - g1[m]),
                    None => u2 - u1,
                };
            }
        }
        total
    }

    /// Where P(wait > t) has a kink or a jump: the ends of the closed forms' pieces and the
    /// collections' timers (for integrating it exactly in the tests).
    #[cfg(test)]
    pub(crate) fn breakpoints(&self, span: f64) -> Vec<f64> {
        let mut points = vec![0.0, self.wait, span];
        for c in &self.collections {
            points.extend(&c.timers);
        }
        let s_max = self.s_max;
        for &s in (self.services.iter().map(|p| &p.0)).chain([&s_max]) {
            points.push(self.wait - s);
            let mut j = 0.0;
            while j * self.s_max <= span {
                points.push(j * self.s_max);
                points.push(s + j * self.s_max);
                j += 1.0;
            }
        }
        points.retain(|p| *p >= 0.0 && *p <= span);
        points.sort_by(f64::total_cmp);
        points.dedup();
        points
    }
}

/// ∫₀ʸ P(N(x) ≤ m) dx for Poisson arrivals at rate λ: E[min(N(y), m + 1)]/λ, which is
/// (μ·P(N ≤ m − 1) + (m + 1)·P(N ≥ m + 1))/λ with μ = λy.
fn below_integral(lambda: f64, m: i64, y: f64) -> f64 {
    if m < 0 || y <= 0.0 {
        return 0.0;
    }
    let mu = lambda * y;
    // P(N ≤ m) = P(N ≤ m − 1) + P(N = m), from one pass.
    let mut terms = poisson_terms(mu);
    let below = terms.by_ref().take(m as usize).sum::<f64>().min(1.0);
    let at = terms.next().unwrap_or(0.0);
    (mu * below + (m + 1) as f64 * (1.0 - (below + at).min(1.0))) / lambda
}

/// ∫₀ʸ P(N(x) ≤ m) dx for m = 0 … upto − 1, from one pass over the Poisson probabilities:
/// Σᵢ₌₀ᵐ P(N(y) > i)/λ.
fn below_integrals(lambda: f64, upto: usize, y: f64) -> Vec<f64> {
    let (mut cdf, mut sum) = (0.0, 0.0);
    (poisson_terms(lambda * y).take(upto))
        .map(|p| {
            cdf += p;
            sum += (1.0 - cdf.min(1.0)) / lambda;
            sum
        })
        .collect()
}

/// P(Poisson(μ) ≤ m), summed term by term (0 for m < 0).
fn poisson_le(mu: f64, m: i64) -> f64 {
    if m < 0 {
        return 0.0;
    }
    if mu <= 0.0 {
        return 1.0;
    }
    poisson_terms(mu).take(m as usize + 1).sum::<f64>().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    // The exact M/D/1 wait CDF (Erlang 1909): good to 1e-12 up to 4D.
    use crate::queueing::mg1::tests::md1_cdf;

    fn batcher(rate: f64, base_s: f64, per_item_s: f64, max: u32, wait_s: f64) -> Batcher {
        Batcher {
            arrival_rate: rate,
            base_s,
            per_item_s,
            max,
            wait_s,
        }
    }

    /// ∫₀^span P(wait > t) dt by 5-point Gauss–Legendre on 16 pieces between each pair of
    /// breakpoints, where the closed forms are smooth.
    fn integrate(s: &Survival, span: f64) -> f64 {
        const X: [f64; 5] = [
            0.0,
            -0.538_469_310_105_683,
            0.538_469_310_105_683,
            -0.906_179_845_938_664,
            0.906_179_845_938_664,
        ];
        const W: [f64; 5] = [
            0.568_888_888_888_889,
            0.478_628_670_499_366,
            0.478_628_670_499_366,
            0.236_926_885_056_189,
            0.236_926_885_056_189,
        ];
        let points = s.breakpoints(span);
        let mut total = 0.0;
        for pair in points.windows(2) {
            let h = (pair[1] - pair[0]) / 16.0;
            for k in 0..16 {
                let mid = pair[0] + (k as f64 + 0.5) * h;
                total += (X.iter().zip(&W))
                    .map(|(x, w)| w * s.at(mid + x * h / 2.0))
                    .sum::<f64>()
                    * h
                    / 2.0;
            }
        }
        total
    }

    #[test]
    fn the_distributions_mean_is_the_chains() {
        // The chain's mean (area per cycle) and the distribution's (arrivals per cycle) are
        // computed from different sides of the same cycles: they agree when both are right.
        for b in [
            batcher(300.0, 0.004, 0.001, 8, 0.005),
            batcher(600.0, 0.004, 0.001, 8, 0.005),
            batcher(50.0, 0.004, 0.001, 8, 0.005),
            batcher(1000.0, 0.002, 0.0003, 32, 0.0),
            batcher(2000.0, 0.002, 0.0003, 32, 0.0),
            batcher(400.0, 0.003, 0.0005, 4, 0.002),
        ] {
            let solution = b.solve().unwrap();
            let s = Survival::new(&b, &solution);
            let mut span = 2.0 * b.wait_s.max(s.s_max);
            while s.at(span) > 1e-14 {
                span *= 2.0;
            }
            let mean = integrate(&s, span);
            // Greedy: both exact (1e-14 measured). With a timer the chain integrates over the
            // fresh queue's oldest age by Simpson's rule (64 intervals): 5e-9 at most.
            let tolerance = if b.wait_s > 0.0 { 1e-8 } else { 1e-12 };
            assert!(
                (mean - solution.mean_wait).abs() < tolerance * solution.mean_wait,
                "{b:?}: {mean} vs {}",
                solution.mean_wait
            );
            // The table's mean, to its grid.
            let w = BatchWait::new(&b, &solution);
            let table: f64 = (0..POINTS)
                .map(|i| 1.0 - 0.5 * (w.table[i] + w.table[i + 1]))
                .sum::<f64>()
                * w.step;
            // The table smears the atom at `wait` over one of its steps (`wait`/1000 or less).
            assert!((table - mean).abs() < 1e-3 * mean, "{table} vs {mean}");
        }
    }

    #[test]
    fn batches_of_one_wait_as_md1() {
        // max 1: an M/D/1 queue whatever the timer; its wait is Erlang's.
        let d = 0.010;
        for wait in [0.0, 0.005] {
            for rho in [0.3, 0.5, 0.8] {
                let b = batcher(rho / d, 0.004, 0.006, 1, wait);
                let solution = b.solve().unwrap();
                let s = Survival::new(&b, &solution);
                let w = BatchWait::new(&b, &solution);
                for t in [0.0, 0.002, 0.005, 0.01, 0.013, 0.02, 0.031, 0.04] {
                    let exact = md1_cdf(rho, d, t);
                    assert!((1.0 - s.at(t) - exact).abs() < 1e-9, "ρ={rho} t={t}");
                    let error = (w.cdf(t) - exact).abs();
                    assert!(error < 1e-4, "ρ={rho} t={t}: {error}");
                }
            }
        }
    }

    #[test]
    fn a_lone_request_waits_out_the_timer() {
        // Light traffic: nobody joins before the timer fires, so the wait is `wait` exactly.
        let b = batcher(0.01, 0.002, 0.0003, 32, 0.004);
        let solution = b.solve().unwrap();
        let w = BatchWait::new(&b, &solution);
        let s = Survival::new(&b, &solution);
        assert!(s.at(0.004 - 1e-9) > 0.9999);
        assert!(s.at(0.004) < 1e-12);
        // The table puts the atom at `wait` within one of its steps.
        assert!(w.cdf(0.004 - w.step) < 1e-4 && w.cdf(0.004 + w.step) > 0.9999);
    }

    #[test]
    fn the_timer_bounds_the_wait_without_leftovers() {
        // A request waits at most max(`wait`, s(max)) unless `max` were queued ahead of it:
        // at 45% load (5.3 arrivals per s(max) of 12 ms) that is P(leftover) < 1%.
        let b = batcher(300.0, 0.004, 0.001, 8, 0.005);
        let solution = b.solve().unwrap();
        let s = Survival::new(&b, &solution);
        let beyond = s.at(0.012);
        assert!(beyond > 0.0 && beyond < 0.01, "{beyond}");
        // Greedy: no timer, and the wait is the rest of the batch in service.
        let b = batcher(500.0, 0.002, 0.0003, 32, 0.0);
        let solution = b.solve().unwrap();
        let s = Survival::new(&b, &solution);
        assert!(s.at(0.0116) < 1e-9, "{}", s.at(0.0116));
    }
}
