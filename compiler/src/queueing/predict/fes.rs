//! Blocking stations solved together with their callees as a flow-equivalent server
//! ([`crate::queueing::fes`], docs/models.md §3.6) where the closed subnetwork is product form;
//! everywhere else the layered G/G/c model stands.

use super::stations::exponential_service;
use super::{Overload, Predictor, Wait};
use crate::model::{Balance, Model, ServiceKind, Step};
use crate::queueing::fes::{Callee, solve};

/// Label of a blocking station solved as a flow-equivalent server.
pub(super) const CALLER: &str = "blocking flow-equivalent server";
/// Label of its callees.
pub(super) const CALLEE: &str = "M/M/c in a closed subnetwork (FES)";

/// Workers beyond which a caller keeps the layered model: MVA costs O(c × servers) per
/// callee, and the search for the workers a saturated caller needs goes to 4× this.
const MAX_WORKERS: u32 = 4096;

/// A blocking station and the stations of its synchronous call tree.
#[derive(Clone, Debug)]
pub(super) struct Group {
    caller: usize,
    /// Service index, visits per request to the caller.
    callees: Vec<(usize, f64)>,
    solved: bool,
}

impl Group {
    /// The caller's index, then its callees'.
    pub(super) fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.caller).chain(self.callees.iter().map(|(k, _)| *k))
    }
}

impl<'m> Predictor<'m> {
    /// The groups the flow-equivalent server applies to: a blocking caller (its own mean may be
    /// 0, which the traffic leaves unset: a `const(0ms)` forwarder) with Poisson
    /// arrivals (QNA SCV 1, no bunches), one pool of workers (`shared`, or one replica), and a
    /// synchronous call tree of plain calls (no `parallel`, fan-out, timeout or retry) into
    /// non-blocking, unsharded, non-batching, internal stations of exponential service with
    /// one mean, no cache hits and one queue or a `random` split, each stable on its own and
    /// reached by nothing but that tree. `when`, `times N` and cache hits at the caller only
    /// change visit ratios and the caller's own mean, which product form allows.
    pub(super) fn fes_groups(&self) -> Vec<Group> {
        let model = self.model;
        let mut groups = Vec::new();
        for (id, s) in model.services.iter().enumerate() {
            let load = &self.traffic.services[id];
            let replicas = self.replicas(s).unwrap_or(1);
            let caller_ok = s.workers_blocking
                && matches!(s.kind, ServiceKind::Service | ServiceKind::Database)
                && s.shards == 1
                && s.endpoints.iter().all(|e| e.batch.is_none())
                && (s.balance == Balance::Shared || replicas == 1)
                && load.rate_per_shard > 0.0
                && replicas.saturating_mul(s.workers) <= MAX_WORKERS
                && (self.arrival_scv.get(id).copied().unwrap_or(1.0) - 1.0).abs() < 1e-9
                && !self.bunched.contains(s.name.as_str());
            if !caller_ok {
                continue;
            }
            let mut members = vec![id];
            if !self.tree(id, &mut members) || members.len() == 1 {
                continue;
            }
            if !reached_only_from(model, &members) {
                continue;
            }
            let callees = members[1..]
                .iter()
                .map(|&k| {
                    (
                        k,
                        self.traffic.services[k].rate_per_shard / load.rate_per_shard,
                    )
                })
                .collect();
            groups.push(Group {
                caller: id,
                callees,
                solved: false,
            });
        }
        groups
    }

    /// Adds the synchronous callees of service `id` (recursively) to `members`; false when
    /// one of them or a call to it is outside the model's reach.
    fn tree(&self, id: usize, members: &mut Vec<usize>) -> bool {
        let s = &self.model.services[id];
        for e in &s.endpoints {
            for step in &e.steps {
                let Step::Call(c) = step else {
                    return false;
                };
                if c.is_async {
                    continue;
                }
                if c.fanout || c.timeout_s.is_some() || c.retries > 0 {
                    return false;
                }
                let k = self.find(&c.service).0;
                if members.contains(&k) {
                    continue;
                }
                if !self.plain_queue(k) {
                    return false;
                }
                members.push(k);
                if !self.tree(k, members) {
                    return false;
                }
            }
        }
        true
    }

