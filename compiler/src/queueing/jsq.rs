//! `balance least_request`: join the shortest queue (JSQ) over `r` replicas, each a FIFO queue
//! with `k` workers, Poisson arrivals and exponential service, solved as a Markov chain.
//!
//! An arrival joins the replica holding the fewest requests (queued + in service), which is
//! what the simulator does (ties to the lowest index; the replicas are identical, so any tie
//! rule gives the same chain). The state is the sorted vector of the replicas' counts. JSQ
//! keeps the replicas close to each other, so the chain is truncated to a spread (most − fewest)
//! of at most d and to a total whose shared-queue tail is below 1e-10; departures that would
//! leave the spread wider are not taken, and arrivals at the top level are lost. d is widened
//! until the answer moves by less than 1e-7, which a far wider spread confirms to 1e-6 (tests).
//!
//! The chain is solved by Gauss–Seidel. It lies between the shared queue (one M/M/(r·k), what
//! the model was before: an optimistic bound) and `random` (r separate M/M/k queues): a
//! departure can leave a worker idle in one replica while requests wait in another.

use rustc_hash::FxHashMap;

/// The steady-state wait of an arrival under JSQ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jsq {
    /// P(an arrival waits): the replica it joins has every worker busy.
    pub p_wait: f64,
    /// Mean wait (s), by Little's law from the mean number queued.
    pub mean_wait: f64,
}

/// The chain's states beyond which it is not built (the caller keeps the shared-queue bound).
pub const MAX_STATES: usize = 12_000;

/// Gauss–Seidel sweeps before giving up.
const MAX_SWEEPS: usize = 4_000;

/// The spread between replicas the first chain keeps; it is widened in steps of
/// [`SPREAD_STEP`] until the answer stops moving. JSQ rarely lets one replica fall far behind
/// another: the spread falls geometrically, but slowly near saturation and with two replicas.
pub fn spread(workers: u32) -> u32 {
    workers + 3
}

/// How much each retry widens the spread.
const SPREAD_STEP: u32 = 4;

/// Solves JSQ over `replicas` replicas of `workers` workers each. `None` when the load is at
/// or above capacity, the chain would exceed [`MAX_STATES`] before the spread truncation
/// settles (relative change below 1e-7, or 1e-4 when the next chain is over the budget), or
/// it does not converge.
pub fn solve(replicas: u32, workers: u32, arrival_rate: f64, service_rate: f64) -> Option<Jsq> {
    let mut d = spread(workers);
    let mut last = solve_with(replicas, workers, arrival_rate, service_rate, d)?;
    // One replica has no spread.
    if replicas == 1 {
        return Some(last);
    }
    let mut moved = f64::INFINITY;
    loop {
        d += SPREAD_STEP;
        // Past the budget, the last chain stands if the spread had nearly settled.
        let Some(next) = solve_with(replicas, workers, arrival_rate, service_rate, d) else {
            return (moved < 1e-4).then_some(last);
        };
        moved = ((next.mean_wait - last.mean_wait) / next.mean_wait).abs()
            + (next.p_wait - last.p_wait).abs();
        last = next;
        if moved < 1e-7 {
            return Some(last);
        }
    }
}

fn solve_with(r: u32, k: u32, lambda: f64, mu: f64, d: u32) -> Option<Jsq> {
    let c = r * k;
    let rho = lambda / (c as f64 * mu);
    if !(rho > 0.0 && rho < 1.0) || r == 0 || k == 0 {
        return None;
    }
    // The shared queue's tail beyond c + n falls as ρⁿ; JSQ's falls at the same rate.
    let top = c as usize + ((1e-10f64).ln() / rho.ln()).ceil() as usize;
    let states = enumerate(r as usize, d, top)?;
    let index: FxHashMap<&[u32], usize> = (states.iter().enumerate())
        .map(|(i, s)| (s.as_slice(), i))
        .collect();
    // Incoming transitions per state, and each state's total outflow.
    let n = states.len();
    let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut outflow = vec![0.0; n];
    let mut next = Vec::with_capacity(r as usize);
    for (from, x) in states.iter().enumerate() {
        let total: u32 = x.iter().sum();
        if (total as usize) < top {
            // Join the last of the shortest replicas: the vector stays sorted.
            next.clear();
            next.extend_from_slice(x);
            let last_min = x.iter().rposition(|&v| v == x[0]).expect("non-empty");
            next[last_min] += 1;
            let to = index[next.as_slice()];
            incoming[to].push((from, lambda));
            outflow[from] += lambda;
        }
        // Departures from each group of equal replicas: the first of the group loses one.
        let mut i = 0;
        while i < x.len() {
            let v = x[i];
            let group = x[i..].iter().take_while(|&&w| w == v).count();
            if v > 0 {
                next.clear();
                next.extend_from_slice(x);
                next[i] -= 1;
                if next[next.len() - 1] - next[0] <= d {
                    let rate = group as f64 * mu * v.min(k) as f64;
                    let to = index[next.as_slice()];
                    incoming[to].push((from, rate));
                    outflow[from] += rate;
                }
            }
            i += group;
        }
    }
    // Gauss–Seidel on π·Q = 0, normalised every sweep, until a sweep moves less than 1e-13
    // of the mass (a relative test would wait on states of negligible mass).
    let mut pi = vec![1.0 / n as f64; n];
    let mut converged = false;
    for _ in 0..MAX_SWEEPS {
        let mut change: f64 = 0.0;
        for j in 0..n {
            let inflow: f64 = incoming[j].iter().map(|&(i, q)| pi[i] * q).sum();
            let new = inflow / outflow[j];
            change += (new - pi[j]).abs();
            pi[j] = new;
        }
        let sum: f64 = pi.iter().sum();
        pi.iter_mut().for_each(|p| *p /= sum);
        if change < 1e-13 * sum {
            converged = true;
            break;
        }
    }
    if !converged {
        return None;
    }
    let (mut p_wait, mut queued, mut accepted) = (0.0, 0.0, 0.0);
    for (x, p) in states.iter().zip(&pi) {
        let total: u32 = x.iter().sum();
        if (total as usize) < top {
            accepted += p;
            if x[0] >= k {
                p_wait += p;
            }
        }
        queued += p * x.iter().map(|&v| v.saturating_sub(k) as f64).sum::<f64>();
    }
    Some(Jsq {
        p_wait: p_wait / accepted,
        mean_wait: queued / (lambda * accepted),
    })
}

