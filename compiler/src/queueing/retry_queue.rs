//! One FIFO server whose only caller retries on timeout: the attempts of a call, correlated.
//!
//! Taking attempts as independent draws of the callee's latency ([`super::timeout`]) misses
//! that a timed-out attempt's retry lands in the same congested queue, behind the abandoned
//! attempt, which still holds the server: congestion feeds itself (docs/models.md §1, "Retries
//! into a congested queue"). For one server, Poisson first attempts at rate λ₀, service S,
//! timeout T and r retries, two identities are exact:
//!
//! - **The next attempt's level.** An attempt arriving at t to the workload v times out iff
//!   v + S > T. The server is then busy throughout (t, t + T), and everything arriving
//!   meanwhile queues behind the attempt, so the next attempt arrives at t + T to the workload
//!   v + S − T + A + R: A the work of the first attempts of (t, t + T) (compound Poisson,
//!   λ₀T), R that of the retries due in it.
//! - **The workload.** Time-stationary, it solves the level-crossing equation of an M/G/1
//!   queue with a second arrival stream, the retries, at the levels of the first identity:
//!   f(x) = λ₀[P₀Ḡ(x) + ∫₀ˣ f(y)Ḡ(x − y)dy] + ∫₀ˣ g(y)Ḡ(x − y)dy, with g the retries' rate
//!   density over the levels they arrive at and P₀ = 1 − E[S]·(λ₀ + ∫g).
//!
//! On a lattice the second is w = (P₀δ₀ + E[S]·(r ⊛ γ)) ⊛ H, with r the residual service and
//! H = Σₖ (ρ₀r)^{⊛k} (the M/G/1 renewal of [`super::mg1`], computed once), and the two are
//! iterated to a fixed point from γ = 0. The one approximation is R given v: a non-final
//! attempt that arrived s before t timed out iff v + s(1 − ρ_c) > T (its own work is part of
//! v; ρ_c the work arriving per second meanwhile, taken as the congested load (r + 1)ρ₀), so
//! R(v) = ρ_R·clamp(T − (T − v)/(1 − ρ_c), 0, T) with ρ_R the non-final attempts' load. It
//! is a mean value (R's spread is ignored); the measured error is in docs/models.md.
//!
//! A call then takes (k − 1)T + v + S if attempt k, arriving at level v, answers in time, and
//! fails at (r + 1)T if none does.

use super::batching::poisson_terms;
use super::lattice::Compact;
use super::mg1::renewal;
use super::service_time::Dist;

/// Points of the workload's grid, at first; doubled (twice at most) while the workload
/// reaches past it.
const POINTS: usize = 4096;
/// Grid cells per timeout, at least: T = K·h exactly.
const MIN_CELLS: usize = 256;
/// Grid cells per mean service time, at least.
const CELLS_PER_SERVICE: f64 = 20.0;
/// Mass (per first attempt) past the workload's grid beyond which there is no solution.
const MAX_LOST: f64 = 1e-6;
/// Rounds of the fixed point, at most.
const ROUNDS: usize = 200;
/// The change in the retry rate (per first attempt) at which the fixed point is taken.
const TOLERANCE: f64 = 1e-8;

/// A retrying call into one FIFO server, solved.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryQueue {
    /// The call's latency: P(L ≤ (i + ½)·step).
    step: f64,
    boundary: Vec<f64>,
    /// Attempts per call, 1 to r + 1.
    pub attempts: f64,
    /// P(the first attempt times out).
    pub first_late: f64,
    /// P(every attempt times out): the call fails at (r + 1)·T.
    pub failed: f64,
    /// The mean wait of an attempt (first or retry) for the server.
    pub wait_mean: f64,
    /// The 99th percentile of an attempt's sojourn (wait + service).
    pub sojourn_p99: f64,
    /// The server's utilisation, every attempt counted.
    pub utilization: f64,
    /// The fixed point's rounds.
    pub rounds: usize,
}

/// Why a queue has no solution under this model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unsolved {
    /// Outside what the model's grid handles: every attempt together would overload the
    /// server (a retry storm, reported as such), the timeout is longer than a quarter of the
    /// grid at 20 points per mean service, or the first attempts' work per timeout needs more
    /// than 400 Poisson terms.
    Outside,
    /// No steady state: the fixed point overloads the server, reaches past the grid (64 T at
    /// 256 points per timeout, after two doublings), or does not settle in its rounds.
    /// Congestion feeds itself.
    Congested,
}

