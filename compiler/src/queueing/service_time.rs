//! Service-time distributions: the moments, tail and quantiles of every `time` form of the
//! language, in seconds. statrs provides the lognormal, gamma and normal functions.

use super::lattice::Compact;
use crate::model::ServiceTime;
use statrs::distribution::{Continuous, ContinuousCDF, Gamma, LogNormal, Normal};
use statrs::function::gamma::ln_gamma;
use std::cell::RefCell;
use std::sync::LazyLock;

/// A service-time distribution ready for queueing formulas.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Exp {
        mean: f64,
    },
    Const {
        value: f64,
    },
    /// `ln T ~ Normal(location, scale²)`.
    LogNormal {
        location: f64,
        scale: f64,
    },
    Gamma {
        shape: f64,
        rate: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    /// Samples sorted ascending; quantiles interpolate between them (R's type 7).
    Empirical {
        sorted: Vec<f64>,
    },
}

impl Dist {
    /// The distribution of a `time` statement. `None` for a batch time, whose distribution
    /// depends on the batch size: see [`Dist::batch`].
    pub fn from_model(t: &ServiceTime) -> Option<Dist> {
        Some(match t {
            ServiceTime::Exp { mean_s } => Dist::Exp { mean: *mean_s },
            ServiceTime::Const { value_s } => Dist::Const { value: *value_s },
            ServiceTime::Lognormal { mean_s, cv } => {
                // E[T] = e^{m + s²/2}, cv² = e^{s²} − 1
                let scale2 = (1.0 + cv * cv).ln();
                Dist::LogNormal {
                    location: mean_s.ln() - scale2 / 2.0,
                    scale: scale2.sqrt(),
                }
            }
            ServiceTime::Gamma { mean_s, cv } => {
                let shape = 1.0 / (cv * cv);
                Dist::Gamma {
                    shape,
                    rate: shape / mean_s,
                }
            }
            ServiceTime::Uniform { low_s, high_s } => Dist::Uniform {
                low: *low_s,
                high: *high_s,
            },
            ServiceTime::Fitted {
                p_low,
                low_s,
                p_high,
                high_s,
            } => {
                // The lognormal through both percentiles: ln t = m + s·z(p).
                let (z_low, z_high) = (
                    standard_normal_quantile(*p_low),
                    standard_normal_quantile(*p_high),
                );
                let scale = (high_s.ln() - low_s.ln()) / (z_high - z_low);
                Dist::LogNormal {
                    location: low_s.ln() - scale * z_low,
                    scale,
                }
            }
            ServiceTime::Empirical { samples_s, .. } => {
                let mut sorted = samples_s.clone();
                sorted.sort_by(f64::total_cmp);
                Dist::Empirical { sorted }
            }
            ServiceTime::Batch { .. } => return None,
        })
    }

    /// The time of one batch of `n` requests: deterministic, `base + per_item·n`.
    pub fn batch(base_s: f64, per_item_s: f64, n: u32) -> Dist {
        Dist::Const {
            value: base_s + per_item_s * n as f64,
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Dist::Exp { mean } => *mean,
            Dist::Const { value } => *value,
            Dist::LogNormal { location, scale } => (location + scale * scale / 2.0).exp(),
            Dist::Gamma { shape, rate } => shape / rate,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Empirical { sorted } => sorted.iter().sum::<f64>() / sorted.len() as f64,
        }
    }

    /// Squared coefficient of variation, Var[T] / E[T]².
    pub fn scv(&self) -> f64 {
        match self {
            Dist::Exp { .. } => 1.0,
            Dist::Const { .. } => 0.0,
            Dist::LogNormal { scale, .. } => (scale * scale).exp_m1(),
            Dist::Gamma { shape, .. } => 1.0 / shape,
            Dist::Uniform { low, high } => {
                let mean = (low + high) / 2.0;
                (high - low).powi(2) / 12.0 / (mean * mean)
            }
            Dist::Empirical { sorted } => {
                let n = sorted.len() as f64;
                let mean = sorted.iter().sum::<f64>() / n;
                let var = sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
                var / (mean * mean)
            }
        }
    }

