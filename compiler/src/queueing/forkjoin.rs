//! Fork-join means: a request split over `k` identical M/M/1 stations, answered when all are
//! done (fan-out, shards). Assuming the branches independent over-predicts the mean by up to
//! 27% (QUEUEING.md §4), because the branches see the same arrivals.
//!
//! * k = 2 is exact (Flatto and Hahn, 1984): R₂ = (12 − ρ)/8 · R₁, with R₁ = 1/(μ − λ).
//! * k > 2 uses Nelson and Tantawi's approximation (1988):
//!   R_k ≈ [H_k/H₂ + (4/11)(1 − H_k/H₂)·ρ] · R₂, with H_k the k-th harmonic number.
//!
//! `predict/forks.rs` scales the end-to-end mean of sharded visits by NT(k, ρ)/(H_k·R₁);
//! percentiles keep the independence bound (within 4% of the simulator at p99).

fn harmonic(k: u32) -> f64 {
    (1..=k).map(|i| 1.0 / i as f64).sum()
}

/// Mean response time of a `k`-way fork-join over M/M/1 stations at utilisation `rho`, whose
/// single-station mean sojourn is `r1`.
pub fn fork_join_mean(k: u32, rho: f64, r1: f64) -> f64 {
    assert!(
        k >= 1 && (0.0..1.0).contains(&rho) && r1 > 0.0,
        "invalid fork-join parameters"
    );
    if k == 1 {
        return r1;
    }
    let r2 = (12.0 - rho) / 8.0 * r1;
    let ratio = harmonic(k) / harmonic(2);
    (ratio + 4.0 / 11.0 * (1.0 - ratio) * rho) * r2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flatto–Hahn: two M/M/1 queues fed by the same Poisson stream, λ = 0.5, μ = 1:
    /// R₁ = 2, R₂ = (12 − 0.5)/8 · 2 = 2.875.
    #[test]
    fn two_way_fork_join_is_flatto_hahn() {
        assert!((fork_join_mean(2, 0.5, 2.0) - 2.875).abs() < 1e-15);
        // Light traffic: the max of two independent Exp(μ) means, 1.5/μ.
        assert!((fork_join_mean(2, 0.0, 1.0) - 1.5).abs() < 1e-15);
    }

    #[test]
    fn k_way_means_grow_with_k_and_stay_below_independence() {
        let (rho, r1) = (0.7, 1.0 / 0.3);
        let mut previous = r1;
        for k in 2..=64 {
            let r = fork_join_mean(k, rho, r1);
            assert!(r > previous, "k={k}");
            // Independent exponential branches: E[max] = H_k · R₁.
            assert!(
                r < harmonic(k) * r1,
                "k={k}: {r} not below independence {}",
                harmonic(k) * r1
            );
            previous = r;
        }
    }

    /// Nelson and Tantawi's formula at ρ = 0 reduces to the independent-max mean H_k·R₁·(12/8)/H₂
    /// = H_k·R₁, since H₂ = 1.5.
    #[test]
    fn light_traffic_limit_is_the_expected_maximum() {
        for k in [2, 4, 8, 32] {
            let r = fork_join_mean(k, 0.0, 1.0);
            assert!((r - harmonic(k)).abs() < 1e-12, "k={k}: {r}");
        }
    }
}
