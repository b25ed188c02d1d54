//! `kendall simulate`: a discrete-event simulator of a checked [`Model`], the referee for the
//! analytic predictor ([`crate::queueing`]). It shares no code with the predictor: it samples
//! its own distributions and measures what happens, so where the two disagree, the predictor's
//! approximations are what to doubt. `docs/simulate.md` is the user's page.
//!
//! # What is simulated
//!
//! * **Workloads.** Every request workload (not jobs) sends requests to its entry endpoint at
//!   `rate × load`: `poisson` with exponential gaps; `bursty(scv k)` as a renewal process with
//!   that SCV — for k > 1 a two-phase hyperexponential with balanced means (phase i taken with
//!   probability pᵢ and mean m/(2pᵢ), p₁ = ½(1 + √((k−1)/(k+1)))), for k < 1 gamma gaps of shape
//!   1/k (Erlang-n when k = 1/n), exponential at k = 1; `trace(…)` replays the caller's
//!   timestamps ([`Options::traces`]), gaps scaled so that their mean is 1/(rate × load) (a
//!   factor 1/load when the design's rate is the trace's own), from a random position in each
//!   replication and wrapping around at the end.
//! * **Stations.** A service has one station per shard, each with replicas × workers servers
//!   (replicas: the [`Options::replicas`] override, else the design's pin or lower bound, else
//!   1). A call or a workload entry visits every shard and is answered when the slowest shard
//!   is done. `balance shared` is one FIFO queue for all servers; the other policies give each
//!   replica its own FIFO queue with `workers` servers and pick one: `random` uniformly,
//!   `round_robin` cyclically, `least_request` the replica with the fewest requests queued or
//!   holding a worker (ties to the lowest index).
//! * **A visit** (one shard). With probability `cache.hit_ratio` it is a hit: it holds a server
//!   for `hit_time` and is answered, making no calls. Otherwise it holds a server for the
//!   endpoint's `time`, then runs its steps in order. Workers are released after the own work,
//!   unless `workers N blocking`, which holds the worker until the steps are done too. Every
//!   shard runs the endpoint's steps: a call to a sharded service makes its downstream calls
//!   once per shard.
//! * **Steps.** A call is made with probability `when`; `times N` makes N calls one after
//!   another, `times N parallel` makes them at once and waits for all; `async` calls are sent
//!   and not waited for. A `parallel` group runs its members at once and waits for all. With a
//!   `timeout T`, an attempt not answered within T is abandoned by the caller (the callee keeps
//!   working on it) and retried, up to `retries` more times; when the last attempt also times
//!   out, the call ends at that timeout and counts as failed.
//! * **`kind external`**: a pure delay, the endpoint's `time`, with no queue.
//! * **Dynamic batching**: a service with a batching endpoint has one queue per shard shared by
//!   all its replicas × workers instances, and the first batching endpoint's `batch` and `time`
//!   apply to all its requests. An idle instance takes `max` requests when that many wait, or
//!   all waiting (up to `max`) once the oldest has waited `wait` (at once when `wait` is 0); a
//!   batch of b takes A + B·b, and then each member runs its steps. A cache hit in front of a
//!   batching endpoint answers in `hit_time` without joining a batch. `blocking` does not apply.
//! * **Service times**: `exp`, `const`, `lognormal(mean, cv)`, `gamma(mean, cv)`, `uniform`,
//!   fitted percentiles as the lognormal through both, and `empirical` samples drawn uniformly.
//!
//! # Measurement
//!
//! Each of [`Options::replications`] independent replications (xoshiro256++ streams: the
//! [`Options::seed`] stream jumped ahead 2¹²⁸ draws per replication) runs until
//! [`Options::requests`] measured requests have completed. The first ⌊requests / 10⌋
//! arrivals (over all workloads) are the warm-up: they run but are not measured. The
//! measured requests are the next `requests` arrivals; time averages (utilisation, requests
//! in a station or in flight) and station arrivals, waits and sojourns cover the window from
//! the first measured arrival to the arrival after the last one. Arrivals continue until every
//! measured request is done, so the load never drains while it is measured.
//!
//! Each figure is estimated per replication (a workload's p99 is the p99 of that replication's
//! latencies, interpolated between order statistics); the reported value is the mean over
//! replications, with the half-width t(0.975, R−1)·s/√R of its 95% confidence interval.
//!
//! The result is a pure function of the model and [`Options`]: replications may run on
//! several threads, but they are combined in replication order, so a seed always gives the
//! same figures to the bit.

