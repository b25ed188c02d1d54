//! Calls that retry on timeout into a queue of their own: the correlated-attempts model
//! ([`crate::queueing::retry_queue`]) where it applies, in place of independent attempts.

use super::stations::own_dists;
use super::{Predictor, Wait};
use crate::model::graph::each_call;
use crate::model::{Call, Model, ServiceKind};
use crate::queueing::retry_queue::{RetryQueue, Unsolved};
use crate::queueing::service_time::Dist;
use rustc_hash::FxHashMap;
use std::rc::Rc;

/// A call site: (caller service, caller endpoint, index among the endpoint's calls), and the
/// call.
pub(super) type Site<'m> = ((&'m str, &'m str, usize), &'m Call);

/// Solved queues by service index, with the first-attempt rate each was solved at: a
/// settling round's traffic differs from the last only in the retries, so the queue of the
/// last round is reused when its rate is the same.
pub(super) type RetryQueues = FxHashMap<usize, (f64, Result<Rc<RetryQueue>, Unsolved>)>;

/// The services whose whole traffic comes from one call site, a call that retries on timeout
/// (by name), with that site.
pub(super) fn sole_retrying_callers(model: &Model) -> FxHashMap<&str, Site<'_>> {
    let mut sole: FxHashMap<&str, Option<Site>> = FxHashMap::default();
    for caller in &model.services {
        for e in &caller.endpoints {
            let mut k = 0;
            each_call(&e.steps, &mut |c| {
                let site = ((caller.name.as_str(), e.name.as_str(), k), c);
                sole.entry(c.service.as_str())
                    .and_modify(|s| *s = None)
                    .or_insert(Some(site));
                k += 1;
            });
        }
    }
    for w in &model.workloads {
        sole.insert(w.entry.service.as_str(), None);
    }
    (sole.into_iter())
        .filter_map(|(s, site)| site.map(|site| (s, site)))
        .filter(|(_, (_, c))| c.timeout_s.is_some() && c.retries > 0)
        .collect()
}

/// P(one attempt on its own takes longer than T) below which the correlated-attempts model is
/// not solved: the two models then differ by that order (the timeouts add at most
/// (r + 1)·T·P to a call's mean), and the independent one costs nothing.
const RARE_TIMEOUTS: f64 = 1e-5;

impl<'m> Predictor<'m> {
    /// The solved queue of `service` under the correlated-attempts model, if it applies and
    /// has a solution (the station is built first, which decides).
    pub(super) fn retry_queue(&mut self, service: &str) -> Option<Rc<RetryQueue>> {
        if !self.sole_callers.contains_key(service) {
            return None;
        }
        let id = self.find(service).0;
        self.station(&self.model.services[id].name);
        match self.retry_queues_now.get(&id) {
            Some(Ok(q)) => Some(Rc::clone(q)),
            _ => None,
        }
    }

    /// Whether the correlated-attempts model applies to the station `s` (index `id`), whose
    /// wait for one attempt on its own is `wait`, and its solution: one server (one replica,
    /// one non-blocking worker, no shards, no batching, no cache) whose whole traffic is one
    /// call site's, a call that retries on timeout, synchronous and made once, to an endpoint
    /// that calls nothing; Poisson first attempts; and timeouts not negligible
    /// ([`RARE_TIMEOUTS`]). Elsewhere attempts are taken as independent (queueing/timeout.rs).
    /// Remembered for [`Predictor::retry_queue`].
    pub(super) fn correlated_retries(
        &mut self,
        id: usize,
        wait: &Wait,
    ) -> Option<Result<Rc<RetryQueue>, Unsolved>> {
        let s = &self.model.services[id];
        let &(key, c) = self.sole_callers.get(s.name.as_str())?;
        let callee = s.endpoints.iter().find(|e| e.name == c.endpoint)?;
        let single_server = self.replicas(s).unwrap_or(1) == 1
            && s.workers == 1
            && s.shards == 1
            && !s.workers_blocking
            && s.kind != ServiceKind::External;
        let plain_call = !c.is_async && c.times == 1 && !c.fanout;
        let leaf = callee.steps.is_empty()
            && callee.cache.is_none()
            && s.endpoints.iter().all(|e| e.batch.is_none());
        let poisson = self.all_poisson
            && (self.arrival_scv[id] - 1.0).abs() < 1e-9
            && !self.bunched.contains(s.name.as_str());
        let timeout = c.timeout_s?;
        if !(single_server && plain_call && leaf && poisson) {
            return None;
        }
        let parts = own_dists(self, s);
        if late_bound(wait, &parts, timeout) < RARE_TIMEOUTS {
            return None;
        }
        // The traffic counts every attempt; the model wants the first ones.
        let (caller, endpoint, k) = key;
        let tries = (self.attempts)
            .get(&(caller.to_string(), endpoint.to_string(), k))
            .copied()
            .unwrap_or(1.0);
        let rate = self.traffic.services[id].rate_per_shard / tries;
        let q = match self.retry_queues.get(&id) {
            Some((solved_at, q)) if (solved_at - rate).abs() <= 1e-12 * rate => q.clone(),
            _ => {
                let q = RetryQueue::new(rate, &parts, timeout, c.retries).map(Rc::new);
                self.retry_queues.insert(id, (rate, q.clone()));
                q
            }
        };
        self.retry_queues_now.insert(id, q.clone());
        Some(q)
    }
}

/// An upper bound on P(W + S > T) for one attempt: P(W > T/2) + P(S > T/2), with the wait of
/// the station as solved for independent attempts.
fn late_bound(wait: &Wait, parts: &[(f64, Dist)], timeout: f64) -> f64 {
    let half = 0.5 * timeout;
    let waits = match wait {
        Wait::None => 0.0,
        Wait::Exponential { p, mean } if *mean > 0.0 => p * (-half / mean).exp(),
        Wait::Exponential { .. } => 0.0,
        Wait::Tabulated(w) => 1.0 - w.cdf(half),
        Wait::Batch { .. } | Wait::Unstable => 1.0,
    };
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let services: f64 = parts.iter().map(|(w, d)| w * (1.0 - d.cdf(half))).sum();
    waits + services / total.max(f64::MIN_POSITIVE)
}
