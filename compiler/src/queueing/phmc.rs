//! The GI/M/c station with phase-type inter-arrival times, solved exactly: renewal arrivals
//! whose gaps are a phase-type distribution, exponential service, `c` servers, one FIFO queue.
//!
//! This is the model QUEUEING.md §2 names for `round_robin`: replica i of r sees every r-th
//! arrival of a Poisson stream, whose gaps are Erlang-r, and GI/M/w is exact for it. Other
//! arrival streams are represented by a two-moment phase-type fit ([`PhaseType::fit`]), which
//! is exact only for the fitted renewal process.
//!
//! **Method.** The queue is a quasi-birth-death process on (customers n, arrival phase j).
//! Above c − 1 its rate matrix R solves A₀ + R·A₁ + R²·A₂ = 0 with A₀ = t·α (arrivals: rank
//! one), A₁ = T − cμI and A₂ = cμI. Because A₀ has rank one, R = t·ξ with
//! ξ = α(sI − T)⁻¹, s = cμ(1 − σ), where σ is the classical GI/M/c root of
//! σ = A*(cμ(1 − σ)) (A* the Laplace–Stieltjes transform of the gaps). So R has spectral
//! radius σ, and the boundary levels 0…c are solved by linear level reduction, each level a
//! rank-one update of a bidiagonal matrix (Sherman–Morrison): O(c·k) for k phases.
//!
//! **Results.** An arrival waits with probability P(wait) = Σ_{n≥c} π_n·t / Σ_n π_n·t, and a
//! waiting arrival waits an exponential time of rate cμ(1 − σ) (Kleinrock Vol. 1 §6.4), so the
//! wait is an atom at 0 plus an exponential: the shape the lattice adds in O(n).

use super::mmc::Unstable;

/// A phase-type distribution with an upper-bidiagonal sub-generator: phases `0..k`, start
/// probabilities `alpha`, phase j left at rate `rate[j]`, to phase j + 1 with probability
/// `next[j]`, else absorbed (the arrival happens).
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseType {
    alpha: Vec<f64>,
    rate: Vec<f64>,
    next: Vec<f64>,
}

impl PhaseType {
    /// Erlang-k with mean `mean`.
    pub fn erlang(k: usize, mean: f64) -> PhaseType {
        assert!(k >= 1 && mean > 0.0, "invalid Erlang parameters");
        let mut alpha = vec![0.0; k];
        alpha[0] = 1.0;
        let mut next = vec![1.0; k];
        next[k - 1] = 0.0;
        PhaseType {
            alpha,
            rate: vec![k as f64 / mean; k],
            next,
        }
    }

    /// The standard two-moment fit (Tijms, *A First Course in Stochastic Models*, §2.2):
    /// exponential at SCV 1; a mixture of Erlang-(k−1) and Erlang-k with one phase rate for
    /// SCV < 1 (k = ⌈1/SCV⌉); a two-phase hyperexponential with balanced means for SCV > 1.
    pub fn fit(mean: f64, scv: f64) -> PhaseType {
        assert!(mean > 0.0 && scv > 0.0, "invalid phase-type fit");
        if (scv - 1.0).abs() < 1e-12 {
            return PhaseType::erlang(1, mean);
        }
        if scv < 1.0 {
            let k = (1.0 / scv - 1e-9).ceil().max(2.0) as usize;
            let kf = k as f64;
            // With probability p the gap is Erlang-(k−1), else Erlang-k; p = 0 when 1/scv = k.
            let p = ((kf * scv - (kf * (1.0 + scv) - kf * kf * scv).max(0.0).sqrt()) / (1.0 + scv))
                .clamp(0.0, 1.0);
            let mut alpha = vec![0.0; k];
            alpha[0] = 1.0 - p;
            alpha[1] = p;
            let mut next = vec![1.0; k];
            next[k - 1] = 0.0;
            return PhaseType {
                alpha,
                rate: vec![(kf - p) / mean; k],
                next,
            };
        }
        let p1 = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
        PhaseType {
            alpha: vec![p1, 1.0 - p1],
            rate: vec![2.0 * p1 / mean, 2.0 * (1.0 - p1) / mean],
            next: vec![0.0, 0.0],
        }
    }

    pub fn phases(&self) -> usize {
        self.alpha.len()
    }

    /// The exit rates t = −T·1.
    fn exit(&self) -> Vec<f64> {
        self.rate
            .iter()
            .zip(&self.next)
            .map(|(r, q)| r * (1.0 - q))
            .collect()
    }

    pub fn mean(&self) -> f64 {
        self.moments().0
    }

