//! Blocking workers and their callees as a flow-equivalent server (Chandy–Herzog–Woo).
//!
//! A request holds one of the caller's `c` workers for its own work and for its synchronous
//! calls. With `n` workers held, the workers and the callees form a closed network of `n`
//! customers: the own work is a delay (each held worker does its own), each callee a
//! multi-server FCFS queue with exponential service. That network is product form; exact MVA
//! with load-dependent stations gives its throughput X(n) and the callees' waits for every
//! n ≤ c. The caller is then a birth–death queue with arrival rate λ and departure rate
//! X(min(n, c)); the callees' waits are the closed network's, weighted by how often requests
//! arrive at each population. The birth–death step takes the network's departures as
//! Poisson, so it is an approximation (docs/models.md §3.6 measures it against the exact
//! Markov chain): exact when the callees are the bottleneck at full population, pessimistic
//! when a few workers are held for a much less variable time than an exponential one.

/// A callee: `copies` identical queues (replicas under `balance random`, else 1), each with
/// `servers` exponential servers of mean `service` s, visited `visits` times per request to
/// the caller (over all copies).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Callee {
    pub copies: u32,
    pub servers: u32,
    pub service: f64,
    pub visits: f64,
}

/// The solution: the caller's wait and the callees'.
#[derive(Clone, Debug, PartialEq)]
pub struct Fes {
    /// Probability that a request waits for a worker (all `c` held).
    pub p_wait: f64,
    /// The caller's mean wait for a worker, s.
    pub mean_wait: f64,
    /// Rate of the exponential wait of a request that waits: X(c) − λ.
    pub wait_rate: f64,
    /// Mean workers held, E[min(N, c)].
    pub busy: f64,
    /// Per callee, per visit: (P(wait), mean wait s).
    pub callees: Vec<(f64, f64)>,
}

/// The caller cannot keep up: λ ≥ X(c).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Saturated {
    /// λ / X(c).
    pub utilization: f64,
    /// The fewest workers n with X(n) > λ, if found within `limit`.
    pub workers_needed: Option<u32>,
}

/// The closed network's solution per population n = 0..=N.
struct Closed {
    /// X(n), requests per second.
    throughput: Vec<f64>,
    /// Per callee, per n: the mean wait per visit at population n.
    wait: Vec<Vec<f64>>,
    /// Per callee, per n: P(an arrival at population n waits) = P(all busy at n − 1).
    p_wait: Vec<Vec<f64>>,
}

/// Exact MVA with load-dependent multi-server stations (Reiser–Lavenberg), up to population
/// `population`, or until X(n) exceeds `stop` (if given). A callee with at least as many
/// servers as the population never queues: its stations take O(servers) per step otherwise.
fn closed(delay: f64, callees: &[Callee], population: u32, stop: Option<f64>) -> Closed {
    let k = callees.len();
    // Per callee copy: demand per request, P(j busy | n − 1) for j < servers, mean queue.
    let demand: Vec<f64> = (callees.iter())
        .map(|c| c.visits / c.copies as f64 * c.service)
        .collect();
    let mut p: Vec<Vec<f64>> = (callees.iter())
        .map(|c| {
            let mut v = vec![0.0; c.servers as usize];
            v[0] = 1.0;
            v
        })
        .collect();
    let mut queue = vec![0.0; k];
    let mut out = Closed {
        throughput: vec![0.0],
        wait: vec![vec![0.0]; k],
        p_wait: vec![vec![0.0]; k],
    };
    let mut residence = vec![0.0; k];
    for n in 1..=population {
        let mut cycle = delay;
        for (i, c) in callees.iter().enumerate() {
            let m = c.servers as usize;
            let idle: f64 = (0..m.saturating_sub(1))
                .map(|j| (m - 1 - j) as f64 * p[i][j])
                .sum();
            residence[i] = demand[i] / m as f64 * (1.0 + queue[i] + idle);
            cycle += c.copies as f64 * residence[i];
            let visits = c.visits / c.copies as f64;
            out.wait[i].push(((residence[i] - demand[i]) / visits).max(0.0));
            out.p_wait[i].push((1.0 - p[i].iter().sum::<f64>()).clamp(0.0, 1.0));
        }
        let x = n as f64 / cycle;
        out.throughput.push(x);
        for (i, c) in callees.iter().enumerate() {
            let m = c.servers as usize;
            queue[i] = x * residence[i];
            let u = demand[i] * x;
            // P(j | n) = D·X/j · P(j − 1 | n − 1), highest j first to reuse the vector; P(0 | n)
            // from Σ_j min(j, m)·P(j) = D·X, which cancels less than 1 − Σ P(j).
            for j in (1..m).rev() {
                p[i][j] = u / j as f64 * p[i][j - 1];
            }
            let rest: f64 = (1..m).map(|j| (m - j) as f64 * p[i][j]).sum();
            p[i][0] = (1.0 - (u + rest) / m as f64).max(0.0);
        }
        if stop.is_some_and(|s| x > s) {
            break;
        }
    }
    out
}