/// The service time: its parts (weights summing to 1) and its mean.
struct Service {
    parts: Vec<(f64, Dist)>,
    mean: f64,
}

/// Why a grid's fixed point stopped short.
enum Stop {
    Unsolved(Unsolved),
    /// The workload, or the attempts' levels, reach past the grid by more than `MAX_LOST`.
    PastGrid,
}

/// What the lattice solution works with.
struct Grid {
    /// Points.
    n: usize,
    h: f64,
    /// Cells per timeout.
    k: usize,
    /// Service time, P(S = j·h).
    service: Vec<f64>,
    /// First attempts' work arriving in one timeout, P(A = j·h).
    arrivals: Vec<f64>,
    /// The residual service, P(R = j·h), R with the CDF E[min(S, x)]/E[S].
    residual: Vec<f64>,
    /// H = Σₖ (ρ₀R)^{⊛k} on the grid.
    renewals: Vec<f64>,
    rate: f64,
    mean_service: f64,
    retries: u32,
}

impl RetryQueue {
    /// First attempts at `rate` (Poisson) to one server whose service mixes `parts` (weight,
    /// distribution), with a timeout of `timeout_s` and `retries` retries.
    pub fn new(
        rate: f64,
        parts: &[(f64, Dist)],
        timeout_s: f64,
        retries: u32,
    ) -> Result<Self, Unsolved> {
        let total: f64 = parts.iter().map(|(w, _)| w).sum();
        if !(total > 0.0 && rate > 0.0 && timeout_s > 0.0 && retries > 0) {
            return Err(Unsolved::Outside);
        }
        let parts: Vec<(f64, Dist)> = (parts.iter())
            .map(|(w, d)| (w / total, d.clone()))
            .collect();
        let service = Service {
            mean: parts.iter().map(|(w, d)| w * d.mean()).sum(),
            parts,
        };
        let rho = rate * service.mean;
        if !(service.mean > 0.0 && (retries + 1) as f64 * rho < 1.0) {
            return Err(Unsolved::Outside);
        }
        let k = MIN_CELLS.max((CELLS_PER_SERVICE * timeout_s / service.mean).ceil() as usize);
        if k > POINTS / 4 {
            return Err(Unsolved::Outside);
        }
        let h = timeout_s / k as f64;
        for n in [POINTS, 2 * POINTS, 4 * POINTS] {
            match Grid::new(n, h, k, &service, rate, timeout_s, retries)?.solve() {
                Err(Stop::PastGrid) => continue,
                Err(Stop::Unsolved(why)) => return Err(why),
                Ok(q) => return Ok(q),
            }
        }
        Err(Unsolved::Congested)
    }

    /// The call's latency (every attempt) on a lattice of `points` points `step` apart: the
    /// table's boundary CDF interpolated linearly.
    pub fn latency(&self, step: f64, points: usize) -> Compact {
        Compact::from_cdf(step, points, |t| self.cdf(t))
    }

    /// The mean latency of a call.
    pub fn mean(&self) -> f64 {
        let mut below = 0.0;
        let mut mean = 0.0;
        for (i, &b) in self.boundary.iter().enumerate() {
            mean += (b - below) * i as f64 * self.step;
            below = b;
        }
        mean
    }

    /// P(L ≤ t).
    pub fn cdf(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        let x = t / self.step - 0.5;
        if x < 0.0 {
            return self.boundary[0] * (t / (0.5 * self.step)).min(1.0);
        }
        let i = x.floor() as usize;
        if i + 1 >= self.boundary.len() {
            return 1.0;
        }
        let frac = x - i as f64;
        self.boundary[i] + frac * (self.boundary[i + 1] - self.boundary[i])
    }
}