    /// P(T ≤ t).
    pub fn cdf(&self, t: f64) -> f64 {
        match self {
            Dist::Exp { mean } => {
                if t <= 0.0 {
                    0.0
                } else {
                    -(-t / mean).exp_m1()
                }
            }
            Dist::Const { value } => f64::from(t >= *value),
            Dist::LogNormal { location, scale } => lognormal(*location, *scale).cdf(t),
            Dist::Gamma { shape, rate } => gamma(*shape, *rate).cdf(t),
            Dist::Uniform { low, high } => ((t - low) / (high - low)).clamp(0.0, 1.0),
            Dist::Empirical { sorted } => {
                sorted.partition_point(|&x| x <= t) as f64 / sorted.len() as f64
            }
        }
    }

    /// E[min(T, x)] = ∫₀ˣ P(T > u) du: divided by E[T], the CDF of the residual (equilibrium)
    /// time, whose sums make the M/G/1 wait ([`super::mg1`]).
    pub fn limited_mean(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match self {
            Dist::Exp { mean } => -mean * (-x / mean).exp_m1(),
            Dist::Const { value } => value.min(x),
            // x·P(T > x) + E[T; T ≤ x], the second by the size-biased law: for the lognormal a
            // lognormal with location + scale², for the gamma a gamma of shape + 1.
            Dist::LogNormal { location, scale } => {
                let upper = 1.0 - lognormal(*location, *scale).cdf(x);
                let biased = lognormal(location + scale * scale, *scale).cdf(x);
                x * upper + self.mean() * biased
            }
            Dist::Gamma { shape, rate } => {
                let upper = 1.0 - gamma(*shape, *rate).cdf(x);
                x * upper + self.mean() * gamma(shape + 1.0, *rate).cdf(x)
            }
            Dist::Uniform { low, high } => {
                if x <= *low {
                    x
                } else if x >= *high {
                    self.mean()
                } else {
                    x - (x - low).powi(2) / (2.0 * (high - low))
                }
            }
            Dist::Empirical { sorted } => {
                let below = sorted.partition_point(|&s| s <= x);
                let n = sorted.len() as f64;
                (sorted[..below].iter().sum::<f64>() + (sorted.len() - below) as f64 * x) / n
            }
        }
    }