    /// The squared coefficient of variation.
    pub fn scv(&self) -> f64 {
        let (m1, m2) = self.moments();
        m2 / (m1 * m1) - 1.0
    }

    /// E[X] and E[X²]: E[X] = α(−T)⁻¹1 and E[X²] = 2α(−T)⁻²1.
    fn moments(&self) -> (f64, f64) {
        let minus_t = Bidiagonal::shifted(self, 0.0);
        let m = minus_t.row_solve(&self.alpha);
        let m2 = minus_t.row_solve(&m);
        (m.iter().sum(), 2.0 * m2.iter().sum::<f64>())
    }

    /// The Laplace–Stieltjes transform A*(s) = α(sI − T)⁻¹t, for s ≥ 0.
    pub fn lst(&self, s: f64) -> f64 {
        dot(
            &Bidiagonal::shifted(self, s).row_solve(&self.alpha),
            &self.exit(),
        )
    }
}

/// An upper-bidiagonal matrix `diag` + `upper` (upper[j] at (j, j + 1)).
struct Bidiagonal {
    diag: Vec<f64>,
    upper: Vec<f64>,
}

impl Bidiagonal {
    /// sI − T for the phase-type's sub-generator T.
    fn shifted(ph: &PhaseType, s: f64) -> Bidiagonal {
        Bidiagonal {
            diag: ph.rate.iter().map(|r| s + r).collect(),
            upper: ph.rate.iter().zip(&ph.next).map(|(r, q)| -r * q).collect(),
        }
    }

    /// y with y·B = b (forward substitution).
    fn row_solve(&self, b: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; b.len()];
        for j in 0..b.len() {
            let carry = if j > 0 {
                y[j - 1] * self.upper[j - 1]
            } else {
                0.0
            };
            y[j] = (b[j] - carry) / self.diag[j];
        }
        y
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// A PH/M/c station in steady state. Times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhMc {
    pub servers: u32,
    pub arrival_rate: f64,
    pub mean_service: f64,
    /// The GI/M/c root σ.
    pub sigma: f64,
    p_wait: f64,
}

impl PhMc {
    pub fn new(gaps: &PhaseType, servers: u32, mean_service: f64) -> Result<PhMc, Unstable> {
        assert!(
            servers > 0 && mean_service > 0.0,
            "invalid PH/M/c parameters"
        );
        let arrival_rate = 1.0 / gaps.mean();
        let c = servers as f64;
        let mu = 1.0 / mean_service;
        let utilization = arrival_rate * mean_service / c;
        if utilization >= 1.0 {
            return Err(Unstable {
                utilization,
                servers_needed: (arrival_rate * mean_service).floor() as u32 + 1,
            });
        }
        let sigma = root(gaps, c * mu);
        let p_wait = arrival_wait_probability(gaps, servers, mu, sigma);
        Ok(PhMc {
            servers,
            arrival_rate,
            mean_service,
            sigma,
            p_wait,
        })
    }

    pub fn utilization(&self) -> f64 {
        self.arrival_rate * self.mean_service / self.servers as f64
    }

    /// The probability that an arrival waits.
    pub fn p_wait(&self) -> f64 {
        self.p_wait
    }

    /// The rate of the exponential wait of those who wait: cμ(1 − σ).
    pub fn wait_rate(&self) -> f64 {
        self.servers as f64 / self.mean_service * (1.0 - self.sigma)
    }

    pub fn mean_wait(&self) -> f64 {
        self.p_wait / self.wait_rate()
    }

    pub fn mean_sojourn(&self) -> f64 {
        self.mean_wait() + self.mean_service
    }
}

