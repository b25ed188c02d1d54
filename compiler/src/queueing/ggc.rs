//! The G/G/c station, approximated: general arrivals (SCV c_a²) and service (mean, SCV c_s²),
//! `c` servers sharing one queue.
//!
//! * P(wait) is Erlang C at the same load (exact for M/M/c).
//! * The mean wait is Allen–Cunneen's, W = C/(cμ − λ) · (c_a² + c_s²)/2: exact for M/M/c and, by
//!   Pollaczek–Khinchine, for M/G/1. For deterministic service with Poisson arrivals and c > 1
//!   Cosmetatos's correction is applied.
//! * The wait of those who wait is taken as exponential with that mean (exact for M/M/c; the
//!   known bias is an under-predicted tail for heavy-tailed service, QUEUEING.md §2).

use super::mmc::{Unstable, erlang_c};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GGc {
    pub servers: u32,
    pub arrival_rate: f64,
    pub mean_service: f64,
    /// Squared coefficient of variation of inter-arrival times.
    pub arrival_scv: f64,
    /// Squared coefficient of variation of service times.
    pub service_scv: f64,
    p_wait: f64,
    mean_wait: f64,
}

impl GGc {
    pub fn new(
        servers: u32,
        arrival_rate: f64,
        mean_service: f64,
        arrival_scv: f64,
        service_scv: f64,
    ) -> Result<GGc, Unstable> {
        assert!(
            servers > 0 && arrival_rate >= 0.0 && mean_service > 0.0,
            "invalid G/G/c parameters"
        );
        let a = arrival_rate * mean_service;
        let c = servers as f64;
        let utilization = a / c;
        if utilization >= 1.0 {
            return Err(Unstable {
                utilization,
                servers_needed: a.floor() as u32 + 1,
            });
        }
        let p_wait = if arrival_rate == 0.0 {
            0.0
        } else {
            erlang_c(servers, a)
        };
        let mmc_wait = p_wait / (c / mean_service - arrival_rate);
        let mut mean_wait = mmc_wait * (arrival_scv + service_scv) / 2.0;
        if service_scv == 0.0 && arrival_scv == 1.0 && servers > 1 {
            // Cosmetatos (1976): M/D/c ≈ ½·[1 + (1 − ρ)(c − 1)(√(4 + 5c) − 2)/(16ρc)]·W(M/M/c).
            let rho = utilization;
            mean_wait = 0.5
                * (1.0
                    + (1.0 - rho) * (c - 1.0) * ((4.0 + 5.0 * c).sqrt() - 2.0) / (16.0 * rho * c))
                * mmc_wait;
        }
        Ok(GGc {
            servers,
            arrival_rate,
            mean_service,
            arrival_scv,
            service_scv,
            p_wait,
            mean_wait,
        })
    }

    pub fn utilization(&self) -> f64 {
        self.arrival_rate * self.mean_service / self.servers as f64
    }

    pub fn p_wait(&self) -> f64 {
        self.p_wait
    }

    pub fn mean_wait(&self) -> f64 {
        self.mean_wait
    }

    pub fn mean_sojourn(&self) -> f64 {
        self.mean_wait + self.mean_service
    }

    /// P(wait > t): P(wait) times an exponential tail with the conditional mean wait.
    pub fn wait_tail(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 1.0;
        }
        if self.p_wait == 0.0 || self.mean_wait == 0.0 {
            return 0.0;
        }
        let conditional_mean = self.mean_wait / self.p_wait;
        self.p_wait * (-t / conditional_mean).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queueing::MMc;

    #[test]
    fn exponential_everything_is_exactly_mmc() {
        for c in [1, 2, 5, 20] {
            let (lambda, s) = (0.8 * c as f64 / 0.01, 0.01);
            let g = GGc::new(c, lambda, s, 1.0, 1.0).unwrap();
            let m = MMc::new(c, lambda, 1.0 / s).unwrap();
            assert!((g.mean_wait() - m.mean_wait()).abs() < 1e-15 * m.mean_wait().max(1.0));
            for t in [0.0, 0.001, 0.01, 0.1] {
                assert!(
                    (g.wait_tail(t) - m.wait_tail(t)).abs() < 1e-14,
                    "c={c} t={t}"
                );
            }
        }
    }

    /// Pollaczek–Khinchine: M/G/1 mean wait = ρ·E[S]·(1 + c_s²) / (2(1 − ρ)).
    #[test]
    fn mg1_mean_wait_is_pollaczek_khinchine() {
        let s = 0.004;
        for (rho, cs2) in [(0.5, 0.0), (0.9, 0.0), (0.7, 0.25), (0.8, 4.0)] {
            let g = GGc::new(1, rho / s, s, 1.0, cs2).unwrap();
            let pk = rho * s * (1.0 + cs2) / (2.0 * (1.0 - rho));
            assert!(
                ((g.mean_wait() - pk) / pk).abs() < 1e-12,
                "ρ={rho} cs²={cs2}: {} vs {pk}",
                g.mean_wait()
            );
        }
    }

    #[test]
    fn deterministic_service_waits_less_than_exponential() {
        for c in [2, 4, 16] {
            for rho in [0.3, 0.6, 0.9] {
                let s = 0.01;
                let lambda = rho * c as f64 / s;
                let d = GGc::new(c, lambda, s, 1.0, 0.0).unwrap();
                let m = GGc::new(c, lambda, s, 1.0, 1.0).unwrap();
                assert!(d.mean_wait() < m.mean_wait(), "c={c} ρ={rho}");
                assert!(
                    d.mean_wait() > 0.4 * m.mean_wait(),
                    "c={c} ρ={rho}: Cosmetatos stays near half"
                );
            }
        }
    }

    #[test]
    fn overload_is_unstable_not_a_number() {
        let e = GGc::new(2, 300.0, 0.01, 1.0, 1.0).unwrap_err();
        assert_eq!(e.servers_needed, 4);
    }
}