    /// The `p`-quantile, for 0 < p < 1.
    pub fn quantile(&self, p: f64) -> f64 {
        assert!(p > 0.0 && p < 1.0, "quantile needs 0 < p < 1, got {p}");
        match self {
            Dist::Exp { mean } => -mean * (-p).ln_1p(),
            Dist::Const { value } => *value,
            Dist::LogNormal { location, scale } => {
                (location + scale * standard_normal_quantile(p)).exp()
            }
            Dist::Gamma { shape, rate } => {
                // statrs's own inverse is off for shapes far from 1 (its cdf misses p by 2e-4
                // at shape 100 and by 9x at shape 0.19); bisecting its cdf, on a log scale
                // since small shapes put quantiles near 0, reaches machine precision.
                let g = gamma(*shape, *rate);
                let (mut lo, mut hi) = (shape / rate, shape / rate);
                while g.cdf(lo) > p && lo > f64::MIN_POSITIVE {
                    lo /= 16.0;
                }
                while g.cdf(hi) < p {
                    hi *= 16.0;
                }
                for _ in 0..200 {
                    let mid = (lo * hi).sqrt();
                    if mid <= lo || mid >= hi {
                        break;
                    }
                    if g.cdf(mid) < p {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                (lo * hi).sqrt()
            }
            Dist::Uniform { low, high } => low + p * (high - low),
            Dist::Empirical { sorted } => {
                let h = (sorted.len() - 1) as f64 * p;
                let (i, frac) = (h.floor() as usize, h.fract());
                match sorted.get(i + 1) {
                    Some(next) => sorted[i] + frac * (next - sorted[i]),
                    None => sorted[i],
                }
            }
        }
    }

    /// The density at `t`, where it has one (not for constant or empirical times).
    pub fn pdf(&self, t: f64) -> Option<f64> {
        Some(match self {
            Dist::Exp { mean } => {
                if t < 0.0 {
                    0.0
                } else {
                    (-t / mean).exp() / mean
                }
            }
            Dist::LogNormal { location, scale } => lognormal(*location, *scale).pdf(t),
            Dist::Gamma { shape, rate } => gamma_pdf(*shape, *rate, t),
            Dist::Uniform { low, high } => {
                if t < *low || t > *high {
                    0.0
                } else {
                    1.0 / (high - low)
                }
            }
            Dist::Const { .. } | Dist::Empirical { .. } => return None,
        })
    }
}

impl Dist {
    /// The distribution rounded to a lattice of `points` points `step` apart, as
    /// [`Compact::from_cdf`] does. Lognormal (and fitted) times read the normal CDF from
    /// [`normal_cdf`] at ln((i + ½)·h) = ln(i + ½) + ln h, with ln(i + ½) from a table, and
    /// start at 9 standard deviations below the mean, where the CDF is 1e-19.
    pub fn discretise(&self, step: f64, points: usize) -> Compact {
        match self {
            Dist::LogNormal { location, scale } => {
                let inv = 1.0 / scale;
                let shift = (step.ln() - location) * inv;
                let table: &[[f64; TERMS]; ANCHORS] = &NORMAL_TAYLOR;
                with_log_halves(points, |logs| {
                    let first = logs.partition_point(|&l| l * inv + shift < -NORMAL_RANGE);
                    Compact::from_boundary_cdf(step, points, first, move |i| {
                        normal_cdf_from(table, logs[i] * inv + shift)
                    })
                })
            }
            d => Compact::from_cdf(step, points, |t| d.cdf(t)),
        }
    }
}

/// |z| beyond which [`normal_cdf`] is taken as Φ(±9): 1.13e-19 from 0 or 1.
const NORMAL_RANGE: f64 = 9.0;
/// Anchors of the Taylor table per unit of z.
const ANCHORS_PER_UNIT: f64 = 64.0;
/// The anchors: k/64 for |k| ≤ 576.
const ANCHORS: usize = 1153;
/// Taylor coefficients per anchor: Φ(z₀), then Φ⁽ᵐ⁾(z₀)/m! for m = 1..=6.
const TERMS: usize = 7;

/// Φ(z) = P(Z ≤ z) for a standard normal Z, within 2.5e-16 of the exact value (checked
/// against 40-digit mpmath): a degree-6 Taylor polynomial about the nearest of the anchors
/// k/64, |k| ≤ 576, whose coefficients Φ⁽ᵐ⁾(z₀)/m! = (−1)ᵐ⁻¹·Heₘ₋₁(z₀)·φ(z₀)/m! are made once
/// from [`normal_cdf_exact`] and the Hermite recurrence. The remainder is below
/// (1/128)⁷/7!·max|He₆·φ| = 2.1e-18; beyond |z| = 9 the value at ±9 is used, off by at most
/// Φ(−9) = 1.1e-19. No transcendental function and no branch per call: a fraction of the cost
/// of an `erfc`, which matters when a lognormal is discretised on thousands of points.
#[inline]
pub fn normal_cdf(z: f64) -> f64 {
    normal_cdf_from(&NORMAL_TAYLOR, z)
}

#[inline(always)]
fn normal_cdf_from(table: &[[f64; TERMS]; ANCHORS], z: f64) -> f64 {
    let z = z.clamp(-NORMAL_RANGE, NORMAL_RANGE);
    // The nearest anchor: adding 1.5·2⁵² rounds to an integer, left in the low bits.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let offset = NORMAL_RANGE * ANCHORS_PER_UNIT;
    let rounded = z * ANCHORS_PER_UNIT + (offset + ROUND);
    let k = (rounded.to_bits() as u32 as usize).min(ANCHORS - 1);
    let d = z - (rounded - (offset + ROUND)) / ANCHORS_PER_UNIT;
    let c = &table[k];
    // Φ(z₀) + d·q(d), the small increment added to Φ(z₀) last.
    let q = c[1] + d * (c[2] + d * (c[3] + d * (c[4] + d * (c[5] + d * c[6]))));
    c[0] + d * q
}

static NORMAL_TAYLOR: LazyLock<Box<[[f64; TERMS]; ANCHORS]>> = LazyLock::new(|| {
    let mut table = Box::new([[0.0; TERMS]; ANCHORS]);
    for (k, c) in table.iter_mut().enumerate() {
        let z = (k as f64 - NORMAL_RANGE * ANCHORS_PER_UNIT) / ANCHORS_PER_UNIT;
        let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        c[0] = normal_cdf_exact(z);
        // Heₘ₋₁(z) by He₀ = 1, He₁ = z, Heₙ₊₁ = z·Heₙ − n·Heₙ₋₁.
        let (mut he, mut previous) = (1.0, 0.0);
        let mut factorial = 1.0;
        for (m, coefficient) in c.iter_mut().enumerate().skip(1) {
            factorial *= m as f64;
            let sign = if m % 2 == 1 { 1.0 } else { -1.0 };
            *coefficient = sign * he * density / factorial;
            let next = z * he - (m - 1) as f64 * previous;
            previous = he;
            he = next;
        }
    }
    table
});

/// Φ(z) to within 1.5e-16 (7e-16 relative), slowly: for |z| ≤ 1 the series
/// Φ(z) = ½ + φ(z)·Σ z²ⁿ⁺¹/(1·3·…·(2n + 1)), whose terms share one sign; beyond, Laplace's
/// continued fraction 1 − Φ(x) = φ(x)/(x + 1/(x + 2/(x + 3/(x + …)))), deep enough for
/// x ≥ 1 (checked against mpmath on every anchor of the table). statrs's `erfc` is not used:
/// its interval constants carry 10 digits, which costs up to ~1e-10 relative (statrs PR 412).
fn normal_cdf_exact(z: f64) -> f64 {
    let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let x = z.abs();
    if x <= 1.0 {
        let (mut term, mut sum) = (z, z);
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= z * z / (2.0 * n + 1.0);
            sum += term;
        }
        return 0.5 + density * sum;
    }
    let depth = (300.0 / (x * x)).ceil() as u32 + 40;
    let mut fraction = x;
    for k in (1..=depth).rev() {
        fraction = x + k as f64 / fraction;
    }
    let upper = density / fraction;
    if z < 0.0 { upper } else { 1.0 - upper }
}

thread_local! {
    /// ln(i + ½) for i = 0, 1, …, as far as any grid has needed.
    static LOG_HALVES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

fn with_log_halves<R>(points: usize, f: impl FnOnce(&[f64]) -> R) -> R {
    LOG_HALVES.with(|logs| {
        let mut logs = logs.borrow_mut();
        let have = logs.len();
        if have < points {
            logs.extend((have..points).map(|i| (i as f64 + 0.5).ln()));
        }
        f(&logs[..points])
    })
}

/// The gamma density through logarithms: statrs's overflows to NaN for large shapes.
fn gamma_pdf(shape: f64, rate: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    (shape * rate.ln() + (shape - 1.0) * t.ln() - rate * t - ln_gamma(shape)).exp()
}

fn standard_normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

// The parameters were validated by the checker, so construction cannot fail.
fn lognormal(location: f64, scale: f64) -> LogNormal {
    LogNormal::new(location, scale).expect("checked lognormal parameters")
}

fn gamma(shape: f64, rate: f64) -> Gamma {
    Gamma::new(shape, rate).expect("checked gamma parameters")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E[min(T, x)] = ∫₀ˣ P(T > u) du, against Simpson's rule on the CDF (200,000 intervals),
    /// and E[min(T, ∞)] = E[T].
    #[test]
    fn limited_means_integrate_the_tail() {
        let dists = [
            Dist::Exp { mean: 0.01 },
            Dist::LogNormal {
                location: (0.01f64).ln() - 0.5 * 2f64.ln(),
                scale: 2f64.ln().sqrt(),
            },
            Dist::Gamma {
                shape: 4.0,
                rate: 400.0,
            },
            Dist::Gamma {
                shape: 0.5,
                rate: 50.0,
            },
            Dist::Uniform {
                low: 0.005,
                high: 0.015,
            },
        ];
        for d in &dists {
            for x in [0.002, 0.007, 0.01, 0.02, 0.05] {
                let n = 200_000;
                let h = x / n as f64;
                let tail = |u: f64| 1.0 - d.cdf(u);
                let simpson: f64 = (0..=n)
                    .map(|i| {
                        let w = if i == 0 || i == n {
                            1.0
                        } else if i % 2 == 1 {
                            4.0
                        } else {
                            2.0
                        };
                        w * tail(i as f64 * h)
                    })
                    .sum::<f64>()
                    * h
                    / 3.0;
                let exact = d.limited_mean(x);
                assert!(
                    (exact - simpson).abs() < 1e-9,
                    "{d:?} x={x}: {exact} vs {simpson}"
                );
            }
            assert!((d.limited_mean(1e3) - d.mean()).abs() < 1e-12 * d.mean().max(1.0));
        }
        assert_eq!(Dist::Const { value: 0.01 }.limited_mean(0.004), 0.004);
        let e = Dist::Empirical {
            sorted: vec![0.001, 0.002, 0.010],
        };
        assert!((e.limited_mean(0.005) - (0.001 + 0.002 + 0.005) / 3.0).abs() < 1e-15);
    }

    /// Φ against 40-digit mpmath (`mp.ncdf`, rounded to the nearest double): within a quarter
    /// of a unit in the 16th decimal place, in both tails and in the middle.
    #[test]
    fn normal_cdf_matches_high_precision_values() {
        let reference = [
            (-8.75, 1.0667637375474858e-18),
            (-6.2, 2.8231580370432744e-10),
            (-3.3, 0.0004834241423837772),
            (-1.05, 0.14685905637589594),
            (-0.015625, 0.4937667805001103),
            (0.0, 0.5),
            (0.4, 0.6554217416103242),
            (1.96, 0.9750021048517795),
            (2.326, 0.9899907246591323),
            (3.719, 0.9998999934740659),
            (5.12, 0.9999998472321717),
            (7.9, 0.9999999999999986),
        ];
        for (z, want) in reference {
            let got = normal_cdf(z);
            assert!(
                (got - want).abs() <= 2.5e-16 + 1e-14 * want,
                "Φ({z}) = {got}, want {want}"
            );
        }
    }

    /// The table against the slow series and continued fraction it is made from, on a dense
    /// sweep of [−10, 10] (mostly between anchors): never more than 1e-15 apart. statrs's
    /// CDF, for comparison, is off by up to ~5e-11 relative (statrs PR 412).
    #[test]
    fn normal_cdf_matches_the_slow_form() {
        let n = 200_000;
        let worst = (0..=n)
            .map(|i| {
                let z = -10.0 + 20.0 * i as f64 / n as f64;
                (normal_cdf(z) - normal_cdf_exact(z)).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst <= 1e-15, "{worst}");
        let statrs = Normal::standard().cdf(-1.05);
        assert!((statrs - normal_cdf(-1.05)).abs() < 1e-10 * statrs);
    }

    /// The table-driven lognormal discretisation (ln(i + ½) from a table, Φ from the Taylor
    /// table) gives the lattice that the slow CDF gives, point by point, on a grid whose end
    /// cuts the tail (nothing folded) and on one that holds it; and statrs's CDF within its
    /// own error.
    #[test]
    fn lognormal_discretisation_matches_the_cdf() {
        let d = Dist::from_model(&ServiceTime::Lognormal {
            mean_s: 0.002,
            cv: 0.8,
        })
        .unwrap();
        let Dist::LogNormal { location, scale } = d else {
            unreachable!()
        };
        let exact = |t: f64| normal_cdf_exact((t.ln() - location) / scale);
        for (step, points) in [(3e-5, 1024), (1.5e-4, 4096)] {
            let fast = d.discretise(step, points).into_lattice();
            let statrs = Compact::from_cdf(step, points, |t| d.cdf(t)).into_lattice();
            assert!((fast.mean() - statrs.mean()).abs() < 1e-10 * statrs.mean());
            let slow = Compact::from_cdf(step, points, exact).into_lattice();
            let (mut below_fast, mut below_slow) = (0.0, 0.0);
            for (a, b) in fast.pmf.iter().zip(&slow.pmf) {
                below_fast += a;
                below_slow += b;
                assert!(
                    (below_fast - below_slow).abs() < 1e-15 || below_slow > 1.0 - 1e-12,
                    "{below_fast} vs {below_slow}"
                );
            }
            assert!((fast.mean() - slow.mean()).abs() < 1e-15);
            assert_eq!(fast.quantile(0.999), slow.quantile(0.999));
        }
    }
}