impl Grid {
    /// The grid of `n` points `h` apart, with the service, the first attempts' work per
    /// timeout, the residual service and the M/G/1 renewal H on it.
    fn new(
        n: usize,
        h: f64,
        k: usize,
        times: &Service,
        rate: f64,
        timeout_s: f64,
        retries: u32,
    ) -> Result<Grid, Unsolved> {
        let mean_service = times.mean;
        let rho = rate * mean_service;
        let mut service = vec![0.0; n];
        for (w, d) in &times.parts {
            let c = d.discretise(h, n);
            for (s, p) in service.iter_mut().zip(&c.body) {
                *s += w * p;
            }
            service[n - 1] += w * c.overflow;
        }
        fold_light_tail(&mut service);
        let arrivals = compound_poisson(rate * timeout_s, &service, n).ok_or(Unsolved::Outside)?;
        // The residual service, E[min(S, x)]/E[S], and H = renewal(ρ₀r)/(1 − ρ₀).
        let residual = Compact::from_cdf(h, n, |x| {
            let limited: f64 = (times.parts.iter())
                .map(|(w, d)| w * d.limited_mean(x))
                .sum();
            (limited / mean_service).min(1.0)
        });
        let renewals = (renewal(rho, &residual.body, n).into_iter())
            .map(|x| x / (1.0 - rho))
            .collect();
        Ok(Grid {
            n,
            h,
            k,
            service,
            arrivals,
            residual: residual.body,
            renewals,
            rate,
            mean_service,
            retries,
        })
    }

    /// The fixed point of the workload and the attempts' levels (see the module's comment).
    fn solve(&self) -> Result<RetryQueue, Stop> {
        let (r, renewals) = (&self.residual, &self.renewals);
        let rho = self.rate * self.mean_service;
        let r_len = self.retries as usize;
        // Retries' rate over the levels they arrive at.
        let mut retries = vec![0.0; self.n];
        // Non-final retries per first attempt over the sojourn levels (see `busier`),
        // accumulated over the grid; none with one retry.
        let mut busier: Option<Vec<f64>> = None;
        let mut previous = f64::NAN;
        // The last two rounds' changes in the retry rate, for Aitken's extrapolation: the
        // fixed point is approached geometrically (at a ratio near 0.65 in `retries.arch`).
        let mut changes = [f64::NAN; 2];
        for round in 1..=ROUNDS {
            let retry_rate: f64 = retries.iter().sum();
            let busy = rho + self.mean_service * retry_rate;
            if busy >= 1.0 {
                return Err(Stop::Unsolved(Unsolved::Congested));
            }
            // w = (P₀δ₀ + E[S]·(r ⊛ γ)) ⊛ H.
            let (mut source, _) = convolve(r, &retries, self.n);
            source.iter_mut().for_each(|x| *x *= self.mean_service);
            source[0] += 1.0 - busy;
            let (workload, lost) = convolve(&source, renewals, self.n);
            if lost > MAX_LOST {
                return Err(Stop::PastGrid);
            }
            // The attempts: first ones at the workload's levels (PASTA), then each retry at
            // the level its predecessor's timeout leads to.
            let mut levels: Vec<Vec<f64>> = vec![workload.iter().map(|w| w * self.rate).collect()];
            let mut lost = 0.0;
            for _ in 0..r_len {
                let (next, beyond) = self.next_attempt(levels.last().expect("one"), &busier);
                lost += beyond;
                levels.push(next);
            }
            if lost > MAX_LOST * self.rate {
                return Err(Stop::PastGrid);
            }
            let masses: Vec<f64> = levels.iter().map(|l| l.iter().sum()).collect();
            if r_len > 1 {
                busier = Some(self.busier(&levels[..r_len]));
            }
            let mut next = vec![0.0; self.n];
            for l in &levels[1..] {
                for (g, x) in next.iter_mut().zip(l) {
                    *g += x;
                }
            }
            let now: f64 = masses[1..].iter().sum();
            let change = now - previous;
            if change.abs() <= TOLERANCE * self.rate {
                return Ok(self.finish(&levels, &masses, round));
            }
            // Once the ratio of successive changes is steady, jump to where it leads. The
            // iteration goes on from there, so the fixed point is the same, in fewer rounds.
            let ratios = [changes[1] / changes[0], change / changes[1]];
            if (ratios[0] - ratios[1]).abs() < 0.02 && ratios[1] > 0.0 && ratios[1] < 0.95 {
                let gain = ratios[1] / (1.0 - ratios[1]);
                for (g, n) in next.iter_mut().zip(&retries) {
                    *g = (*g + gain * (*g - n)).max(0.0);
                }
                previous = next.iter().sum();
                changes = [f64::NAN; 2];
            } else {
                previous = now;
                changes = [changes[1], change];
            }
            retries = next;
        }
        Err(Stop::Unsolved(Unsolved::Congested))
    }

