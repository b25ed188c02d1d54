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
//! inside `parallel` groups, to fan-outs (`times N parallel`, whose requests share one queue
//! rather than one arrival instant on separate queues), to calls with a timeout, or to forks
//! deeper in the call tree.

use super::{Predictor, harmonic};
use crate::model::Step;
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
