//! Dynamic batching on one instance (a GPU model server's batcher), from the embedded Markov
//! chain at batch completions.
//!
//! Requests arrive as a Poisson stream of rate λ. A free instance dispatches a batch when its
//! queue holds `max` requests, or when the oldest queued request has waited `wait`; the batch
//! takes everything queued up to `max`, and a batch of b takes s(b) = base + per_item·b. This is
//! Triton's dynamic batcher (`max_batch_size`, `max_queue_delay`) and TEI's greedy batcher
//! (`wait` = 0).
//!
//! **The chain.** Its state at a batch completion is the queue length n and, when every queued
//! request arrived during the batch just served (a *fresh* queue), that batch's size: given n
//! Poisson arrivals in a service of length s, their arrival times are uniform on [0, s], so
//! the oldest one's age is known in distribution and decides whether the timer has already
//! run out. From each state the next batch size b (and the leftovers, when n > max) follows,
//! and the arrivals during s(b) are Poisson(λ·s(b)).
//!
//! **Exact** for one instance when s(max) ≥ `wait` or `wait` = 0 (then leftovers always find
//! the timer expired). Otherwise a queue with leftovers below `max` is taken to dispatch at
//! once, which is what happens unless the leftovers had waited less than `wait − s(max)`.
//!
//! **Results.** Mean wait = E[area under the queue-length curve per cycle] / E[batch size]
//! (a renewal-reward argument); the size of the batch a request rides in, request-weighted;
//! the instance's busy fraction.

use super::mmc::Unstable;
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// A batching instance fed by Poisson arrivals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Batcher {
    pub arrival_rate: f64,
    pub base_s: f64,
    pub per_item_s: f64,
    pub max: u32,
    pub wait_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Batching {
    /// Mean time from arrival to dispatch.
    pub mean_wait: f64,
    /// Mean time from arrival to the end of its batch.
    pub mean_sojourn: f64,
    /// P(a request rides in a batch of b), b = 1…max (index b − 1).
    pub request_batch: Vec<f64>,
    /// Mean batch size, per batch.
    pub mean_batch: f64,
    /// Fraction of time the instance is serving a batch.
    pub busy: f64,
    /// From the chain; false for the mean-value stand-in used beyond the chain's size.
    pub exact: bool,
    /// What the wait's distribution is built from ([`super::batch_wait`]); `None` for the
    /// mean-value stand-in.
    pub wait_parts: Option<WaitParts>,
}

/// The chain's cycles, per cycle (one batch each): what a request arriving in them waits for.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitParts {
    /// Idle periods (each ends with the arrival that starts the timer).
    pub idle: f64,
    /// Collections: (requests queued when the timer starts or resumes, time left on the
    /// timer, weight).
    pub collections: Vec<(usize, f64, f64)>,
    /// Batches in service: (size, requests left queued behind it, weight).
    pub services: Vec<(usize, usize, f64)>,
}

/// The largest `max` the chain takes: its states grow as max (greedy) or max² (with a timer).
pub const MAX_BATCH: usize = 1024;
pub const MAX_TIMED_BATCH: usize = 64;
/// The most queued requests the chain tracks.
const MAX_QUEUE: usize = 1024;

impl Batcher {
    fn service(&self, b: usize) -> f64 {
        self.base_s + self.per_item_s * b as f64
    }

    /// Capacity in requests per second: max / s(max).
    pub fn capacity(&self) -> f64 {
        self.max as f64 / self.service(self.max as usize)
    }

    pub fn solve(&self) -> Result<Batching, Unstable> {
        let lambda = self.arrival_rate;
        let max = self.max as usize;
        assert!(
            lambda > 0.0 && max >= 1 && self.base_s + self.per_item_s > 0.0,
            "invalid batcher"
        );
        let utilization = lambda / self.capacity();
        if utilization >= 1.0 {
            return Err(Unstable {
                utilization,
                servers_needed: utilization.floor() as u32 + 1,
            });
        }
        if max > MAX_BATCH || (self.wait_s > 0.0 && max > MAX_TIMED_BATCH) {
            return Ok(self.mean_value());
        }
        let mut size = 2 * max + 64;
        loop {
            let (solution, tail) = self.solve_truncated(size);
            // The chain is dense: past MAX_QUEUE queued requests the edge keeps the rest.
            if tail < 1e-12 || size >= MAX_QUEUE {
                return Ok(solution);
            }
            size = (size * 2).min(MAX_QUEUE);
        }
    }

