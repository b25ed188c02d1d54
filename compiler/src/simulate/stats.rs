//! From replications to estimates: per-replication figures, then their mean and a 95%
//! confidence interval from Student's t over the independent replications.

use super::network::{NONE, Net};
use super::{
    CallCounts, Counts, Estimate, Options, ServiceResult, Simulation, SloResult, WorkloadResult,
};
use crate::model::Model;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// What one replication measured at one station.
pub(crate) struct StationRun {
    /// Arrivals during the measurement window.
    pub window_arrivals: u64,
    /// Time-averaged busy servers (instances for batching) over the window.
    pub busy_mean: f64,
    /// Time-averaged requests in the station over the window.
    pub present_mean: f64,
    /// Requests in the station at the window's end minus at its start.
    pub growth: i64,
    /// Waits and sojourns of the requests that arrived in the window.
    pub wait_sum: f64,
    pub wait_n: u64,
    pub sojourn_sum: f64,
    pub sojourns: Vec<f64>,
    /// Over the whole run, and in the station when it stopped.
    pub arrivals: u64,
    pub completions: u64,
    pub present: u64,
}

/// What one replication measured for one workload.
pub(crate) struct WorkloadRun {
    pub window_arrivals: u64,
    pub in_flight_mean: f64,
    /// End-to-end latencies of the measured requests.
    pub latencies: Vec<f64>,
    pub calls: u64,
    pub attempts: u64,
    pub timeouts: u64,
    pub failures: u64,
}

pub(crate) struct Replication {
    /// Length of the measurement window, seconds.
    pub window: f64,
    pub visits: u64,
    pub stations: Vec<StationRun>,
    pub workloads: Vec<WorkloadRun>,
}

/// The mean of per-replication values with the half-width of its 95% confidence interval,
/// t(0.975, R − 1) · s / √R. No interval from fewer than 2 values.
pub(crate) fn estimate(values: &[f64]) -> Option<Estimate> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ci95 = (n > 1).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t975(n - 1) * (var / n as f64).sqrt()
    });
    Some(Estimate { mean, ci95 })
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// The q-quantile of sorted data, interpolated between order statistics (R's type 7).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// [`quantile`] of unsorted data, by selection rather than a sort: O(n). Reorders `data`.
pub(crate) fn quantile_unsorted(data: &mut [f64], q: f64) -> Option<f64> {
    let n = data.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let (_, x, above) = data.select_nth_unstable_by(lo, f64::total_cmp);
    let x = *x;
    let next = above.iter().copied().fold(f64::INFINITY, f64::min);
    Some(if next.is_finite() {
        x + (h - lo as f64) * (next - x)
    } else {
        x
    })
}

/// Utilisation at or above this, or a queue growing by more than [`GROWTH`] of the window's
/// arrivals, marks a station saturated.
const SATURATED: f64 = 0.99;
const GROWTH: f64 = 0.05;

/// One replication reduced to its figures, so that its samples can be dropped at once.
pub(crate) struct Summary {
    visits: u64,
    workloads: Vec<WorkloadFigures>,
    services: Vec<ServiceFigures>,
}

struct WorkloadFigures {
    /// At the quantiles of [`quantiles`], in order.
    quantiles: Vec<Option<f64>>,
    mean: Option<f64>,
    requests: u64,
    /// `None` when the window has no length.
    rate: Option<f64>,
    in_flight: Option<f64>,
    calls: CallCounts,
}

/// Per shard, averaged over the service's shards.
struct ServiceFigures {
    rate: Option<f64>,
    utilization: Option<f64>,
    busy: Option<f64>,
    present: Option<f64>,
    wait: Option<f64>,
    sojourn: Option<f64>,
    p99: Option<f64>,
    /// Requests in the stations at the window's end minus at its start, and the window's
    /// arrivals, over all shards.
    growth: f64,
    window_arrivals: f64,
    counts: Counts,
}

/// The latency quantiles reported for a workload: p50, p95, p99, p99.9, then its SLOs'.
pub(crate) fn quantiles(model: &Model, net: &Net) -> Vec<Vec<f64>> {
    net.workloads
        .iter()
        .map(|wl| {
            let mut qs = vec![0.5, 0.95, 0.99, 0.999];
            qs.extend(
                model.workloads[wl.model_index]
                    .slos
                    .iter()
                    .filter_map(|s| s.quantile),
            );
            qs
        })
        .collect()
}

