//! Fork-join means: where the lattice's independence overstates the mean of a request that
//! visits every shard of a service.
//!
//! The shards of a service see the same requests at the same moments, so their sojourns are
//! positively correlated and the slowest of them is faster on average than the slowest of
//! independent copies (the lattice's product of CDFs). Nelson and Tantawi's approximation
//! (exact for two shards, Flatto–Hahn) gives the fork-join mean of k M/M/1 shards at
//! utilisation ρ; the predictor scales the independent mean of the slowest shard by the same
//! ratio, NT(k, ρ) / (H_k · R₁), for any shard station. Percentiles keep the independence
//! bound, which the simulator finds within 4% at p99 (docs/models.md).
//!
//! Applied to a workload entering a sharded service and to the synchronous calls of its entry
//! endpoint that visit a sharded service (sequential `times N` counts N forks). Not applied
//! inside `parallel` groups, to calls with a timeout, or to forks deeper in the call tree.
//!
//! A fan-out (`times N parallel`) of the entry endpoint shares one queue rather than one
//! arrival instant on separate queues: when its callee is one M/M/c queue fed only by it, the
//! slowest request's mean is replaced by the exact M^N/M/c one (`queueing::batchmax`).

use super::{Predictor, Wait, harmonic};
use crate::model::{Balance, Call, ServiceTime, Step};
use crate::queueing::batchmax::batch_max_mean;
use crate::queueing::forkjoin::fork_join_mean;
use crate::queueing::lattice::Compact;

impl<'m> Predictor<'m> {
    /// NT(k, ρ) / (H_k · R₁) for the shards of `service`: 1 when it has one shard or no
    /// steady state.
    pub(super) fn fork_ratio(&mut self, service: &'m str) -> f64 {
        let (id, s) = self.find(service);
        self.station(service);
        let built = self.stations[id].as_ref().expect("built above");
        let (shards, rho) = (s.shards, built.1.utilization.unwrap_or(0.0));
        if shards < 2 || !(0.0..1.0).contains(&rho) {
            return 1.0;
        }
        fork_join_mean(shards, rho, 1.0) / harmonic(shards)
    }

    /// By how much the lattice overstates the mean latency of a request entering `service`'s
    /// `endpoint` through the sharded calls of that endpoint, on a grid of spacing `step`.
    pub(super) fn fork_excess(&mut self, service: &'m str, endpoint: &'m str, step: f64) -> f64 {
        let e = self
            .find(service)
            .1
            .endpoint(endpoint)
            .expect("endpoint exists");
        let hit = e.cache.as_ref().map_or(0.0, |c| c.hit_ratio);
        let mut excess = 0.0;
        for s in &e.steps {
            let Step::Call(c) = s else { continue };
            let shards = self.find(&c.service).1.shards;
            if c.fanout && !c.is_async && c.timeout_s.is_none() {
                // A fan-out into one M/M/c queue: the exact mean of its slowest request.
                if let Some(exact) = self.fanout_mean(service, endpoint, c) {
                    let slowest = self
                        .lattice_rc(&c.service, &c.endpoint, step)
                        .max_of(c.times);
                    excess += c.probability * (slowest.mean() - exact);
                }
                continue;
            }
            if c.is_async || c.fanout || c.timeout_s.is_some() || shards < 2 {
                continue;
            }
            let ratio = self.fork_ratio(&c.service);
            let slowest = self
                .lattice_rc(&c.service, &c.endpoint, step)
                .max_of(shards);
            excess += c.probability * c.times as f64 * (1.0 - ratio) * slowest.mean();
        }
        (1.0 - hit) * excess
    }

    /// The mean of the slowest of a `times X parallel` call's requests (M^X/M/c,
    /// `queueing::batchmax`), when the callee is one FIFO queue of exponential servers whose
    /// endpoint makes no calls and whose only traffic is this call from an unsharded caller,
    /// so that the batches arrive together and alone (Poisson batches assumed).
    fn fanout_mean(&mut self, caller: &'m str, endpoint: &'m str, c: &'m Call) -> Option<f64> {
        let (_, caller_service) = self.find(caller);
        let (id, s) = self.find(&c.service);
        if c.times < 2 || caller_service.shards > 1 || s.shards > 1 || s.workers_blocking {
            return None;
        }
        let Wait::Exponential { .. } = self.station(&c.service) else {
            return None;
        };
        let queues = match s.balance {
            Balance::Shared => 1,
            _ => self.replicas(s).unwrap_or(1),
        };
        let exponential = s.endpoints.iter().all(|e| {
            matches!(e.time, ServiceTime::Exp { .. }) && e.cache.is_none() && e.batch.is_none()
        });
        let callee = s.endpoint(&c.endpoint)?;
        if queues != 1 || !exponential || !callee.steps.is_empty() {
            return None;
        }
        let load = &self.traffic.services[id];
        let (mean, scv) = (load.mean_service_s?, load.service_scv?);
        let caller_load = self.endpoint_load(caller_service, {
            (caller_service.endpoints.iter()).position(|e| e.name == endpoint)?
        });
        let calls = caller_load.miss_rate * c.probability * c.times as f64;
        let only = (calls - load.rate_per_shard).abs() <= 1e-9 * load.rate_per_shard;
        let servers = self.stations[id].as_ref()?.1.servers?;
        if !only || (scv - 1.0).abs() > 1e-9 || calls <= 0.0 {
            return None;
        }
        batch_max_mean(servers, c.times, calls / c.times as f64, 1.0 / mean)
    }

    /// The fork-join correction of a workload's mean: `entry` is the entry endpoint's lattice
    /// on the workload's grid, before any shard maximum.
    pub(super) fn workload_fork_excess(
        &mut self,
        service: &'m str,
        endpoint: &'m str,
        entry: &Compact,
    ) -> f64 {
        let shards = self.find(service).1.shards;
        if shards > 1 {
            (1.0 - self.fork_ratio(service)) * entry.max_of(shards).mean()
        } else {
            self.fork_excess(service, endpoint, entry.step)
        }
    }
}