    /// A station the closed network can hold as a multi-server exponential queue, stable on
    /// its own.
    fn plain_queue(&self, k: usize) -> bool {
        let s = &self.model.services[k];
        let load = &self.traffic.services[k];
        let replicas = self.replicas(s).unwrap_or(1);
        let exponential = s.endpoints.iter().all(|e| e.batch.is_none())
            && load.service_scv.is_some_and(|v| exponential_service(s, v));
        let split = matches!(s.balance, Balance::Shared | Balance::Random) || replicas == 1;
        let (Some(mean), true) = (load.mean_service_s, load.rate_per_shard > 0.0) else {
            return false;
        };
        !s.workers_blocking
            && matches!(s.kind, ServiceKind::Service | ServiceKind::Database)
            && s.shards == 1
            && exponential
            && split
            && mean > 0.0
            && load.rate_per_shard * mean < (replicas * s.workers) as f64
    }

    pub(super) fn fes_solved(&self, g: usize) -> bool {
        self.fes[g].solved
    }

    /// Solves group `g` and stores its stations. A saturated caller is stored unstable and
    /// its callees are left to the open model.
    pub(super) fn solve_fes(&mut self, g: usize) {
        self.fes[g].solved = true;
        let group = self.fes[g].clone();
        let s = &self.model.services[group.caller];
        let load = &self.traffic.services[group.caller];
        let rate = load.rate_per_shard;
        let delay = load.mean_service_s.unwrap_or(0.0);
        let replicas = self.replicas(s).unwrap_or(1);
        let workers = replicas * s.workers;
        let callees: Vec<Callee> = (group.callees.iter())
            .map(|&(k, visits)| {
                let c = &self.model.services[k];
                let r = self.replicas(c).unwrap_or(1);
                let copies = if c.balance == Balance::Random { r } else { 1 };
                Callee {
                    copies,
                    servers: r * c.workers / copies,
                    service: self.traffic.services[k].mean_service_s.unwrap_or(0.0),
                    visits,
                }
            })
            .collect();
        let mut out = self.blank(s, rate);
        out.servers = Some(workers);
        let solution = match solve(rate, delay, &callees, workers, 4 * MAX_WORKERS) {
            Ok(f) => f,
            Err(sat) => {
                let needed = sat.workers_needed.unwrap_or(4 * MAX_WORKERS + 1);
                out.utilization = Some(sat.utilization);
                out.unstable = Some(Overload {
                    utilization: sat.utilization,
                    replicas_needed: needed.div_ceil(s.workers).max(replicas + 1),
                });
                out.model = "unstable";
                self.store(group.caller, Wait::Unstable, out);
                return;
            }
        };
        for (&(k, _), (c, &(p, w))) in group
            .callees
            .iter()
            .zip(callees.iter().zip(&solution.callees))
        {
            let service = &self.model.services[k];
            let mut o = self.blank(service, self.traffic.services[k].rate_per_shard);
            let servers = c.copies * c.servers;
            o.servers = Some(servers);
            o.utilization = Some(o.arrival_rps * c.service / servers as f64);
            o.wait_mean_s = Some(w);
            o.sojourn_mean_s = Some(w + c.service);
            o.model = CALLEE;
            let wait = Wait::exponential(p, w);
            o.sojourn_p99_s = self.station_p99(service, &wait, w + c.service);
            self.store(k, wait, o);
        }
        out.utilization = Some(solution.busy / workers as f64);
        out.wait_mean_s = Some(solution.mean_wait);
        // Little: the mean holding time is the mean number held over λ.
        out.sojourn_mean_s = Some(solution.mean_wait + solution.busy / rate);
        out.model = CALLER;
        let wait = Wait::Exponential {
            p: solution.p_wait,
            mean: 1.0 / solution.wait_rate,
        };
        self.store(group.caller, wait, out);
    }
}

/// Whether every call into a callee of `members` (all but the first) comes synchronously
/// from a member, and no workload enters one.
fn reached_only_from(model: &Model, members: &[usize]) -> bool {
    let callees: Vec<&str> = members[1..]
        .iter()
        .map(|&k| model.services[k].name.as_str())
        .collect();
    if (model.workloads.iter()).any(|w| callees.contains(&w.entry.service.as_str())) {
        return false;
    }
    model.services.iter().enumerate().all(|(i, s)| {
        s.endpoints.iter().all(|e| {
            let mut ok = true;
            crate::model::graph::each_call(&e.steps, &mut |c| {
                if callees.contains(&c.service.as_str()) && (c.is_async || !members.contains(&i)) {
                    ok = false;
                }
            });
            ok
        })
    })
}
