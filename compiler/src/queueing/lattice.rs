//! Latency distributions on a lattice: P(T = i·h) for i = 0..n, the last point holding all
//! the mass beyond the grid. Sums of independent times are convolutions (by FFT), the slowest
//! of independent branches is the product of their CDFs, and a choice between paths is a
//! mixture; all three are exact for lattice variables, so the only error is the
//! discretisation of each station's continuous distribution (mass within ±h/2 of i·h goes to
//! i·h) and the mass beyond the grid, which [`Lattice::overflow`] reports.

use rustfft::FftPlanner;
use std::cell::RefCell;

thread_local! {
    static PLANNER: RefCell<FftPlanner<f64>> = RefCell::new(FftPlanner::new());
}
use rustfft::num_complex::Complex;

#[derive(Clone, Debug, PartialEq)]
pub struct Lattice {
    /// Spacing in seconds.
    pub step: f64,
    pub pmf: Vec<f64>,
}

impl Lattice {
    /// Zero with certainty.
    pub fn zero(step: f64, points: usize) -> Lattice {
        let mut pmf = vec![0.0; points];
        pmf[0] = 1.0;
        Lattice { step, pmf }
    }

    /// A continuous (or atomic) distribution given by its CDF, discretised by rounding.
    pub fn from_cdf(step: f64, points: usize, cdf: impl Fn(f64) -> f64) -> Lattice {
        let mut pmf = vec![0.0; points];
        let mut below = 0.0;
        for (i, mass) in pmf.iter_mut().enumerate() {
            // Once the CDF is 1 to within rounding the rest is zero: most of a grid sized for a
            // whole request lies past one station's tail, and CDFs are costly to evaluate.
            let upper = if i + 1 == points || below >= 1.0 - 1e-16 {
                1.0
            } else {
                cdf((i as f64 + 0.5) * step)
            };
            *mass = (upper - below).max(0.0);
            below = upper.max(below);
            if below >= 1.0 {
                break;
            }
        }
        Lattice { step, pmf }
    }

    pub fn points(&self) -> usize {
        self.pmf.len()
    }

    /// Mass on the last point: the part of the distribution beyond the grid.
    pub fn overflow(&self) -> f64 {
        *self.pmf.last().expect("a lattice has points")
    }

    pub fn mean(&self) -> f64 {
        self.pmf
            .iter()
            .enumerate()
            .map(|(i, p)| i as f64 * p)
            .sum::<f64>()
            * self.step
    }

    pub fn cdf_at(&self, i: usize) -> f64 {
        self.pmf[..=i.min(self.points() - 1)].iter().sum()
    }

    /// The `p`-quantile, interpolating linearly between lattice points.
    pub fn quantile(&self, p: f64) -> f64 {
        let mut below = 0.0;
        for (i, &mass) in self.pmf.iter().enumerate() {
            let upto = below + mass;
            if upto >= p {
                if i == 0 || mass == 0.0 {
                    return i as f64 * self.step;
                }
                // Spread the point's mass over the half-cells around it.
                let within = (p - below) / mass;
                return (i as f64 - 0.5 + within) * self.step;
            }
            below = upto;
        }
        (self.points() - 1) as f64 * self.step
    }

    /// The distribution of the sum of two independent times.
    pub fn convolve(&self, other: &Lattice) -> Lattice {
        assert_eq!(self.points(), other.points(), "lattices must share a grid");
        let n = self.points();
        let size = (2 * n).next_power_of_two();
        // Plans are costly to make and depend only on the size: one planner per thread keeps them.
        let (forward, inverse) = PLANNER.with(|p| {
            let mut p = p.borrow_mut();
            (p.plan_fft_forward(size), p.plan_fft_inverse(size))
        });
        let to_complex = |pmf: &[f64]| {
            let mut v: Vec<Complex<f64>> = pmf.iter().map(|&p| Complex::new(p, 0.0)).collect();
            v.resize(size, Complex::new(0.0, 0.0));
            v
        };
        let (mut a, mut b) = (to_complex(&self.pmf), to_complex(&other.pmf));
        forward.process(&mut a);
        forward.process(&mut b);
        for (x, y) in a.iter_mut().zip(&b) {
            *x *= y;
        }
        inverse.process(&mut a);
        let scale = 1.0 / size as f64;
        let mut pmf: Vec<f64> = a[..n].iter().map(|c| (c.re * scale).max(0.0)).collect();
        // Everything past the grid (including the FFT's rounding dust) lands on the last point.
        let kept: f64 = pmf[..n - 1].iter().sum();
        pmf[n - 1] = (1.0 - kept).max(0.0);
        Lattice {
            step: self.step,
            pmf,
        }
    }