    /// Beyond the chain's size: the batch size b that arrives while one batch is served,
    /// b = clamp(λ·s(b), 1, max); a request waits half a batch time plus the timer, then its
    /// batch. An approximation whose error is not measured (`exact` is false).
    fn mean_value(&self) -> Batching {
        let max = self.max as f64;
        let mut b = 1.0f64;
        for _ in 0..200 {
            b = (self.arrival_rate * (self.base_s + self.per_item_s * b)).clamp(1.0, max);
        }
        let size = b.round().clamp(1.0, max) as usize;
        let s = self.service(size);
        let mut request_batch = vec![0.0; self.max as usize];
        request_batch[size - 1] = 1.0;
        let mean_wait = s / 2.0 + self.wait_s;
        Batching {
            mean_wait,
            mean_sojourn: mean_wait + s,
            request_batch,
            mean_batch: size as f64,
            busy: (self.arrival_rate * s / size as f64).min(1.0),
            exact: false,
            wait_parts: None,
        }
    }

    /// The chain with queue lengths below `size`; returns the solution and the stationary mass
    /// at the truncation edge.
    fn solve_truncated(&self, size: usize) -> (Batching, f64) {
        let lambda = self.arrival_rate;
        let max = self.max as usize;
        let timed = self.wait_s > 0.0 && max > 1;
        // States: queue n (0..size), then fresh queues (n, previous batch b) for 1 ≤ n < max.
        let fresh = |n: usize, b: usize| size + (n - 1) * max + (b - 1);
        let states = if timed { size + (max - 1) * max } else { size };
        // Per state: the distribution of the next dispatch (b, leftovers) and the expected
        // waiting area and time before it.
        let outcomes: Vec<Dispatch> = (0..states)
            .map(|i| {
                if i == 0 {
                    self.after_idle()
                } else if i < size {
                    Dispatch::now(i.min(max), i.saturating_sub(max))
                } else {
                    let n = (i - size) / max + 1;
                    let b = (i - size) % max + 1;
                    self.after_fresh(n, self.service(b))
                }
            })
            .collect();
        // Arrivals during a batch of b: Poisson(λ·s(b)), truncated to the grid.
        let arrivals: Vec<Vec<f64>> = (1..=max)
            .map(|b| poisson_pmf(lambda * self.service(b), size))
            .collect();
        // The chain seen just after each dispatch, on ψ = (batch b with nothing left, b < max
        // or b = max) ∪ (batch max with `left` queued, left ≥ 1): index b − 1, or max − 1 + left.
        let dim = max + size - 1;
        let post = |b: usize, left: usize| {
            if left == 0 {
                b - 1
            } else {
                max - 1 + left.min(size - 1)
            }
        };
        // The states a post-dispatch point leads to, after the arrivals of its batch.
        let spread = |j: usize| -> Vec<(usize, f64)> {
            let (b, left) = if j < max {
                (j + 1, 0)
            } else {
                (max, j + 1 - max)
            };
            arrivals[b - 1]
                .iter()
                .enumerate()
                .map(|(a, q)| {
                    let n = (left + a).min(size - 1);
                    let state = if timed && left == 0 && a >= 1 && a < max {
                        fresh(a, b)
                    } else {
                        n
                    };
                    (state, *q)
                })
                .collect()
        };
        // ψ' = ψ·M, solved directly: (I − M)ᵀψᵀ = 0 with Σψ = 1 in place of one equation.
        let mut system = DMatrix::<f64>::zeros(dim, dim);
        for j in 0..dim {
            for (state, q) in spread(j) {
                for &(b, left, r) in &outcomes[state].batches {
                    system[(post(b, left), j)] -= q * r;
                }
            }
            system[(j, j)] += 1.0;
        }
        system.row_mut(dim - 1).fill(1.0);
        let mut rhs = DVector::<f64>::zeros(dim);
        rhs[dim - 1] = 1.0;
        let psi = system
            .lu()
            .solve(&rhs)
            .expect("the post-dispatch chain of a stable batcher is irreducible");
        let mut pi = vec![0.0; states];
        for (j, weight) in psi.iter().enumerate() {
            for (state, q) in spread(j) {
                pi[state] += weight.max(0.0) * q;
            }
        }
        // Renewal reward over cycles (one batch each).
        let mut area = 0.0;
        let mut time = 0.0;
        let mut batch_mass = vec![0.0; max + 1];
        let mut collections = Vec::new();
        let mut services = std::collections::BTreeMap::new();
        for (p, o) in pi.iter().zip(&outcomes) {
            area += p * o.area;
            time += p * o.time;
            collections.extend((o.timers.iter()).map(|&(n, timer, q)| (n, timer, p * q)));
            for &(b, left, q) in &o.batches {
                let s = self.service(b);
                batch_mass[b] += p * q;
                *services.entry((b, left)).or_insert(0.0) += p * q;
                area += p * q * (left as f64 * s + lambda * s * s / 2.0);
                time += p * q * s;
            }
        }
        let mean_batch: f64 = (1..=max).map(|b| b as f64 * batch_mass[b]).sum();
        let request_batch: Vec<f64> = (1..=max)
            .map(|b| b as f64 * batch_mass[b] / mean_batch)
            .collect();
        let mean_service: f64 = (1..=max)
            .map(|b| request_batch[b - 1] * self.service(b))
            .sum();
        let busy: f64 = (1..=max)
            .map(|b| batch_mass[b] * self.service(b))
            .sum::<f64>()
            / time;
        let mean_wait = area / mean_batch;
        let tail = pi[size - 1];
        (
            Batching {
                mean_wait,
                mean_sojourn: mean_wait + mean_service,
                request_batch,
                mean_batch,
                busy,
                exact: true,
                wait_parts: Some(WaitParts {
                    idle: pi[0],
                    collections,
                    services: (services.into_iter())
                        .filter(|(_, w)| *w > 0.0)
                        .map(|((b, left), w)| (b, left, w))
                        .collect(),
                }),
            },
            tail,
        )
    }

