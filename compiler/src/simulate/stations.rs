//! Stations: one per shard of a service. Their replica pools and FIFO queues, the balance
//! policies that pick a pool, the batching queue, and the time-averaged counters every station
//! keeps.

use super::network::{BatchSpec, Net};
use super::sample::SimRng;
use crate::model::Balance;
use rand::RngExt;
use std::collections::VecDeque;

/// Servers with one FIFO queue in front of them.
pub(crate) struct Pool {
    pub servers: u32,
    pub busy: u32,
    /// Waiting jobs (frame indices), oldest first.
    pub waiting: VecDeque<u32>,
}

/// The instances of a batching service and their one shared queue.
pub(crate) struct Batcher {
    pub spec: BatchSpec,
    /// Idle instances, by index.
    pub idle: Vec<u32>,
    /// The jobs of each instance's current batch (kept allocated between batches).
    pub members: Vec<Vec<u32>>,
    pub queue: VecDeque<u32>,
    /// When the pending "oldest has waited long enough" timer fires; infinite when none is.
    pub timer_at: f64,
    /// Timers carry this; a timer with an older value is stale.
    pub timer_epoch: u32,
}

pub(crate) enum Kind {
    /// `kind external`: a pure delay, no queue.
    Delay,
    /// `shared`: one pool of replicas × workers; other policies: one pool per replica.
    Pools {
        pools: Vec<Pool>,
        balance: Balance,
        next: u32,
    },
    Batch(Batcher),
}

pub(crate) struct Station {
    pub kind: Kind,
    pub stats: Counters,
}

impl Station {
    pub(crate) fn new(net: &Net, service: u32) -> Station {
        let s = &net.services[service as usize];
        let kind = if s.external {
            Kind::Delay
        } else if let Some(spec) = s.batch {
            let instances = s.replicas * s.workers;
            Kind::Batch(Batcher {
                spec,
                idle: (0..instances).rev().collect(),
                members: (0..instances).map(|_| Vec::new()).collect(),
                queue: VecDeque::new(),
                timer_at: f64::INFINITY,
                timer_epoch: 0,
            })
        } else {
            let (n, servers) = match s.balance {
                Balance::Shared => (1, s.replicas * s.workers),
                _ => (s.replicas, s.workers),
            };
            Kind::Pools {
                pools: (0..n)
                    .map(|_| Pool {
                        servers,
                        busy: 0,
                        waiting: VecDeque::new(),
                    })
                    .collect(),
                balance: s.balance,
                next: 0,
            }
        };
        Station {
            kind,
            stats: Counters::default(),
        }
    }
}

/// Which pool a new arrival joins.
#[inline]
pub(crate) fn choose(pools: &[Pool], balance: Balance, next: &mut u32, rng: &mut SimRng) -> u32 {
    match balance {
        Balance::Shared => 0,
        Balance::Random => rng.random_range(0..pools.len() as u32),
        Balance::RoundRobin => {
            let i = *next;
            *next = if i + 1 == pools.len() as u32 {
                0
            } else {
                i + 1
            };
            i
        }
        // Fewest requests in the replica (queued + holding a worker); ties to the lowest index.
        Balance::LeastRequest => {
            let mut best = 0;
            let mut fewest = usize::MAX;
            for (i, p) in pools.iter().enumerate() {
                let n = p.waiting.len() + p.busy as usize;
                if n < fewest {
                    fewest = n;
                    best = i;
                }
            }
            best as u32
        }
    }
}

/// How many queued requests a free batching instance takes now, if any: `max` when that many
/// wait; all (up to `max`) when greedy (`wait` 0) or when the oldest has waited `wait`.
#[inline]
pub(crate) fn batch_size(spec: &BatchSpec, queued: usize, oldest: f64, now: f64) -> Option<u32> {
    let max = spec.max as usize;
    if queued == 0 {
        None
    } else if queued >= max {
        Some(spec.max)
    } else if spec.wait <= 0.0 || now >= oldest + spec.wait {
        Some(queued as u32)
    } else {
        None
    }
}

/// A station's counts and time integrals. `present` counts requests in the station: queued,
/// holding a server (for blocking workers, through their calls too), in a batch, or in a delay.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    last: f64,
    pub busy: u32,
    pub present: u32,
    busy_area: f64,
    present_area: f64,
    /// Over the whole run.
    pub arrivals: u64,
    pub completions: u64,
    /// Over the measurement window.
    pub window_arrivals: u64,
    pub start: Snapshot,
    pub end: Snapshot,
    pub wait_sum: f64,
    pub wait_n: u64,
    pub sojourn_sum: f64,
    pub sojourns: Vec<f64>,
}