/// Solves the caller (`workers` shared workers, Poisson arrivals at `rate`, mean own work
/// `delay` s per request) and its callees. `limit`: the largest population searched for
/// `workers_needed` when saturated.
pub fn solve(
    rate: f64,
    delay: f64,
    callees: &[Callee],
    workers: u32,
    limit: u32,
) -> Result<Fes, Saturated> {
    let net = closed(delay, callees, workers, None);
    let c = workers as usize;
    let full = net.throughput[c];
    if rate >= full {
        let more = closed(delay, callees, limit.max(workers), Some(rate));
        let needed = (more.throughput.iter())
            .position(|&x| x > rate)
            .map(|n| n as u32);
        return Err(Saturated {
            utilization: rate / full,
            workers_needed: needed,
        });
    }
    // log π(n) = Σ_{i ≤ n} log(λ / X(i)) for n ≤ c; beyond c a geometric tail of ratio λ/X(c).
    let mut log_pi = vec![0.0; c + 1];
    for n in 1..=c {
        log_pi[n] = log_pi[n - 1] + (rate / net.throughput[n]).ln();
    }
    let top = log_pi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut pi: Vec<f64> = log_pi.iter().map(|l| (l - top).exp()).collect();
    let r = rate / full;
    let mut tail = pi[c] * r / (1.0 - r);
    let total: f64 = pi.iter().sum::<f64>() + tail;
    for v in &mut pi {
        *v /= total;
    }
    tail /= total;
    let p_wait = (pi[c] + tail).min(1.0);
    let busy = (1..=c).map(|n| n as f64 * pi[n]).sum::<f64>() + c as f64 * tail;
    // Requests reach a callee at population n at rate ∝ π(n)·X(n): weight its waits so.
    let weight = |n: usize| {
        let mass = if n == c { pi[c] + tail } else { pi[n] };
        mass * net.throughput[n] / rate
    };
    let callees = (0..callees.len())
        .map(|i| {
            let (mut p, mut w) = (0.0, 0.0);
            for n in 1..=c {
                p += weight(n) * net.p_wait[i][n];
                w += weight(n) * net.wait[i][n];
            }
            (p.clamp(0.0, 1.0), w.max(0.0))
        })
        .collect();
    Ok(Fes {
        p_wait,
        mean_wait: p_wait / (full - rate),
        wait_rate: full - rate,
        busy,
        callees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(servers: u32, service: f64) -> Callee {
        Callee {
            copies: 1,
            servers,
            service,
            visits: 1.0,
        }
    }

    /// One worker: the closed network holds one request, X(1) = 1/(own + call), no callee
    /// wait, and the caller is M/M/1 at rate X(1).
    #[test]
    fn one_worker_is_mm1_on_the_whole_holding_time() {
        let f = solve(40.0, 0.005, &[db(1, 0.010)], 1, 64).expect("stable");
        let mu = 1.0 / 0.015;
        assert!((f.p_wait - 40.0 / mu).abs() < 1e-12);
        assert!((f.mean_wait - (40.0 / mu) / (mu - 40.0)).abs() < 1e-12);
        assert_eq!(f.callees, vec![(0.0, 0.0)]);
    }

    /// Two workers, own 5 ms, one `exp(10ms)` server: by hand, X(1) = 200/3 and X(2) from the
    /// states (n at the callee = 0, 1, 2) ∝ (12.5, 50, 100): X(2) = (150/162.5)/0.01 = 1200/13.
    /// At λ = 50 the birth–death weights are 1, 3/4, 13/32 and the tail 13/32 · r/(1 − r) with
    /// r = 13/24.
    #[test]
    fn two_workers_by_hand() {
        let net = closed(0.005, &[db(1, 0.010)], 2, None);
        assert!((net.throughput[1] - 200.0 / 3.0).abs() < 1e-9);
        assert!((net.throughput[2] - 1200.0 / 13.0).abs() < 1e-9);
        let f = solve(50.0, 0.005, &[db(1, 0.010)], 2, 64).expect("stable");
        let r: f64 = 13.0 / 24.0;
        let tail = 13.0 / 32.0 * r / (1.0 - r);
        let total = 1.0 + 0.75 + 13.0 / 32.0 + tail;
        let p_wait = (13.0 / 32.0 + tail) / total;
        assert!((f.p_wait - p_wait).abs() < 1e-12, "{}", f.p_wait);
        assert!((f.mean_wait - p_wait / (1200.0 / 13.0 - 50.0)).abs() < 1e-12);
        assert!((f.busy - (0.75 + 2.0 * (13.0 / 32.0 + tail)) / total).abs() < 1e-12);
        // The callee: at population 2 an arrival finds the other request there with
        // probability X(1)·0.01 = 2/3 and waits its residual 10 ms; the requests arriving at
        // population 1 never wait. Weights π(n)·X(n)/λ.
        let w1 = 0.75 / total * (200.0 / 3.0) / 50.0;
        let w2 = (13.0 / 32.0 + tail) / total * (1200.0 / 13.0) / 50.0;
        assert!((w1 + w2 - 1.0).abs() < 1e-12);
        let (p, w) = f.callees[0];
        assert!((p - w2 * 2.0 / 3.0).abs() < 1e-12, "{p}");
        assert!((w - w2 * 2.0 / 3.0 * 0.010).abs() < 1e-12, "{w}");
    }

    /// No own work: the workers and the callee's queue are one FIFO queue in front of its
    /// servers, so the caller's wait plus the callee's is the M/M/m wait, exactly.
    #[test]
    fn no_own_work_is_one_mmc_queue() {
        for (workers, servers, rate) in [(8, 4, 300.0), (3, 2, 150.0), (6, 6, 400.0)] {
            let f = solve(rate, 0.0, &[db(servers, 0.010)], workers, 64).expect("stable");
            let mmc = crate::queueing::MMc::new(servers, rate, 100.0).expect("stable");
            let total = f.mean_wait + f.callees[0].1;
            assert!((total - mmc.mean_wait()).abs() < 1e-9 * mmc.mean_wait().max(1e-3));
        }
    }

    /// Little: λ × the mean holding time (own + visits × (wait + service)) is the mean
    /// number of workers held.
    #[test]
    fn busy_workers_obey_little() {
        let callees = [
            Callee {
                copies: 1,
                servers: 3,
                service: 0.004,
                visits: 2.0,
            },
            Callee {
                copies: 2,
                servers: 1,
                service: 0.006,
                visits: 0.5,
            },
        ];
        let f = solve(250.0, 0.003, &callees, 12, 64).expect("stable");
        let hold: f64 = 0.003
            + (callees.iter().zip(&f.callees))
                .map(|(c, (_, w))| c.visits * (w + c.service))
                .sum::<f64>();
        assert!(
            (250.0 * hold - f.busy).abs() < 1e-9,
            "{} {}",
            250.0 * hold,
            f.busy
        );
    }

    /// Past X(c) the caller saturates and the search finds the workers that would carry λ.
    #[test]
    fn saturation_reports_the_workers_needed() {
        let e = solve(300.0, 0.005, &[db(8, 0.010)], 2, 64).expect_err("saturated");
        // X(n) = n/15 ms below 8 workers at the callee: X(5) = 333 > 300 ≥ X(4) = 267.
        assert_eq!(e.workers_needed, Some(5));
        assert!((e.utilization - 300.0 / (2.0 / 0.015)).abs() < 1e-9);
    }

    /// Against the exact Markov chain of the whole system (exponential own work, one
    /// callee; Gauss–Seidel on a truncated queue): the end-to-end mean per request.
    #[test]
    fn against_the_exact_chain() {
        // (λ, workers, own, servers, service, the FES's error bound on the mean).
        let cases = [
            (300.0, 8, 0.005, 4, 0.010, 0.005),
            (200.0, 8, 0.005, 4, 0.010, 1e-4),
            (160.0, 8, 0.002, 2, 0.010, 1e-5),
            (90.0, 2, 0.005, 1, 0.004, 0.06),
        ];
        for (rate, workers, own, servers, service, bound) in cases {
            let f = solve(rate, own, &[db(servers, service)], workers, 64).expect("stable");
            let fes = f.mean_wait + own + f.callees[0].1 + service;
            let exact = chain_mean(rate, workers as usize, own, servers as usize, service, 300);
            let err = fes / exact - 1.0;
            // Pessimistic, by no more than the bound (the chain is solved to about 1e-6).
            assert!(
                err > -1e-5 && err < bound,
                "{rate} {workers}: {fes} vs {exact}"
            );
        }
    }

    /// The mean sojourn of the full system by Little: states (queued, at the callee) with
    /// min(N, c) − at-callee doing own work; queued > 0 only when all workers are held.
    fn chain_mean(rate: f64, c: usize, own: f64, m: usize, service: f64, depth: usize) -> f64 {
        // Index: populations N ≤ c have N + 1 states; beyond, c + 1 each.
        let mut states = Vec::new();
        for n in 0..=c + depth {
            for k in 0..=n.min(c) {
                states.push((n, k));
            }
        }
        let index = |n: usize, k: usize| -> usize {
            if n <= c {
                n * (n + 1) / 2 + k
            } else {
                (c + 1) * (c + 2) / 2 + (n - c - 1) * (c + 1) + k
            }
        };
        // Incoming transitions per state: (from, rate); and the total out-rate.
        let mut incoming = vec![Vec::new(); states.len()];
        let mut out = vec![0.0; states.len()];
        for (i, &(n, k)) in states.iter().enumerate() {
            let held = n.min(c);
            let mut add = |to: usize, r: f64| {
                incoming[to].push((i, r));
                out[i] += r;
            };
            if n < c + depth {
                add(index(n + 1, k), rate);
            }
            if held > k {
                add(index(n, k + 1), (held - k) as f64 / own);
            }
            if k > 0 {
                // A departure frees a worker; a queued request takes it and starts its own work.
                add(index(n - 1, k - 1), k.min(m) as f64 / service);
            }
        }
        let mut pi = vec![1.0 / states.len() as f64; states.len()];
        for _ in 0..20_000 {
            let mut change: f64 = 0.0;
            for i in 0..states.len() {
                let v: f64 = incoming[i].iter().map(|&(j, r)| pi[j] * r).sum::<f64>() / out[i];
                change = change.max((v - pi[i]).abs());
                pi[i] = v;
            }
            let total: f64 = pi.iter().sum();
            pi.iter_mut().for_each(|v| *v /= total);
            if change < 1e-15 {
                break;
            }
        }
        let mean_n: f64 = states
            .iter()
            .zip(&pi)
            .map(|(&(n, _), p)| n as f64 * p)
            .sum();
        mean_n / rate
    }
}
