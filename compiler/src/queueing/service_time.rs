//! Service-time distributions: the moments, tail and quantiles of every `time` form of the
//! language, in seconds. statrs provides the lognormal, gamma and normal functions.

use crate::model::ServiceTime;
use statrs::distribution::{Continuous, ContinuousCDF, Gamma, LogNormal, Normal};
use statrs::function::gamma::ln_gamma;

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