    /// Adds an independent wait that is 0 with probability 1 − `p` and otherwise exponential
    /// with mean `mean`, discretised like [`Lattice::from_cdf`]. The wait's points past 0 are
    /// geometric (c·rⁱ), so the convolution is a first-order recursion: O(n), not an FFT.
    pub fn add_exponential_wait(&self, p: f64, mean: f64) -> Lattice {
        let n = self.points();
        let h = self.step;
        let r = (-h / mean).exp();
        let at_zero = 1.0 - p * (-h / (2.0 * mean)).exp();
        let c = p * (h / (2.0 * mean)).exp() * (1.0 - r);
        let mut pmf = Vec::with_capacity(n);
        // tail[i] = Σ_{k≥1} rᵏ·x[i−k]
        let mut tail = 0.0;
        let mut previous = 0.0;
        for i in 0..n {
            tail = r * (previous + tail);
            previous = self.pmf[i];
            pmf.push(at_zero * self.pmf[i] + c * tail);
        }
        let kept: f64 = pmf[..n - 1].iter().sum();
        pmf[n - 1] = (1.0 - kept).max(0.0);
        Lattice { step: h, pmf }
    }

    /// The distribution of the larger of two independent times: the product of the CDFs.
    pub fn max(&self, other: &Lattice) -> Lattice {
        assert_eq!(self.points(), other.points(), "lattices must share a grid");
        let (a, b) = (self.cdf(), other.cdf());
        self.with_cdf(|i| a[i] * b[i])
    }

    /// The largest of `k` independent copies: CDF^k.
    pub fn max_of(&self, k: u32) -> Lattice {
        let a = self.cdf();
        self.with_cdf(|i| a[i].powi(k as i32))
    }

    /// `self` with probability `p`, `other` otherwise.
    pub fn mix(&self, p: f64, other: &Lattice) -> Lattice {
        Lattice {
            step: self.step,
            pmf: self
                .pmf
                .iter()
                .zip(&other.pmf)
                .map(|(a, b)| p * a + (1.0 - p) * b)
                .collect(),
        }
    }

    /// P(T ≤ i·h) for every point.
    fn cdf(&self) -> Vec<f64> {
        let mut total = 0.0;
        self.pmf
            .iter()
            .map(|p| {
                total += p;
                total.min(1.0)
            })
            .collect()
    }

    fn with_cdf(&self, cdf: impl Fn(usize) -> f64) -> Lattice {
        let n = self.points();
        let mut pmf = Vec::with_capacity(n);
        let mut below = 0.0;
        for i in 0..n {
            let upto = if i + 1 == n { 1.0 } else { cdf(i) };
            pmf.push((upto - below).max(0.0));
            below = upto.max(below);
        }
        Lattice {
            step: self.step,
            pmf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(rate: f64, step: f64, n: usize) -> Lattice {
        Lattice::from_cdf(step, n, |t| {
            if t <= 0.0 {
                0.0
            } else {
                1.0 - (-rate * t).exp()
            }
        })
    }

    #[test]
    fn sum_of_two_exponentials_is_hypoexponential() {
        let (a, b) = (100.0, 250.0);
        let (step, n) = (4e-5, 8192);
        let s = exp(a, step, n).convolve(&exp(b, step, n));
        assert!(s.overflow() < 1e-12);
        let mean = 1.0 / a + 1.0 / b;
        // Rounding to the grid moves the mean by O(h²): 2e-6 here.
        assert!(
            ((s.mean() - mean) / mean).abs() < 1e-5,
            "{} vs {mean}",
            s.mean()
        );
        // P(T > t) = (b e^{-at} − a e^{-bt}) / (b − a); its 0.99 point by bisection:
        let tail = |t: f64| (b * (-a * t).exp() - a * (-b * t).exp()) / (b - a);
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..100 {
            let m = 0.5 * (lo + hi);
            if tail(m) > 0.01 { lo = m } else { hi = m }
        }
        let p99 = s.quantile(0.99);
        assert!(((p99 - lo) / lo).abs() < 1e-3, "{p99} vs {lo}");
    }

    #[test]
    fn max_is_the_product_of_cdfs() {
        let (step, n) = (1e-5, 8192);
        let e = exp(100.0, step, n);
        let m2 = e.max(&e);
        // E[max of two Exp(λ)] = 1.5/λ
        assert!((m2.mean() - 0.015).abs() < 2e-5, "{}", m2.mean());
        assert_eq!(m2, e.max_of(2));
    }

    #[test]
    fn the_wait_recursion_equals_the_fft_convolution() {
        let (step, n) = (1e-4, 1024);
        let own = exp(300.0, step, n);
        let (p, mean) = (0.4, 0.006);
        let wait = Lattice::from_cdf(step, n, |t| {
            if t < 0.0 {
                0.0
            } else {
                1.0 - p * (-t / mean).exp()
            }
        });
        let fft = own.convolve(&wait);
        let fast = own.add_exponential_wait(p, mean);
        for (a, b) in fft.pmf.iter().zip(&fast.pmf) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn mass_is_conserved() {
        let (step, n) = (1e-4, 1024);
        let e = exp(50.0, step, n);
        for l in [
            e.convolve(&e),
            e.max(&e),
            e.mix(0.3, &Lattice::zero(step, n)),
        ] {
            assert!((l.pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