pub(crate) fn reduce(net: &Net, qs: &[Vec<f64>], mut run: Replication) -> Summary {
    let window = run.window;
    let per_time = |x: f64| (window > 0.0).then(|| x / window);
    let workloads = run
        .workloads
        .iter_mut()
        .zip(qs)
        .map(|(r, qs)| {
            r.latencies.sort_unstable_by(f64::total_cmp);
            let n = r.latencies.len();
            WorkloadFigures {
                quantiles: qs.iter().map(|&q| quantile(&r.latencies, q)).collect(),
                mean: (n > 0).then(|| r.latencies.iter().sum::<f64>() / n as f64),
                requests: n as u64,
                rate: per_time(r.window_arrivals as f64),
                in_flight: (window > 0.0).then_some(r.in_flight_mean),
                calls: CallCounts {
                    timed: r.calls,
                    attempts: r.attempts,
                    timeouts: r.timeouts,
                    failed: r.failures,
                },
            }
        })
        .collect();
    let mut pooled = Vec::new();
    let services = net
        .services
        .iter()
        .map(|s| {
            let st =
                &mut run.stations[s.first_station as usize..(s.first_station + s.shards) as usize];
            let shards = s.shards as f64;
            let servers = (s.replicas * s.workers) as f64;
            let sum = |f: &dyn Fn(&StationRun) -> f64| st.iter().map(f).sum::<f64>();
            let arrivals = sum(&|r| r.window_arrivals as f64);
            let rate = per_time(arrivals / shards);
            let busy = (!s.external && servers > 0.0 && window > 0.0)
                .then(|| sum(&|r| r.busy_mean) / shards / servers);
            let utilization = match (s.batch, rate) {
                // The load fraction: arrivals over the throughput of full batches.
                (Some(spec), Some(rate)) => {
                    Some(rate * spec.time(spec.max) / (servers * spec.max as f64))
                }
                _ => busy,
            };
            let waits = st.iter().map(|r| r.wait_n).sum::<u64>();
            let sojourn_sum = sum(&|r| r.sojourn_sum);
            let counts = Counts {
                arrivals: st.iter().map(|r| r.arrivals).sum(),
                completions: st.iter().map(|r| r.completions).sum(),
                in_flight: st.iter().map(|r| r.present).sum(),
            };
            let (growth, present) = (sum(&|r| r.growth as f64), sum(&|r| r.present_mean));
            let wait = (waits > 0).then(|| sum(&|r| r.wait_sum) / waits as f64);
            pooled.clear();
            for r in st.iter_mut() {
                pooled.append(&mut r.sojourns);
            }
            ServiceFigures {
                rate,
                utilization,
                busy,
                present: (window > 0.0).then_some(present / shards),
                wait,
                sojourn: (!pooled.is_empty()).then(|| sojourn_sum / pooled.len() as f64),
                p99: quantile_unsorted(&mut pooled, 0.99),
                growth,
                window_arrivals: arrivals,
                counts,
            }
        })
        .collect();
    Summary {
        visits: run.visits,
        workloads,
        services,
    }
}