    /// Per sojourn level y (in cells), the non-final retries (attempts 2 to r) that reach it
    /// per first attempt that does: Σₖ uₖ(y)/u₁(y), uₖ = πₖ ⊛ S; accumulated over the grid
    /// (C(y) = Σ_{j<y}). Retries crowd into congested spells, so given a congested queue the
    /// last timeout's worth of arrivals holds more of them than their average rate says.
    fn busier(&self, nonfinal: &[Vec<f64>]) -> Vec<f64> {
        let u: Vec<Vec<f64>> = (nonfinal.iter())
            .map(|l| convolve(l, &self.service, self.n).0)
            .collect();
        let cap = (nonfinal.len() - 1) as f64;
        let mut total = 0.0;
        let mut out = Vec::with_capacity(self.n + 1);
        out.push(0.0);
        for y in 0..self.n {
            let first = u[0][y];
            let later: f64 = u[1..].iter().map(|v| v[y]).sum();
            // Where first attempts' sojourns do not reach, no more retries than their cap.
            total += if first > 0.0 {
                (later / first).min(cap)
            } else {
                cap.min(later)
            };
            out.push(total);
        }
        out
    }

    /// The levels at which the attempts arriving at `levels` (rates) that time out make their
    /// next attempt, and the rate lost past the grid. `busier`: see [`Grid::busier`].
    fn next_attempt(&self, levels: &[f64], busier: &Option<Vec<f64>>) -> (Vec<f64>, f64) {
        let k = self.k;
        let kf = k as f64;
        let rho = self.rate * self.mean_service;
        let congested = ((self.retries + 1) as f64 * rho).min(0.999);
        let quiet = (congested * kf).floor() as usize;
        // R(v) in cells: the work of the non-final attempts of the last T that timed out,
        // those that arrived more than s* = (T − v)/(1 − ρ_c) ago: ρ₀ per first attempt, and
        // the retries among them by `busier` at their sojourn levels v + s(1 − ρ_c).
        let shift = |i: usize| -> f64 {
            let v = i as f64;
            let since = ((kf - v) / (1.0 - congested)).clamp(0.0, kf);
            let first = kf - since;
            let later = busier.as_ref().map_or(0.0, |c| {
                let at = |y: f64| {
                    let y = y.clamp(0.0, (c.len() - 1) as f64);
                    let j = (y.floor() as usize).min(c.len() - 2);
                    c[j] + (y - j as f64) * (c[j + 1] - c[j])
                };
                ((at(v + kf * (1.0 - congested)) - at(v.max(kf))) / (1.0 - congested)).max(0.0)
            });
            rho * (first + later)
        };
        let mut next = vec![0.0; 2 * self.n];
        // Below ρ_c·T no retry is due: one convolution, the timed-out part moved down by T.
        let low = &levels[..=quiet.min(self.n - 1)];
        let (u, _) = convolve(low, &self.service, 2 * self.n);
        for (m, p) in u.iter().enumerate().skip(k + 1) {
            next[m - k] += p;
        }
        // Up to T only services longer than T − v time out: row by row (few rows).
        for (i, &x) in levels.iter().enumerate().take(k + 1).skip(quiet + 1) {
            let first = k + 1 - i;
            if x > 0.0 && first < self.service.len() {
                let offset = (i + first) as f64 - kf + shift(i);
                add_shifted(&mut next, &self.service[first..], x, offset);
            }
        }
        // Past T every attempt times out: each level's mass moves to v − T + R(v), then one
        // convolution with the service (the same as adding each row at its own offset).
        let mut moved = vec![0.0; 2 * self.n];
        for (i, &x) in levels.iter().enumerate().skip(k + 1) {
            if x > 0.0 {
                add_shifted(&mut moved, &[x], 1.0, (i - k) as f64 + shift(i));
            }
        }
        let (u, _) = convolve(&moved, &self.service, 2 * self.n);
        for (n, p) in next.iter_mut().zip(&u) {
            *n += p;
        }
        // Plus the first attempts' work arriving meanwhile.
        convolve(&next, &self.arrivals, self.n)
    }