/// The root σ ∈ (0, 1) of σ = A*(cμ(1 − σ)), by bisection to machine precision. f(σ) =
/// A*(cμ(1 − σ)) − σ is positive at 0 and negative just below 1 when ρ < 1.
fn root(gaps: &PhaseType, c_mu: f64) -> f64 {
    let f = |x: f64| gaps.lst(c_mu * (1.0 - x)) - x;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // The trivial root at 1 must be excluded: step down until f < 0.
    let mut step = 1e-3;
    while f(1.0 - step) >= 0.0 && step > 1e-15 {
        step /= 10.0;
    }
    if step > 1e-15 {
        hi = 1.0 - step;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(an arrival waits), from the stationary distribution of the QBD (see the module docs).
///
/// Level reduction from the top: π_n = (π_{n−1}·t)·w_n with w_n(T − nμI + (n+1)μ·t·w_{n+1}) =
/// −α. Flow balance across the cut between levels n and n + 1 makes ω = (n+1)μ·w_{n+1} a
/// probability vector, so the matrix is dI − Q with Q = T + t·ω a generator and d = nμ
/// (cμ·ξ plays ω's part at the top). Solving it with every term non-negative (see [`solve`])
/// avoids the cancellation between the arrival rate and its return flow, which otherwise grows
/// as (λ/μ)ⁿ down the levels.
fn arrival_wait_probability(gaps: &PhaseType, servers: u32, mu: f64, sigma: f64) -> f64 {
    let c = servers as usize;
    let t = gaps.exit();
    let cf = servers as f64;
    let xi = Bidiagonal::shifted(gaps, cf * mu * (1.0 - sigma)).row_solve(&gaps.alpha);
    let mut w: Vec<Vec<f64>> = vec![Vec::new(); c + 1];
    w[c] = solve(gaps, &t, cf * mu, &xi);
    for n in (1..c).rev() {
        w[n] = solve(gaps, &t, n as f64 * mu, &w[n + 1]);
    }
    // Level 0: π_0·T + μ·π_1 = 0 with π_1 = (π_0·t)·w_1, so π_0 ∝ w_1·(−T)⁻¹.
    let mut pi = Bidiagonal::shifted(gaps, 0.0).row_solve(&w[1]);
    // Accumulate the arrival rates π_n·t, rescaling to keep the numbers finite.
    let mut arrivals_below = dot(&pi, &t);
    for wn in w.iter().take(c).skip(1) {
        let a = dot(&pi, &t);
        pi = wn.iter().map(|x| a * x).collect();
        arrivals_below += dot(&pi, &t);
        let scale = arrivals_below;
        if !(1e-100..=1e100).contains(&scale) {
            pi.iter_mut().for_each(|x| *x /= scale);
            arrivals_below /= scale;
        }
    }
    let a = dot(&pi, &t);
    let pi_c: Vec<f64> = w[c].iter().map(|x| a * x).collect();
    // Levels c, c+1, …: π_c·(I − R)⁻¹ with R = t·ξ, whose spectral radius ξ·t is σ.
    let arrivals_waiting = dot(&pi_c, &t) / (1.0 - sigma);
    arrivals_waiting / (arrivals_below + arrivals_waiting)
}

/// x with x·(dI − T − t·ω) = α, ω the direction of `returns` (normalised to a probability
/// vector). By Sherman–Morrison with y = α(dI − T)⁻¹ and z = ω(dI − T)⁻¹,
/// x = y + (y·t)·z / (1 − z·t), and 1 − z·t = d·(z·1) because T·1 = −t: every term is
/// non-negative, so nothing cancels.
fn solve(gaps: &PhaseType, t: &[f64], d: f64, returns: &[f64]) -> Vec<f64> {
    let total: f64 = returns.iter().sum();
    let omega: Vec<f64> = returns.iter().map(|x| x / total).collect();
    let b = Bidiagonal::shifted(gaps, d);
    let y = b.row_solve(&gaps.alpha);
    let z = b.row_solve(&omega);
    let factor = dot(&y, t) / (d * z.iter().sum::<f64>());
    y.iter().zip(&z).map(|(y, z)| y + factor * z).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::mmc::MMc;

    fn close(a: f64, b: f64, tol: f64) {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1e-300),
            "{a} vs {b} (rel {})",
            (a - b).abs() / b.abs()
        );
    }

    #[test]
    fn fits_reproduce_mean_and_scv() {
        for &scv in &[0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.99, 1.0, 1.5, 4.0, 25.0] {
            let ph = PhaseType::fit(0.02, scv);
            close(ph.mean(), 0.02, 1e-12);
            close(ph.scv(), scv, 1e-9);
            close(ph.lst(0.0), 1.0, 1e-12);
        }
        let e = PhaseType::erlang(4, 2.0);
        close(e.scv(), 0.25, 1e-12);
        // Erlang-4 of mean 2: A*(s) = (2/(2 + s))⁴.
        close(e.lst(1.0), (2.0f64 / 3.0).powi(4), 1e-14);
    }

    #[test]
    fn poisson_arrivals_give_erlang_c() {
        // Up to 200 servers (a Tomcat pool): the level reduction must not lose precision when
        // the offered load is large.
        for &c in &[1u32, 2, 3, 8, 16, 64, 200] {
            for &rho in &[0.3, 0.7, 0.85, 0.95, 0.99] {
                let s = 0.01;
                let lambda = rho * c as f64 / s;
                let ph = PhMc::new(&PhaseType::erlang(1, 1.0 / lambda), c, s).unwrap();
                let m = MMc::new(c, lambda, 1.0 / s).unwrap();
                close(ph.sigma, rho, 1e-12);
                close(ph.p_wait(), m.p_wait(), 1e-10);
                close(ph.mean_wait(), m.mean_wait(), 1e-10);
            }
        }
    }

    #[test]
    fn one_server_waits_with_probability_sigma() {
        // E₂/M/1, gaps Erlang-2 with phase rate λ = 1 (mean 2), μ = 1.25: ρ = 0.4.
        let lambda = 1.0;
        let mu = 1.0 / 0.8;
        let ph = PhMc::new(&PhaseType::erlang(2, 2.0 / lambda), 1, 1.0 / mu).unwrap();
        let sigma = ph.sigma;
        close(
            sigma,
            (lambda / (lambda + mu * (1.0 - sigma))).powi(2),
            1e-12,
        );
        close(ph.p_wait(), sigma, 1e-10);
        // With x = 1 − σ, (1 − x)(λ + μx)² = λ² factors as x·(μ²x² − (μ² − 2λμ)x − (2λμ − λ²))
        // = 0, whose positive root is x = (μ² − 2λμ + √(μ³(μ + 4λ)))/(2μ²).
        let x = (mu * mu - 2.0 * lambda * mu + (mu.powi(3) * (mu + 4.0 * lambda)).sqrt())
            / (2.0 * mu * mu);
        close(sigma, 1.0 - x, 1e-12);
        close(sigma, 0.275_304_923_404, 1e-11);
    }

    /// The generator of the (n, phase) chain truncated at `levels`, solved densely: an
    /// independent check of the level reduction.
    fn brute_force_p_wait(gaps: &PhaseType, c: usize, mu: f64, levels: usize) -> f64 {
        let k = gaps.phases();
        let t = gaps.exit();
        let size = levels * k;
        let index = |n: usize, j: usize| n * k + j;
        let mut q = vec![vec![0.0f64; size]; size];
        for n in 0..levels {
            for j in 0..k {
                let from = index(n, j);
                if j + 1 < k {
                    q[from][index(n, j + 1)] += gaps.rate[j] * gaps.next[j];
                }
                if n + 1 < levels {
                    for (i, a) in gaps.alpha.iter().enumerate() {
                        q[from][index(n + 1, i)] += t[j] * a;
                    }
                }
                if n > 0 {
                    q[from][index(n - 1, j)] += n.min(c) as f64 * mu;
                }
            }
        }
        for (i, row) in q.iter_mut().enumerate() {
            let out: f64 = row.iter().sum();
            row[i] -= out;
        }
        // Solve π·Q = 0, Σπ = 1: transpose, replace the last equation by the normalisation.
        let mut m: Vec<Vec<f64>> = (0..size)
            .map(|i| (0..size).map(|j| q[j][i]).collect())
            .collect();
        let mut rhs = vec![0.0; size];
        m[size - 1] = vec![1.0; size];
        rhs[size - 1] = 1.0;
        for col in 0..size {
            let pivot = (col..size)
                .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
                .unwrap();
            m.swap(col, pivot);
            rhs.swap(col, pivot);
            for row in col + 1..size {
                let f = m[row][col] / m[col][col];
                if f != 0.0 {
                    let (top, bottom) = m.split_at_mut(row);
                    for (a, b) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                        *a -= f * b;
                    }
                    rhs[row] -= f * rhs[col];
                }
            }
        }
        let mut pi = vec![0.0; size];
        for row in (0..size).rev() {
            let s: f64 = (row + 1..size).map(|x| m[row][x] * pi[x]).sum();
            pi[row] = (rhs[row] - s) / m[row][row];
        }
        let rate = |n: usize| (0..k).map(|j| pi[index(n, j)] * t[j]).sum::<f64>();
        let all: f64 = (0..levels).map(rate).sum();
        (c..levels).map(rate).sum::<f64>() / all
    }

    #[test]
    fn level_reduction_matches_the_truncated_chain() {
        // Erlang-3 (round robin over 3 replicas), a mixed-Erlang fit and a hyperexponential,
        // each into 1, 2 and 5 servers at ρ = 0.75.
        for gaps in [
            PhaseType::erlang(3, 1.0),
            PhaseType::fit(1.0, 0.4),
            PhaseType::fit(1.0, 3.0),
        ] {
            for c in [1usize, 2, 5, 12] {
                let mean_service = 0.75 * c as f64;
                let exact = PhMc::new(&gaps, c as u32, mean_service).unwrap();
                let brute = brute_force_p_wait(&gaps, c, 1.0 / mean_service, 160);
                close(exact.p_wait(), brute, 1e-8);
            }
        }
    }
}