    /// From an empty queue: idle until an arrival, which starts the timer; dispatch at `wait`
    /// or when the queue reaches `max`.
    fn after_idle(&self) -> Dispatch {
        let mut d = self.collect(1, self.wait_s);
        d.time += 1.0 / self.arrival_rate;
        d.timers.push((1, self.wait_s, 1.0));
        d
    }

    /// From a fresh queue of n < max requests that arrived during a service of length s.
    fn after_fresh(&self, n: usize, s: f64) -> Dispatch {
        let w = self.wait_s;
        // The earliest of n uniform arrivals on [0, s] is at m, density n(1 − m/s)^{n−1}/s;
        // the oldest has waited s − m, so the timer has run out unless m > s − w, and then
        // w − s + m remains.
        let lo = (s - w).max(0.0);
        let expired = 1.0 - ((s - lo) / s).powi(n as i32);
        let mut out = Dispatch {
            batches: Vec::new(),
            area: 0.0,
            time: 0.0,
            timers: Vec::new(),
        };
        let mut sizes = vec![0.0; self.max as usize + 1];
        sizes[n] += expired;
        // Simpson's rule over m ∈ [lo, s]: the integrand is a polynomial in m times Poisson
        // probabilities, smooth on the interval.
        let intervals = 64;
        let h = (s - lo) / intervals as f64;
        for j in 0..=intervals {
            let m = lo + j as f64 * h;
            let weight = if j == 0 || j == intervals {
                1.0
            } else if j % 2 == 1 {
                4.0
            } else {
                2.0
            } * h
                / 3.0;
            let density = n as f64 * (1.0 - m / s).max(0.0).powi(n as i32 - 1) / s;
            let d = self.collect(n, w - s + m);
            let q = weight * density;
            for &(b, _, p) in &d.batches {
                sizes[b] += q * p;
            }
            out.area += q * d.area;
            out.time += q * d.time;
            out.timers.push((n, w - s + m, q));
        }
        let total: f64 = sizes.iter().sum();
        out.batches = sizes
            .iter()
            .enumerate()
            .filter(|(_, p)| **p > 0.0)
            .map(|(b, p)| (b, 0, p / total))
            .collect();
        out
    }

    /// Holding n requests with `remaining` left on the timer: Poisson arrivals join until the
    /// queue holds `max` or the timer ends.
    fn collect(&self, n: usize, remaining: f64) -> Dispatch {
        let max = self.max as usize;
        let lambda = self.arrival_rate;
        let need = max - n;
        let pmf = poisson_pmf(lambda * remaining.max(0.0), need + 1);
        let mut at_least = 1.0;
        let mut area = 0.0;
        let mut time = 0.0;
        let mut batches = Vec::with_capacity(need + 1);
        for (k, p) in pmf.iter().enumerate().take(need) {
            batches.push((n + k, 0, *p));
            at_least -= p;
            // The k-th wait ends at the (k+1)-th arrival or the timer: E[time with n + k queued]
            // = P(Poisson(λr) ≥ k + 1)/λ.
            time += at_least.max(0.0) / lambda;
            area += (n + k) as f64 * at_least.max(0.0) / lambda;
        }
        batches.push((max, 0, at_least.max(0.0)));
        Dispatch {
            batches,
            area,
            time,
            timers: Vec::new(),
        }
    }
}