    fn finish(&self, levels: &[Vec<f64>], masses: &[f64], rounds: usize) -> RetryQueue {
        let k = self.k;
        let rate = self.rate;
        let mut latency = vec![0.0; (self.retries as usize + 1) * k + 1];
        let mut sojourn = vec![0.0; 2 * self.n];
        let mut answered = 0.0;
        for (a, l) in levels.iter().enumerate() {
            let (u, _) = convolve(l, &self.service, 2 * self.n);
            for (m, p) in u.iter().enumerate() {
                sojourn[m] += p;
                if m <= k {
                    latency[a * k + m] += p / rate;
                    answered += p / rate;
                }
            }
        }
        let failed = (1.0 - answered).max(0.0);
        let last = latency.len() - 1;
        latency[last] += failed;
        let mut below = 0.0;
        let boundary = latency
            .iter()
            .map(|p| {
                below += p;
                below.min(1.0)
            })
            .collect();
        let all: f64 = masses.iter().sum();
        let wait: f64 = (levels.iter())
            .flat_map(|l| l.iter().enumerate())
            .map(|(i, x)| i as f64 * x)
            .sum::<f64>()
            * self.h
            / all;
        let mut below = 0.0;
        let p99 = sojourn
            .iter()
            .position(|x| {
                below += x / all;
                below >= 0.99
            })
            .unwrap_or(sojourn.len() - 1) as f64
            * self.h;
        RetryQueue {
            step: self.h,
            boundary,
            attempts: all / rate,
            first_late: masses.get(1).copied().unwrap_or(0.0) / rate,
            failed,
            wait_mean: wait,
            sojourn_p99: p99,
            utilization: all * self.mean_service,
            rounds,
        }
    }
}

/// `scale`·`src[j]` at the fractional cell `offset + j`, each split between the two cells
/// around it (keeping the mean); what falls past `out` goes on its last cell.
fn add_shifted(out: &mut [f64], src: &[f64], scale: f64, offset: f64) {
    let base = offset.floor() as usize;
    let frac = offset - base as f64;
    let (lo, hi) = (scale * (1.0 - frac), scale * frac);
    let last = out.len() - 1;
    let fits = src.len().min(last.saturating_sub(base));
    for (j, p) in src[..fits].iter().enumerate() {
        out[base + j] += lo * p;
        out[base + j + 1] += hi * p;
    }
    out[last] += scale * src[fits..].iter().sum::<f64>();
}

/// The convolution of two non-negative sequences, cut at `len` points: the result and the
/// mass beyond. (Through [`Compact::convolve`], on distributions: both are normalised first.)
fn convolve(a: &[f64], b: &[f64], len: usize) -> (Vec<f64>, f64) {
    let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let mut out = vec![0.0; len];
    if !(sa > 0.0 && sb > 0.0) {
        return (out, 0.0);
    }
    let points = a.len() + b.len();
    let as_compact = |x: &[f64], s: f64| {
        let mut body: Vec<f64> = x.iter().map(|p| p / s).collect();
        fold_light_tail(&mut body);
        Compact {
            step: 1.0,
            points,
            body,
            overflow: 0.0,
        }
    };
    let c = as_compact(a, sa).convolve(&as_compact(b, sb));
    let scale = sa * sb;
    let mut beyond = c.overflow * scale;
    for (i, p) in c.body.iter().enumerate() {
        match out.get_mut(i) {
            Some(o) => *o = p * scale,
            None => beyond += p * scale,
        }
    }
    (out, beyond)
}

/// Folds the tail lighter than 1e-15 (in probability) onto the last point kept, and drops
/// the points past it: the convolutions then run over the supports, not the whole grid.
fn fold_light_tail(body: &mut Vec<f64>) {
    let mut tail = 0.0;
    let mut keep = body.len();
    while keep > 1 && tail + body[keep - 1] < 1e-15 {
        keep -= 1;
        tail += body[keep];
    }
    body.truncate(keep);
    if let Some(last) = body.last_mut() {
        *last += tail;
    }
}

