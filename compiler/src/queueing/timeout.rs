//! Timeouts and retries: how `call x.y timeout T retries r` shapes a call's latency.
//!
//! An attempt whose answer comes later than T is abandoned at T and the call is made again, up
//! to r more times; if the last attempt also times out, the call ends (failed) at its timeout.
//! Attempts are taken as independent draws of the callee's latency L, which is what the retry
//! load of [`super::traffic`] assumes too. With q = P(L > T):
//!
//! latency = Σ_{k=0}^{r} q^k · (kT + L | L ≤ T)·(1 − q) + q^{r+1} · δ((r + 1)T)
//!
//! so the result never exceeds (r + 1)·T, and a call without retries is min(L, T).

use super::lattice::Lattice;

/// The latency of a call with a timeout, from the latency of one attempt.
pub fn with_timeout(attempt: &Lattice, timeout_s: f64, retries: u32) -> Lattice {
    let n = attempt.points();
    let h = attempt.step;
    // Answers on points up to `last` beat the timeout; points beyond lose to it.
    let last = ((timeout_s / h).floor() as usize).min(n - 1);
    let shift = (timeout_s / h).round() as usize;
    let success = &attempt.pmf[..=last];
    let late = (1.0 - success.iter().sum::<f64>()).clamp(0.0, 1.0);
    let mut pmf = vec![0.0; n];
    let mut weight = 1.0;
    for k in 0..=retries as usize {
        let offset = k * shift;
        for (i, p) in success.iter().enumerate() {
            pmf[(offset + i).min(n - 1)] += weight * p;
        }
        weight *= late;
    }
    pmf[((retries as usize + 1) * shift).min(n - 1)] += weight;
    Lattice { step: h, pmf }
}

/// The mean of a call with a timeout when one attempt's latency is taken as exponential with
/// mean `mean_s`: the mean-value stand-in used where no distribution is at hand (blocking
/// holding times, grid sizes).
pub fn mean_with_timeout(mean_s: f64, timeout_s: f64, retries: u32) -> f64 {
    if mean_s <= 0.0 {
        return 0.0;
    }
    let late = (-timeout_s / mean_s).exp();
    // E[L; L ≤ T] for L exponential.
    let answered = mean_s * (1.0 - late) - timeout_s * late;
    let mut total = 0.0;
    let mut weight = 1.0;
    for k in 0..=retries {
        total += weight * (k as f64 * timeout_s * (1.0 - late) + answered);
        weight *= late;
    }
    total + weight * (retries + 1) as f64 * timeout_s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exponential(mean: f64, step: f64, points: usize) -> Lattice {
        Lattice::from_cdf(step, points, |t| 1.0 - (-t / mean).exp())
    }

    #[test]
    fn no_retries_is_the_minimum_with_the_timeout() {
        // min(L, T) for L ~ Exp(mean 10 ms), T = 15 ms: E = m(1 − e^{−T/m}).
        let l = with_timeout(&exponential(0.010, 1e-5, 8192), 0.015, 0);
        let mass: f64 = l.pmf.iter().sum();
        assert!((mass - 1.0).abs() < 1e-12);
        let want = 0.010 * (1.0 - (-1.5f64).exp());
        assert!((l.mean() - want).abs() < 2e-6, "{} vs {want}", l.mean());
        // Nothing beyond T; P(latency = T) = e^{−1.5}.
        assert!((l.quantile(0.999) - 0.015).abs() <= 0.5e-5);
        assert!((l.pmf[1500] - (-1.5f64).exp()).abs() < 1e-3);
        assert!((mean_with_timeout(0.010, 0.015, 0) - want).abs() < 1e-15);
    }

    #[test]
    fn retries_add_the_timeouts_before_the_answer() {
        // Exp(10 ms), T = 5 ms, 2 retries: q = e^{−0.5}. The lattice and the closed form agree
        // on the mean, and the latency is capped at 3T.
        let (m, t, r) = (0.010, 0.005, 2u32);
        let l = with_timeout(&exponential(m, 1e-5, 8192), t, r);
        let want = mean_with_timeout(m, t, r);
        assert!(
            (l.mean() - want).abs() / want < 2e-3,
            "{} vs {want}",
            l.mean()
        );
        let q = (-0.5f64).exp();
        // The call fails (ends at 3T = 15 ms) with probability q³.
        assert!((l.pmf[1500] - q.powi(3)).abs() < 1e-3);
        assert!(l.pmf[1501..].iter().all(|&p| p == 0.0));
        // Between T and 2T only second attempts answer: mass q·(1 − q).
        let second: f64 = l.pmf[501..=1000].iter().sum();
        assert!((second - q * (1.0 - q)).abs() < 2e-3, "{second}");
    }
}
