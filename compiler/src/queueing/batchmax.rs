//! A fan-out into one queue: `times X parallel` sends X requests at one instant into the same
//! FIFO M/M/c station, and the caller waits for the last. Their sojourns are strongly
//! correlated (they queue behind each other), so the lattice's independent maximum overstates
//! the mean; this module gives it exactly for Poisson batches (M^X/M/c).
//!
//! A batch finds n requests present with the M^X/M/c stationary probability (PASTA at batch
//! epochs), from the cut equations λ_b·Σ_{j=n−X+1}^{n} π_j = μ·min(n + 1, c)·π_{n+1}. Given n,
//! while the last sibling waits all c servers are busy, so it starts at the K-th departure,
//! K = n + X − c, departures coming at rate cμ whichever request leaves: K/(cμ) on average.
//! Each departure is a sibling with probability (siblings in service)/c, which gives the
//! number S of siblings still in service when the last one starts (a small chain over the K
//! departures); they all finish after H_S/μ on average (the maximum of S exponentials).

/// The mean time from a batch's arrival until its last request is done: batches of `batch`
/// arriving as a Poisson process at `batch_rate` per second into `servers` exponential
/// servers of rate `service_rate`. `None` without a steady state.
pub fn batch_max_mean(servers: u32, batch: u32, batch_rate: f64, service_rate: f64) -> Option<f64> {
    let (c, x, mu) = (servers as usize, batch as usize, service_rate);
    let rho = batch_rate * batch as f64 / (servers as f64 * mu);
    if !(rho > 0.0 && rho < 1.0) || c == 0 || x == 0 {
        return None;
    }
    // Stationary distribution, unnormalised, until its tail is negligible.
    let mut pi: Vec<f64> = vec![1.0];
    let mut window = 1.0; // Σ of the last X terms.
    let mut total = 1.0;
    loop {
        let n = pi.len() - 1;
        let next = batch_rate * window / (mu * (n + 1).min(c) as f64);
        pi.push(next);
        total += next;
        window += next;
        if pi.len() > x {
            window -= pi[pi.len() - 1 - x];
        }
        if (n > c + x && next < 1e-16 * total) || pi.len() > 10_000_000 {
            break;
        }
    }
    let harmonic: Vec<f64> = (0..=x)
        .scan(0.0, |h, k| {
            if k > 0 {
                *h += 1.0 / k as f64;
            }
            Some(*h)
        })
        .collect();
    let mut mean = 0.0;
    // P(S = s) over the departures before the last sibling starts.
    let mut dist = vec![0.0; x + 1];
    for (n, p) in pi.iter().enumerate() {
        let w = p / total;
        if w < 1e-300 {
            continue;
        }
        let conditional = if n + x <= c {
            harmonic[x] / mu
        } else {
            let others = n.min(c);
            let ahead = n - others; // Waiting requests ahead of the batch.
            dist.iter_mut().for_each(|d| *d = 0.0);
            dist[c - others] = 1.0;
            let k = n + x - c;
            for d in 1..=k {
                // One departure: a sibling with probability s/c; then the next in line
                // starts, a sibling once the requests ahead have all started.
                let sibling_enters = d > ahead;
                let mut step = vec![0.0; x + 1];
                for (s, &q) in dist.iter().enumerate() {
                    if q == 0.0 {
                        continue;
                    }
                    let leave = s as f64 / c as f64;
                    let after_sibling = s - usize::from(s > 0);
                    let (a, b) = if sibling_enters {
                        (after_sibling + 1, s + 1)
                    } else {
                        (after_sibling, s)
                    };
                    if leave > 0.0 {
                        step[a.min(x)] += q * leave;
                    }
                    step[b.min(x)] += q * (1.0 - leave);
                }
                dist = step;
            }
            let finish: f64 = dist.iter().zip(&harmonic).map(|(q, h)| q * h).sum();
            k as f64 / (c as f64 * mu) + finish / mu
        };
        mean += w * conditional;
    }
    Some(mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::MMc;

    /// One server: the last of the batch leaves after everyone present and the whole batch,
    /// (L + X)/μ, with L = ρ(X + 1)/(2(1 − ρ)) the M^X/M/1 mean number present.
    #[test]
    fn one_server_is_the_mx_m1_sojourn_of_the_whole_batch() {
        for (x, rho) in [(4u32, 0.8), (2, 0.5), (8, 0.3)] {
            let mu = 100.0;
            let got = batch_max_mean(1, x, rho * mu / x as f64, mu).expect("stable");
            let l = rho * (x as f64 + 1.0) / (2.0 * (1.0 - rho));
            let want = (l + x as f64) / mu;
            assert!(
                (got - want).abs() / want < 1e-9,
                "{x} {rho}: {got} vs {want}"
            );
        }
    }

    /// Batches of one are M/M/c arrivals: the mean sojourn.
    #[test]
    fn batches_of_one_are_the_mmc_sojourn() {
        for (c, rho) in [(1u32, 0.5), (8, 0.8), (4, 0.95)] {
            let lambda = rho * c as f64 * 100.0;
            let got = batch_max_mean(c, 1, lambda, 100.0).expect("stable");
            let want = MMc::new(c, lambda, 100.0).unwrap().mean_sojourn();
            assert!(
                (got - want).abs() / want < 1e-9,
                "{c} {rho}: {got} vs {want}"
            );
        }
    }

    /// In light traffic with many servers the batch starts at once: the maximum of X
    /// exponentials, H_X/μ.
    #[test]
    fn light_traffic_is_the_maximum_of_independent_services() {
        let got = batch_max_mean(64, 4, 1e-6, 100.0).expect("stable");
        let want = (1.0 + 0.5 + 1.0 / 3.0 + 0.25) / 100.0;
        assert!((got - want).abs() / want < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn refuses_overload() {
        assert_eq!(batch_max_mean(8, 4, 200.0, 100.0), None);
        assert_eq!(batch_max_mean(8, 4, 0.0, 100.0), None);
    }
}