/// The work of a Poisson(`mean`) number of services, each `service`: Σ P(N = n)·S^{⊛n}, up to
/// the n past which the Poisson tail is below 1e-12, on `len` points. `None` if that takes more than 400 terms.
fn compound_poisson(mean: f64, service: &[f64], len: usize) -> Option<Vec<f64>> {
    let mut out = vec![0.0; len];
    let mut power = vec![0.0; len];
    power[0] = 1.0;
    let mut left = 1.0;
    for (n, p) in poisson_terms(mean).enumerate() {
        if n > 0 {
            power = convolve(&power, service, len).0;
        }
        for (o, x) in out.iter_mut().zip(&power) {
            *o += p * x;
        }
        left -= p;
        if left < 1e-12 && n as f64 > mean {
            return Some(out);
        }
        if n == 400 {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_nobody_reaches_is_the_mg1_queue() {
        // M/M/1 at ρ = 0.3 with a timeout of 40 mean services: P(sojourn > T) = e^{−0.7·40},
        // so no attempt times out and the call is the M/M/1 sojourn, Exp(rate μ − λ).
        let q = RetryQueue::new(30.0, &[(1.0, Dist::Exp { mean: 0.010 })], 0.4, 1).unwrap();
        assert!(q.first_late < 1e-10, "{}", q.first_late);
        assert!((q.attempts - 1.0).abs() < 1e-9);
        let sojourn = 0.010 / 0.7;
        assert!((q.mean() - sojourn).abs() / sojourn < 1e-3, "{}", q.mean());
        assert!((q.wait_mean - 0.3 * sojourn).abs() / (0.3 * sojourn) < 2e-3);
        for t in [0.005, 0.02, 0.05] {
            let exact = 1.0 - (-t / sojourn).exp();
            assert!((q.cdf(t) - exact).abs() < 2e-3, "{t}: {}", q.cdf(t));
        }
        assert!((q.utilization - 0.3).abs() < 1e-6);
    }

    #[test]
    fn first_attempts_see_the_mg1_workload() {
        // Retries join the queue, so the first attempt's timeouts exceed those of the M/M/1
        // at the first attempts' rate (e^{−(μ−λ)T}), and every timed-out call is retried.
        let (rate, mean, t) = (40.0, 0.010, 0.060);
        let q = RetryQueue::new(rate, &[(1.0, Dist::Exp { mean })], t, 1).unwrap();
        let alone = (-(1.0 / mean - rate) * t).exp();
        assert!(q.first_late > alone, "{} vs {alone}", q.first_late);
        assert!((q.attempts - 1.0 - q.first_late).abs() < 1e-9);
        assert!((q.utilization - rate * mean * q.attempts).abs() < 1e-9);
        // Failures end at 2T (the atom in its cell, half a step either side), and nothing is later.
        assert!((q.cdf(2.0 * t + q.step) - 1.0).abs() < 1e-12);
        assert!(q.cdf(2.0 * t - q.step) < 1.0 - q.failed + 1e-9);
        assert!(q.failed > 0.0 && q.failed < q.first_late);
        assert!(q.rounds < ROUNDS);
    }

    #[test]
    fn a_service_longer_than_the_timeout_fails_every_call() {
        // const(10 ms) against a 5 ms timeout: every attempt times out, so each call makes
        // both attempts, fails at 2T, and the server sees 2λ₀ (ρ = 0.4 at λ₀ = 20/s).
        let q = RetryQueue::new(20.0, &[(1.0, Dist::Const { value: 0.010 })], 0.005, 1).unwrap();
        assert!((q.first_late - 1.0).abs() < 1e-9, "{}", q.first_late);
        assert!((q.attempts - 2.0).abs() < 1e-9, "{}", q.attempts);
        assert!((q.failed - 1.0).abs() < 1e-9);
        assert!((q.utilization - 0.4).abs() < 1e-9);
        assert!((q.mean() - 0.010).abs() < 1e-12, "{}", q.mean());
        assert!(q.cdf(0.010 - q.step) < 1e-12);
    }

    #[test]
    fn a_storm_has_no_solution() {
        // Two attempts at ρ₀ = 0.5 each would load the server fully.
        assert_eq!(
            RetryQueue::new(50.0, &[(1.0, Dist::Exp { mean: 0.010 })], 0.05, 1),
            Err(Unsolved::Outside)
        );
    }

    #[test]
    fn compound_poisson_is_exact_for_a_constant() {
        // A = D·N, N ~ Poisson(2): P(A = nD) = e^{−2}2ⁿ/n!.
        let mut service = vec![0.0; 64];
        service[5] = 1.0;
        let a = compound_poisson(2.0, &service, 64).unwrap();
        let mut p = (-2.0f64).exp();
        for n in 0..10 {
            assert!((a[5 * n] - p).abs() < 1e-12, "{n}");
            p *= 2.0 / (n + 1) as f64;
        }
    }
}