pub(crate) fn summarise(
    model: &Model,
    net: &Net,
    options: &Options,
    warmup: u64,
    qs: &[Vec<f64>],
    runs: &[Summary],
) -> Simulation {
    let zero = Estimate {
        mean: 0.0,
        ci95: None,
    };
    let over = |f: &dyn Fn(&Summary) -> Option<f64>| {
        estimate(&runs.iter().filter_map(f).collect::<Vec<f64>>())
    };
    let services: Vec<ServiceResult> = net
        .services
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let get = |f: &dyn Fn(&ServiceFigures) -> Option<f64>| over(&|r| f(&r.services[si]));
            let utilization = get(&|f| f.utilization);
            let n = runs.len().max(1) as f64;
            let growth = runs.iter().map(|r| r.services[si].growth).sum::<f64>() / n;
            let arrivals = runs
                .iter()
                .map(|r| r.services[si].window_arrivals)
                .sum::<f64>()
                / n;
            let saturated = !s.external
                && (utilization.is_some_and(|u| u.mean >= SATURATED)
                    || growth > (GROWTH * arrivals).max(50.0));
            let queued = !s.external;
            ServiceResult {
                name: model.services[si].name.clone(),
                external: s.external,
                batching: s.batch.is_some(),
                replicas: queued.then_some(s.replicas),
                servers: queued.then_some(s.replicas * s.workers),
                arrival_rps: get(&|f| f.rate).unwrap_or(zero),
                utilization: queued.then(|| utilization.unwrap_or(zero)),
                busy_fraction: queued.then(|| get(&|f| f.busy).unwrap_or(zero)),
                wait_mean_s: if queued { get(&|f| f.wait) } else { None },
                sojourn_mean_s: get(&|f| f.sojourn),
                sojourn_p99_s: get(&|f| f.p99),
                in_system_mean: get(&|f| f.present).unwrap_or(zero),
                saturated,
                counts: runs.iter().map(|r| r.services[si].counts).collect(),
            }
        })
        .collect();
    let saturated: Vec<bool> = services.iter().map(|s| s.saturated).collect();
    let workloads = net
        .workloads
        .iter()
        .enumerate()
        .map(|(wi, wl)| {
            let w = &model.workloads[wl.model_index];
            let get = |f: &dyn Fn(&WorkloadFigures) -> Option<f64>| {
                over(&|r| f(&r.workloads[wi])).unwrap_or(zero)
            };
            let at = |i: usize| get(&|f| f.quantiles.get(i).copied().flatten());
            let mean = get(&|f| f.mean);
            let slos = w
                .slos
                .iter()
                .map(|slo| {
                    let simulated_s = match slo.quantile {
                        None => mean,
                        Some(q) => at(qs[wi].iter().position(|x| *x == q).unwrap_or(0)),
                    };
                    SloResult {
                        stat: slo.stat.clone(),
                        target_s: slo.target_s,
                        simulated_s,
                        met: simulated_s.mean < slo.target_s,
                    }
                })
                .collect();
            let mut calls = CallCounts::default();
            for r in runs {
                let c = r.workloads[wi].calls;
                calls.timed += c.timed;
                calls.attempts += c.attempts;
                calls.timeouts += c.timeouts;
                calls.failed += c.failed;
            }
            WorkloadResult {
                name: w.name.clone(),
                rate_rps: wl.rate,
                arrival_rps: get(&|f| f.rate),
                mean_s: mean,
                p50_s: at(0),
                p95_s: at(1),
                p99_s: at(2),
                p999_s: at(3),
                slos,
                requests: runs.iter().map(|r| r.workloads[wi].requests).sum(),
                in_flight_mean: get(&|f| f.in_flight),
                calls,
                stable: !reaches_saturated(net, wl.entry, &saturated),
            }
        })
        .collect();
    Simulation {
        seed: options.seed,
        requests: options.requests,
        warmup,
        replications: options.replications,
        load: options.load,
        visits: runs.iter().map(|r| r.visits).sum(),
        workloads,
        services,
    }
}

/// Whether a request at `endpoint` waits (synchronously) on a saturated station.
fn reaches_saturated(net: &Net, endpoint: u32, saturated: &[bool]) -> bool {
    let mut seen = vec![false; net.endpoints.len()];
    let mut stack = vec![endpoint];
    while let Some(e) = stack.pop() {
        if std::mem::replace(&mut seen[e as usize], true) {
            continue;
        }
        let ep = &net.endpoints[e as usize];
        if saturated[ep.service as usize] {
            return true;
        }
        if ep.body != NONE {
            net.each_call(ep.body, &mut |c| {
                if !c.is_async {
                    stack.push(c.callee);
                }
            });
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_use_students_t() {
        let e = estimate(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(e.mean, 2.5);
        // s = sqrt(5/3), t(0.975, 3) = 3.182446305284263.
        let want = 3.182_446_305_284_263 * (5.0f64 / 3.0 / 4.0).sqrt();
        assert!((e.ci95.unwrap() - want).abs() < 1e-9, "{e:?}");
        assert_eq!(estimate(&[7.0]).unwrap().ci95, None);
        assert!(estimate(&[]).is_none());
        assert!((t975(9) - 2.262_157_162_740_992).abs() < 1e-9);
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&x, 0.5), Some(3.0));
        assert_eq!(quantile(&x, 0.9), Some(4.6));
        assert_eq!(quantile(&x, 1.0), Some(5.0));
        assert_eq!(quantile(&[], 0.5), None);
        let mut shuffled = [4.0, 1.0, 5.0, 3.0, 2.0];
        assert_eq!(quantile_unsorted(&mut shuffled, 0.9), Some(4.6));
        assert_eq!(quantile_unsorted(&mut [2.0], 0.99), Some(2.0));
        assert_eq!(quantile_unsorted(&mut [], 0.5), None);
    }
}