/// The integrals at a window edge.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Snapshot {
    pub busy_area: f64,
    pub present_area: f64,
    pub present: u32,
}

impl Counters {
    /// Integrates up to `now`; call before any change of `busy` or `present`.
    #[inline]
    pub(crate) fn advance(&mut self, now: f64) {
        let dt = now - self.last;
        self.busy_area += self.busy as f64 * dt;
        self.present_area += self.present as f64 * dt;
        self.last = now;
    }

    pub(crate) fn snapshot(&mut self, now: f64) -> Snapshot {
        self.advance(now);
        Snapshot {
            busy_area: self.busy_area,
            present_area: self.present_area,
            present: self.present,
        }
    }

    #[inline]
    pub(crate) fn arrive(&mut self, now: f64, in_window: bool) {
        self.advance(now);
        self.present += 1;
        self.arrivals += 1;
        self.window_arrivals += in_window as u64;
    }

    #[inline]
    pub(crate) fn set_busy(&mut self, now: f64, busy: u32) {
        self.advance(now);
        self.busy = busy;
    }

    /// A request leaves after `sojourn`; counted when it arrived in the window.
    #[inline]
    pub(crate) fn leave(&mut self, now: f64, sojourn: f64, counted: bool) {
        self.advance(now);
        self.present -= 1;
        self.completions += 1;
        if counted {
            self.sojourn_sum += sojourn;
            self.sojourns.push(sojourn);
        }
    }

    #[inline]
    pub(crate) fn waited(&mut self, wait: f64, counted: bool) {
        if counted {
            self.wait_sum += wait;
            self.wait_n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn pools(loads: &[(u32, usize)]) -> Vec<Pool> {
        loads
            .iter()
            .map(|&(busy, waiting)| Pool {
                servers: 2,
                busy,
                waiting: (0..waiting as u32).collect(),
            })
            .collect()
    }

    #[test]
    fn policies_pick_the_pools_they_promise() {
        let mut rng = SimRng::seed_from_u64(1);
        let p = pools(&[(2, 1), (1, 0), (2, 0), (1, 0)]);
        let mut next = 0;
        let rr: Vec<u32> = (0..6)
            .map(|_| choose(&p, Balance::RoundRobin, &mut next, &mut rng))
            .collect();
        assert_eq!(rr, [0, 1, 2, 3, 0, 1]);
        // Replicas 1 and 3 both hold one request: the lower index wins.
        assert_eq!(choose(&p, Balance::LeastRequest, &mut next, &mut rng), 1);
        assert_eq!(choose(&p, Balance::Shared, &mut next, &mut rng), 0);
        let mut seen = [0; 4];
        for _ in 0..4000 {
            seen[choose(&p, Balance::Random, &mut next, &mut rng) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (900..1100).contains(&n)), "{seen:?}");
    }

    #[test]
    fn a_batch_leaves_when_full_greedy_or_timed_out() {
        let spec = BatchSpec {
            max: 4,
            wait: 0.005,
            base: 0.002,
            per_item: 0.001,
        };
        assert_eq!(batch_size(&spec, 0, 0.0, 1.0), None);
        assert_eq!(batch_size(&spec, 6, 1.0, 1.0), Some(4));
        assert_eq!(batch_size(&spec, 3, 1.0, 1.004), None);
        assert_eq!(batch_size(&spec, 3, 1.0, 1.005), Some(3));
        let greedy = BatchSpec { wait: 0.0, ..spec };
        assert_eq!(batch_size(&greedy, 2, 1.0, 1.0), Some(2));
        assert_eq!(spec.time(4), 0.006);
    }

    #[test]
    fn counters_integrate_over_time() {
        let mut c = Counters::default();
        c.arrive(1.0, true);
        c.set_busy(1.0, 1);
        c.arrive(2.0, true);
        c.set_busy(3.0, 0);
        c.leave(3.0, 2.0, true);
        c.leave(4.0, 2.0, false);
        let s = c.snapshot(5.0);
        // busy 1 over [1, 3]; present 1 over [1,2], 2 over [2,3], 1 over [3,4].
        assert_eq!(s.busy_area, 2.0);
        assert_eq!(s.present_area, 4.0);
        assert_eq!((c.arrivals, c.completions, c.present), (2, 2, 0));
        assert_eq!(c.sojourns, [2.0]);
    }
}