mod arrivals;
mod engine;
mod network;
pub mod report;
mod sample;
mod stations;
mod stats;

pub use arrivals::{TraceError, parse_trace};
pub use stats::t975;

use crate::model::Model;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Measured requests per replication, over all workloads.
    pub requests: u64,
    pub replications: u32,
    pub seed: u64,
    /// Multiplies every workload's rate.
    pub load: f64,
    /// Replicas per service (per shard), overriding the design's pin or lower bound.
    pub replicas: BTreeMap<String, u32>,
    /// Arrival timestamps (seconds) of each `trace(…)` workload, by workload name; the library
    /// reads no files (see [`parse_trace`]).
    pub traces: BTreeMap<String, Vec<f64>>,
    /// Threads to run replications on; 0 for as many as the machine has. The result does not
    /// depend on it.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            requests: 200_000,
            replications: 10,
            seed: 1,
            load: 1.0,
            replicas: BTreeMap::new(),
            traces: BTreeMap::new(),
            threads: 0,
        }
    }
}

/// A mean over replications and the half-width of its 95% confidence interval (`None` with a
/// single replication).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    pub seed: u64,
    /// Measured requests per replication.
    pub requests: u64,
    /// Warm-up arrivals per replication.
    pub warmup: u64,
    pub replications: u32,
    pub load: f64,
    /// Station visits over all replications (one per shard, external call or batch member).
    pub visits: u64,
    /// Request workloads, in the design's order.
    pub workloads: Vec<WorkloadResult>,
    /// Every service, in the design's order.
    pub services: Vec<ServiceResult>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadResult {
    pub name: String,
    /// The offered rate: the design's rate × load.
    pub rate_rps: f64,
    /// The measured arrival rate in the window.
    pub arrival_rps: Estimate,
    /// End-to-end latency, seconds.
    pub mean_s: Estimate,
    pub p50_s: Estimate,
    pub p95_s: Estimate,
    pub p99_s: Estimate,
    pub p999_s: Estimate,
    pub slos: Vec<SloResult>,
    /// Measured requests over all replications.
    pub requests: u64,
    /// Time-averaged requests of this workload in flight.
    pub in_flight_mean: Estimate,
    pub calls: CallCounts,
    /// False when a station the workload waits on is saturated: then its latencies grow with
    /// the length of the run and describe no steady state.
    pub stable: bool,
}

