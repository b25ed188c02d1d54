//! The M/M/c station, exact: Poisson arrivals, exponential service, `c` identical servers
//! sharing one FIFO queue.
//!
//! Erlang C comes from the Erlang B recursion, which never forms a factorial or a power and so
//! stays accurate for any `c`. The wait is 0 with probability 1 − C and otherwise exponential
//! with rate cμ − λ; the sojourn (wait + service) has the closed-form tail used by
//! [`MMc::sojourn_tail`], and percentiles invert it by bisection to machine precision.

use std::fmt;

/// Offered load at or above the number of servers: no steady state exists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unstable {
    /// λ / (cμ).
    pub utilization: f64,
    /// The servers needed for utilisation below 1, at this load.
    pub servers_needed: u32,
}

impl fmt::Display for Unstable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "utilisation {:.3} ≥ 1: needs at least {} servers",
            self.utilization, self.servers_needed
        )
    }
}

/// Erlang B: the blocking probability of an M/M/c/c loss system offered `a` = λ/μ erlangs.
/// Recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: the probability that an arrival to an M/M/c queue waits, for `a` = λ/μ < c.
/// C = c·B / (c − a·(1 − B)).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let b = erlang_b(c, a);
    let c = c as f64;
    c * b / (c - a * (1.0 - b))
}

/// An M/M/c station in steady state. Rates are per second; times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MMc {
    pub servers: u32,
    /// Arrival rate λ.
    pub arrival_rate: f64,
    /// Service rate μ of one server (1 / mean service time).
    pub service_rate: f64,
    /// Erlang C, cached.
    p_wait: f64,
}

impl MMc {
    /// The station, or why it has no steady state.
    pub fn new(servers: u32, arrival_rate: f64, service_rate: f64) -> Result<MMc, Unstable> {
        assert!(
            servers > 0 && arrival_rate >= 0.0 && service_rate > 0.0,
            "invalid M/M/c parameters"
        );
        let a = arrival_rate / service_rate;
        let utilization = a / servers as f64;
        if utilization >= 1.0 {
            return Err(Unstable {
                utilization,
                servers_needed: a.floor() as u32 + 1,
            });
        }
        Ok(MMc {
            servers,
            arrival_rate,
            service_rate,
            p_wait: erlang_c(servers, a),
        })
    }

    /// ρ = λ / (cμ).
    pub fn utilization(&self) -> f64 {
        self.arrival_rate / (self.servers as f64 * self.service_rate)
    }

    /// Erlang C: the probability that an arrival waits.
    pub fn p_wait(&self) -> f64 {
        self.p_wait
    }

    /// The rate of the exponential wait of those who wait: cμ − λ.
    fn drain_rate(&self) -> f64 {
        self.servers as f64 * self.service_rate - self.arrival_rate
    }

    pub fn mean_wait(&self) -> f64 {
        self.p_wait / self.drain_rate()
    }

    pub fn mean_sojourn(&self) -> f64 {
        self.mean_wait() + 1.0 / self.service_rate
    }

    /// P(wait > t).
    pub fn wait_tail(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 1.0;
        }
        self.p_wait * (-self.drain_rate() * t).exp()
    }

    /// The `p`-quantile of the wait.
    pub fn wait_quantile(&self, p: f64) -> f64 {
        let tail = 1.0 - p;
        if tail >= self.p_wait {
            0.0
        } else {
            (self.p_wait / tail).ln() / self.drain_rate()
        }
    }

    /// P(sojourn > t), sojourn = wait + service. For those who wait, wait + service is the sum
    /// of exponentials with rates θ = cμ − λ and μ:
    /// P(> t) = e^{−μt}·(1 + μt·g((θ − μ)t)), g(x) = (1 − e^{−x}) / x,
    /// which stays exact as θ → μ (where the textbook form divides by θ − μ).
    pub fn sojourn_tail(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        let mu = self.service_rate;
        let x = (self.drain_rate() - mu) * t;
        let g = if x.abs() < 1e-8 {
            1.0 - x / 2.0
        } else {
            -(-x).exp_m1() / x
        };
        let service = (-mu * t).exp();
        (1.0 - self.p_wait) * service + self.p_wait * service * (1.0 + mu * t * g)
    }

    /// The `p`-quantile of the sojourn time, to machine precision.
    pub fn sojourn_quantile(&self, p: f64) -> f64 {
        invert_tail(|t| self.sojourn_tail(t), 1.0 - p, 1.0 / self.service_rate)
    }
}

/// The `t` where a decreasing `tail(t)` falls to `target`, by bisection from a bracket grown
/// out of `scale`.
fn invert_tail(tail: impl Fn(f64) -> f64, target: f64, scale: f64) -> f64 {
    assert!(
        target > 0.0 && target < 1.0,
        "quantile must be strictly between 0 and 1"
    );
    let (mut lo, mut hi) = (0.0, scale);
    while tail(hi) > target {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if tail(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_b_matches_the_direct_formula_for_small_c() {
        // B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
        assert!((erlang_b(2, 1.0) - 0.2).abs() < 1e-15);
        // B(1, a) = a / (1 + a)
        assert!((erlang_b(1, 3.0) - 0.75).abs() < 1e-15);
    }

    #[test]
    fn unstable_stations_say_how_many_servers_they_need() {
        let e = MMc::new(4, 50.0, 10.0).unwrap_err();
        assert_eq!(e.servers_needed, 6);
        assert!((e.utilization - 1.25).abs() < 1e-15);
        assert_eq!(MMc::new(5, 50.0, 10.0).unwrap_err().servers_needed, 6);
    }
}