/// What happens before the next batch starts, from one chain state.
#[derive(Clone, Debug)]
struct Dispatch {
    /// (batch size, requests left queued, probability).
    batches: Vec<(usize, usize, f64)>,
    /// Expected request-seconds of waiting before the dispatch.
    area: f64,
    /// Expected time before the dispatch.
    time: f64,
    /// Collections with the timer running: (requests queued, time left on the timer,
    /// probability, or quadrature weight).
    timers: Vec<(usize, f64, f64)>,
}

impl Dispatch {
    fn now(b: usize, left: usize) -> Dispatch {
        Dispatch {
            batches: vec![(b, left, 1.0)],
            area: 0.0,
            time: 0.0,
            timers: Vec::new(),
        }
    }
}

/// P(Poisson(x) = k) for k < len, the last entry holding the rest of the tail.
fn poisson_pmf(x: f64, len: usize) -> Vec<f64> {
    let mut pmf: Vec<f64> = poisson_terms(x).take(len).collect();
    let head: f64 = pmf[..len - 1].iter().sum();
    pmf[len - 1] = (1.0 - head).max(0.0);
    pmf
}

/// P(Poisson(x) = k) for k = 0, 1, …: by the recursion p(k) = p(k − 1)·x/k while e^{−x} is
/// representable, otherwise each from ln Γ.
pub(super) fn poisson_terms(x: f64) -> impl Iterator<Item = f64> {
    let direct = x >= 500.0;
    let mut p = (-x).exp();
    (0u32..).map(move |k| {
        if direct {
            (-x + k as f64 * x.ln() - ln_gamma(k as f64 + 1.0)).exp()
        } else {
            if k > 0 {
                p *= x / k as f64;
            }
            p
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol * b.abs(), "{a} vs {b}");
    }

    #[test]
    fn batches_of_one_are_md1() {
        // max 1: every request is served alone in s(1) = 10 ms, an M/D/1 queue whatever the
        // timer. Pollaczek–Khinchine: W = λs²/(2(1 − ρ)).
        for wait in [0.0, 0.005] {
            for rate in [20.0, 50.0, 90.0] {
                let b = Batcher {
                    arrival_rate: rate,
                    base_s: 0.004,
                    per_item_s: 0.006,
                    max: 1,
                    wait_s: wait,
                }
                .solve()
                .unwrap();
                let rho = rate * 0.010;
                close(b.mean_wait, rate * 1e-4 / (2.0 * (1.0 - rho)), 1e-9);
                close(b.busy, rho, 1e-9);
                close(b.mean_batch, 1.0, 1e-9);
            }
        }
    }

    #[test]
    fn a_lone_request_waits_out_the_timer() {
        // In light traffic a request finds the instance idle, waits the whole timer (no one
        // joins) and rides alone: sojourn → wait + s(1).
        let b = Batcher {
            arrival_rate: 0.01,
            base_s: 0.002,
            per_item_s: 0.0003,
            max: 32,
            wait_s: 0.004,
        }
        .solve()
        .unwrap();
        close(b.mean_sojourn, 0.004 + 0.0023, 1e-3);
        assert!(b.request_batch[0] > 0.999);
    }

    #[test]
    fn greedy_batches_grow_with_load_and_stay_stable_near_capacity() {
        // wait 0: dispatch whatever is queued. Capacity 32/s(32) = 32/11.6 ms ≈ 2759 rps.
        let solve = |rate: f64| {
            Batcher {
                arrival_rate: rate,
                base_s: 0.002,
                per_item_s: 0.0003,
                max: 32,
                wait_s: 0.0,
            }
            .solve()
            .unwrap()
        };
        let mut last = 0.0;
        for rate in [100.0, 500.0, 1000.0, 2000.0, 2600.0] {
            let b = solve(rate);
            assert!(b.mean_batch > last, "{rate}: {}", b.mean_batch);
            last = b.mean_batch;
            // Conservation: the busy fraction is batches per second × mean batch time, and
            // batches per second = λ / mean batch.
            let total: f64 = b.request_batch.iter().sum();
            close(total, 1.0, 1e-9);
            let per_batch: f64 = (1..=32)
                .map(|k| {
                    b.request_batch[k - 1] / k as f64 * b.mean_batch * (0.002 + 0.0003 * k as f64)
                })
                .sum();
            close(b.busy, rate / b.mean_batch * per_batch, 1e-9);
        }
        assert!(
            Batcher {
                arrival_rate: 2800.0,
                base_s: 0.002,
                per_item_s: 0.0003,
                max: 32,
                wait_s: 0.0,
            }
            .solve()
            .is_err()
        );
    }
}