/// Calls with a timeout made by the measured requests (and their async descendants), over all
/// replications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Calls with a timeout.
    pub timed: u64,
    pub attempts: u64,
    pub timeouts: u64,
    /// Calls whose every attempt timed out.
    pub failed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SloResult {
    pub stat: String,
    pub target_s: f64,
    pub simulated_s: Estimate,
    /// The estimate is below the target.
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceResult {
    pub name: String,
    pub external: bool,
    pub batching: bool,
    /// Per shard; `None` for external services.
    pub replicas: Option<u32>,
    pub servers: Option<u32>,
    /// Arrivals per second at one shard.
    pub arrival_rps: Estimate,
    /// Busy servers / servers (time-averaged). For batching, the load fraction: arrivals over
    /// the throughput of full batches, λ·s(max) / (instances · max).
    pub utilization: Option<Estimate>,
    /// Busy servers (instances) / servers, time-averaged, for every kind of station.
    pub busy_fraction: Option<Estimate>,
    /// From arrival to a server starting (to the batch leaving, for batching), seconds.
    pub wait_mean_s: Option<Estimate>,
    /// From arrival to releasing the server: wait + own time (+ the calls, for blocking
    /// workers; + the batch, for batching; the delay, for external services).
    pub sojourn_mean_s: Option<Estimate>,
    pub sojourn_p99_s: Option<Estimate>,
    /// Time-averaged requests in one shard's station (queued or holding a server).
    pub in_system_mean: Estimate,
    /// Utilisation ≥ 0.99, or its queue grew through the window by more than 5% of the
    /// window's arrivals (and at least 50).
    pub saturated: bool,
    /// Per replication, over its shards: every arrival of the run is a completion or still in
    /// the station at the end.
    pub counts: Vec<Counts>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub arrivals: u64,
    pub completions: u64,
    pub in_flight: u64,
}

/// Why there is no simulation.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    InvalidOptions(String),
    NoRequestWorkloads,
    UnknownService(String),
    ExternalReplicas(String),
    MissingTrace {
        workload: String,
    },
    BadWorkload {
        workload: String,
        message: String,
    },
    InvalidTime {
        service: String,
        endpoint: String,
    },
    UnknownEndpoint {
        service: String,
        endpoint: String,
    },
    /// Calls loop with a total multiplier of at least 1.
    Divergent {
        services: Vec<String>,
    },
    /// More than 2²⁷ requests and calls in flight at once.
    Runaway,
    Internal(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidOptions(m) => f.write_str(m),
            Error::NoRequestWorkloads => {
                f.write_str("the design has no request workloads: nothing to simulate")
            }
            Error::UnknownService(s) => write!(f, "no service named `{s}`"),
            Error::ExternalReplicas(s) => write!(f, "`{s}` is external: it has no replicas"),
            Error::MissingTrace { workload } => {
                write!(
                    f,
                    "workload `{workload}` replays a trace, but no timestamps were given"
                )
            }
            Error::BadWorkload { workload, message } => {
                write!(f, "workload `{workload}`: {message}")
            }
            Error::InvalidTime { service, endpoint } => {
                write!(f, "`{service}.{endpoint}` has no time that can be sampled")
            }
            Error::UnknownEndpoint { service, endpoint } => {
                write!(
                    f,
                    "a call names `{service}.{endpoint}`, which does not exist"
                )
            }
            Error::Divergent { services } => {
                let names: Vec<String> = services.iter().map(|s| format!("`{s}`")).collect();
                write!(
                    f,
                    "calls between {} multiply load without bound",
                    names.join(", ")
                )
            }
            Error::Runaway => write!(
                f,
                "more than {} requests and calls in flight at once: the design is far past its capacity",
                engine::MAX_FRAMES
            ),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Simulates `model` (see the module documentation for what and how).
pub fn simulate(model: &Model, options: &Options) -> Result<Simulation, Error> {
    simulate_with_progress(model, options, &|_| {})
}

/// [`simulate`], telling `progress` of measured requests as they complete (in steps, from any
/// thread); the increments add up to `requests × replications`.
pub fn simulate_with_progress(
    model: &Model,
    options: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Simulation, Error> {
    if options.requests == 0 {
        return Err(Error::InvalidOptions(
            "at least one request must be simulated".into(),
        ));
    }
    if options.replications == 0 {
        return Err(Error::InvalidOptions(
            "at least one replication must be run".into(),
        ));
    }
    if !(options.load.is_finite() && options.load > 0.0) {
        return Err(Error::InvalidOptions(format!(
            "the load multiplier {} is not positive",
            options.load
        )));
    }
    let net = network::Net::build(model, options)?;
    let warmup = options.requests / 10;
    let r = options.replications as usize;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, r);
    let qs = stats::quantiles(model, &net);
    let run = |i: usize| -> Option<stats::Summary> {
        let mut rng = sample::SimRng::seed_from_u64(options.seed);
        for _ in 0..i {
            rng.jump();
        }
        let raw = engine::Engine::new(&net, rng, warmup, options.requests, progress).run()?;
        Some(stats::reduce(&net, &qs, raw))
    };
    let mut slots: Vec<Option<Option<stats::Summary>>> = (0..r).map(|_| None).collect();
    if threads == 1 {
        for (i, slot) in slots.iter_mut().enumerate() {
            *slot = Some(run(i));
        }
    } else {
        let next = AtomicUsize::new(0);
        let done = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= r {
                                return out;
                            }
                            out.push((i, run(i)));
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
        });
        for finished in done {
            let finished =
                finished.map_err(|_| Error::Internal("a replication thread panicked".into()))?;
            for (i, rep) in finished {
                slots[i] = Some(rep);
            }
        }
    }
    let mut runs = Vec::with_capacity(r);
    for slot in slots {
        match slot {
            Some(Some(rep)) => runs.push(rep),
            Some(None) => return Err(Error::Runaway),
            None => return Err(Error::Internal("a replication did not run".into())),
        }
    }
    Ok(stats::summarise(model, &net, options, warmup, &qs, &runs))
}

/// Whether the simulation fails the design: an SLO unmet or a station saturated (exit 1).
pub fn failed(s: &Simulation) -> bool {
    s.services.iter().any(|s| s.saturated)
        || s.workloads.iter().any(|w| w.slos.iter().any(|s| !s.met))
}