/// Every sorted vector of `r` counts with spread at most `d` and total at most `top`, or
/// `None` beyond [`MAX_STATES`].
fn enumerate(r: usize, d: u32, top: usize) -> Option<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    let mut x = vec![0u32; r];
    for low in 0..=(top / r) as u32 {
        x[0] = low;
        if !fill(&mut x, 1, low, low + d, low as usize, top, &mut out) {
            return None;
        }
    }
    Some(out)
}

/// Positions `pos..` of `x`, nondecreasing from `from` up to `to`, every completion whose
/// total (`sum` so far) stays within `top`. False beyond [`MAX_STATES`].
fn fill(
    x: &mut Vec<u32>,
    pos: usize,
    from: u32,
    to: u32,
    sum: usize,
    top: usize,
    out: &mut Vec<Vec<u32>>,
) -> bool {
    if pos == x.len() {
        out.push(x.clone());
        return out.len() <= MAX_STATES;
    }
    let rest = x.len() - pos;
    for v in from..=to {
        // The rest are at least v: stop once even that exceeds the top.
        if sum + rest * v as usize > top {
            break;
        }
        x[pos] = v;
        if !fill(x, pos + 1, v, to, sum + v as usize, top, out) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::MMc;

    /// One replica is one M/M/k queue: Erlang C and its mean wait.
    #[test]
    fn one_replica_is_the_mmc_queue() {
        for (k, rho) in [(1u32, 0.5), (1, 0.8), (4, 0.5), (4, 0.8)] {
            let (lambda, mu) = (rho * k as f64 * 100.0, 100.0);
            let j = solve(1, k, lambda, mu).expect("solves");
            let m = MMc::new(k, lambda, mu).expect("stable");
            assert!((j.p_wait - m.p_wait()).abs() < 1e-8, "{k} {rho}");
            assert!(
                (j.mean_wait - m.mean_wait()).abs() / m.mean_wait() < 1e-8,
                "{k} {rho}: {} vs {}",
                j.mean_wait,
                m.mean_wait()
            );
        }
    }

    /// A wider spread than [`solve`] settles on moves nothing: the truncation is not the
    /// answer.
    #[test]
    fn the_spread_truncation_is_negligible() {
        for (r, k, rho, wide) in [(2u32, 1u32, 0.8, 40), (2, 1, 0.5, 40), (4, 1, 0.5, 16)] {
            let lambda = rho * (r * k) as f64 * 100.0;
            let a = solve(r, k, lambda, 100.0).expect("solves");
            let b = solve_with(r, k, lambda, 100.0, wide).expect("solves");
            assert!(
                (a.mean_wait - b.mean_wait).abs() / b.mean_wait < 1e-6,
                "{r} {k} {rho}: {a:?} vs {b:?}"
            );
            assert!((a.p_wait - b.p_wait).abs() < 1e-7, "{r} {k} {rho}");
        }
    }

    /// JSQ waits longer on average than one shared queue and less than a random split into r
    /// M/M/k queues, at every load. (P(wait) is not ordered: JSQ idles servers that have no
    /// queue while others do, but it also keeps every server busy less often.)
    #[test]
    fn between_the_shared_queue_and_a_random_split() {
        for (r, k) in [(2u32, 1u32), (4, 1)] {
            for rho in [0.2, 0.5, 0.8] {
                let lambda = rho * (r * k) as f64 * 100.0;
                let j = solve(r, k, lambda, 100.0).expect("solves");
                let shared = MMc::new(r * k, lambda, 100.0).expect("stable");
                let random = MMc::new(k, lambda / r as f64, 100.0).expect("stable");
                assert!(j.mean_wait > shared.mean_wait(), "{r} {k} {rho}");
                assert!(j.mean_wait < random.mean_wait(), "{r} {k} {rho}");
            }
        }
    }

    /// Unstable loads and chains beyond the budget are refused.
    #[test]
    fn refuses_overload_and_huge_chains() {
        assert_eq!(solve(4, 1, 400.0, 100.0), None);
        assert_eq!(solve(4, 1, 0.0, 100.0), None);
        assert_eq!(solve(64, 4, 0.99 * 256.0 * 100.0, 100.0), None);
    }
}
