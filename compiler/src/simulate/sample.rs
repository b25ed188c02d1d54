//! Service-time distributions, sampled. The simulator's own: nothing here comes from the
//! analytic predictor, so the two can referee each other.

use crate::model::ServiceTime;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal};
use statrs::distribution::{ContinuousCDF, Normal};

/// The PRNG of every replication: xoshiro256++, whose output is fixed by its definition (unlike
/// `StdRng`, which may change between `rand` versions).
pub(crate) type SimRng = rand_xoshiro::Xoshiro256PlusPlus;

/// One `time` form, ready to draw from. Times in seconds.
#[derive(Clone, Debug)]
pub(crate) enum Sampler {
    Const(f64),
    Exp {
        mean: f64,
    },
    /// ln T ~ N(mu, sigma²).
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Gamma(Gamma<f64>),
    Uniform {
        low: f64,
        width: f64,
    },
    /// Each draw is one of the samples, uniformly.
    Empirical(Box<[f64]>),
}

impl Sampler {
    /// `None` for a batch time (the batching station times whole batches itself) and for
    /// parameters a checked model never has (non-finite or out of range).
    pub(crate) fn new(t: &ServiceTime) -> Option<Sampler> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        let s = match *t {
            ServiceTime::Const { value_s } if ok(value_s) => Sampler::Const(value_s),
            ServiceTime::Exp { mean_s } if ok(mean_s) => Sampler::Exp { mean: mean_s },
            ServiceTime::Lognormal { mean_s, cv } if ok(mean_s) && mean_s > 0.0 && ok(cv) => {
                // s² = ln(1 + cv²) and m = ln mean − s²/2 give the mean and cv asked for.
                let s2 = (1.0 + cv * cv).ln();
                Sampler::LogNormal {
                    mu: mean_s.ln() - s2 / 2.0,
                    sigma: s2.sqrt(),
                }
            }
            ServiceTime::Gamma { mean_s, cv } if ok(mean_s) && mean_s > 0.0 && cv > 0.0 => {
                let shape = 1.0 / (cv * cv);
                Sampler::Gamma(Gamma::new(shape, mean_s / shape).ok()?)
            }
            ServiceTime::Uniform { low_s, high_s }
                if ok(low_s) && ok(high_s) && high_s >= low_s =>
            {
                Sampler::Uniform {
                    low: low_s,
                    width: high_s - low_s,
                }
            }
            ServiceTime::Fitted {
                p_low,
                low_s,
                p_high,
                high_s,
            } => {
                let (mu, sigma) = fit_lognormal(p_low, low_s, p_high, high_s)?;
                Sampler::LogNormal { mu, sigma }
            }
            ServiceTime::Empirical { ref samples_s, .. }
                if !samples_s.is_empty() && samples_s.iter().all(|&x| ok(x)) =>
            {
                Sampler::Empirical(samples_s.clone().into_boxed_slice())
            }
            _ => return None,
        };
        Some(s)
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut SimRng) -> f64 {
        match self {
            Sampler::Const(v) => *v,
            Sampler::Exp { mean } => mean * rng.sample::<f64, _>(Exp1),
            // Plain arithmetic, not `mul_add`: without FMA in the target, that is a libm call.
            Sampler::LogNormal { mu, sigma } => {
                (mu + sigma * rng.sample::<f64, _>(StandardNormal)).exp()
            }
            Sampler::Gamma(g) => g.sample(rng),
            Sampler::Uniform { low, width } => low + width * rng.random::<f64>(),
            Sampler::Empirical(s) => s[rng.random_range(0..s.len())],
        }
    }
}

/// The lognormal through two percentiles: ln(low) = μ + σ·z(p_low), ln(high) = μ + σ·z(p_high),
/// solved for (μ, σ). `None` unless 0 < p_low < p_high < 1 and 0 < low < high.
pub(crate) fn fit_lognormal(p_low: f64, low: f64, p_high: f64, high: f64) -> Option<(f64, f64)> {
    let valid = 0.0 < p_low && p_low < p_high && p_high < 1.0 && 0.0 < low && low < high;
    if !valid || !high.is_finite() {
        return None;
    }
    let n = Normal::standard();
    let (z_low, z_high) = (n.inverse_cdf(p_low), n.inverse_cdf(p_high));
    let sigma = (high.ln() - low.ln()) / (z_high - z_low);
    let mu = low.ln() - sigma * z_low;
    (sigma.is_finite() && sigma > 0.0 && mu.is_finite()).then_some((mu, sigma))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn moments(t: &ServiceTime, n: usize) -> (f64, f64) {
        let s = Sampler::new(t).expect("a valid time");
        let mut rng = SimRng::seed_from_u64(7);
        let xs: Vec<f64> = (0..n).map(|_| s.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var / (mean * mean))
    }

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got}, want {want} (±{rel} relative)"
        );
    }

    #[test]
    fn every_form_has_its_mean_and_scv() {
        let n = 400_000;
        let cases = [
            (ServiceTime::Exp { mean_s: 0.01 }, 0.01, 1.0),
            (ServiceTime::Const { value_s: 0.004 }, 0.004, 0.0),
            (
                ServiceTime::Lognormal {
                    mean_s: 0.006,
                    cv: 0.8,
                },
                0.006,
                0.64,
            ),
            (
                ServiceTime::Gamma {
                    mean_s: 0.002,
                    cv: 0.5,
                },
                0.002,
                0.25,
            ),
            (
                ServiceTime::Gamma {
                    mean_s: 0.002,
                    cv: 2.0,
                },
                0.002,
                4.0,
            ),
            // Uniform(a, b): mean (a+b)/2, variance (b−a)²/12.
            (
                ServiceTime::Uniform {
                    low_s: 0.002,
                    high_s: 0.006,
                },
                0.004,
                (0.004f64 * 0.004 / 12.0) / (0.004 * 0.004),
            ),
        ];
        for (t, mean, scv) in cases {
            let (m, c) = moments(&t, n);
            close(m, mean, 0.01);
            if scv == 0.0 {
                // Only the rounding of the summed mean remains.
                assert!(c < 1e-12, "{c}");
            } else {
                close(c, scv, 0.05);
            }
        }
    }

    #[test]
    fn a_fitted_time_reproduces_both_percentiles() {
        let t = ServiceTime::Fitted {
            p_low: 0.5,
            low_s: 0.003,
            p_high: 0.99,
            high_s: 0.014,
        };
        let s = Sampler::new(&t).unwrap();
        let mut rng = SimRng::seed_from_u64(3);
        let mut xs: Vec<f64> = (0..400_000).map(|_| s.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        close(xs[200_000], 0.003, 0.01);
        close(xs[396_000], 0.014, 0.02);
        // And the parameters are the exact solution.
        let (mu, sigma) = fit_lognormal(0.5, 0.003, 0.99, 0.014).unwrap();
        close(mu, 0.003f64.ln(), 1e-12);
        close(sigma, (0.014f64 / 0.003).ln() / 2.326_347_874_040_841, 1e-9);
    }

    #[test]
    fn empirical_draws_only_its_samples_uniformly() {
        let t = ServiceTime::Empirical {
            file: "x".into(),
            samples_s: vec![0.001, 0.002, 0.010],
        };
        let s = Sampler::new(&t).unwrap();
        let mut rng = SimRng::seed_from_u64(1);
        let mut counts = [0usize; 3];
        for _ in 0..300_000 {
            let x = s.sample(&mut rng);
            let i = [0.001, 0.002, 0.010].iter().position(|&v| v == x).unwrap();
            counts[i] += 1;
        }
        for c in counts {
            close(c as f64, 100_000.0, 0.01);
        }
    }

    #[test]
    fn batch_times_and_impossible_parameters_have_no_sampler() {
        assert!(
            Sampler::new(&ServiceTime::Batch {
                base_s: 0.002,
                per_item_s: 0.001
            })
            .is_none()
        );
        assert!(Sampler::new(&ServiceTime::Exp { mean_s: f64::NAN }).is_none());
        assert!(fit_lognormal(0.99, 0.003, 0.5, 0.014).is_none());
        assert!(fit_lognormal(0.5, 0.014, 0.99, 0.003).is_none());
    }
}
