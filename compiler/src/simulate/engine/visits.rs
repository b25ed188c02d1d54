//! A visit at a station: joining a pool's queue, holding a server, the delay of an external
//! call, and what happens when the own work is done.

use super::super::stations::{self, Kind as StationKind};
use super::{Engine, Ev, Kind};
use crate::simulate::network::NONE;
use rand::RngExt;

impl Engine<'_> {
    /// One try at `endpoint`: a job on every shard of its service.
    pub(super) fn start_attempt(&mut self, endpoint: u32, parent: u32, w: u16, m: bool) -> u32 {
        let svc = &self.net.services[self.net.endpoints[endpoint as usize].service as usize];
        let (first, shards) = (svc.first_station, svc.shards);
        let attempt = self.alloc(parent, w, m, Kind::Attempt { pending: shards });
        for k in 0..shards {
            let job = self.alloc(
                attempt,
                w,
                m,
                Kind::Job {
                    endpoint,
                    station: first + k,
                    pool: 0,
                    arrived: self.now,
                    hit: false,
                    holding: false,
                },
            );
            self.arrive(job, endpoint, first + k);
        }
        attempt
    }

    pub(super) fn arrive(&mut self, job: u32, endpoint: u32, station: u32) {
        self.visits += 1;
        let net = self.net;
        let ep = &net.endpoints[endpoint as usize];
        let now = self.now;
        let in_window = self.in_window();
        let hit = ep.hit_ratio > 0.0 && self.rng.random::<f64>() < ep.hit_ratio;
        let st = &mut self.stations[station as usize];
        st.stats.arrive(now, in_window);
        match &mut st.kind {
            StationKind::Delay => {
                let d = ep.time.as_ref().map_or(0.0, |t| t.sample(&mut self.rng));
                self.schedule(now + d, Ev::DelayDone, job, 0);
            }
            // A cache hit in front of a batching model answers without joining a batch.
            StationKind::Batch(_) if hit => {
                self.mark(job, 0, true);
                let d = ep.hit_time.sample(&mut self.rng);
                self.schedule(now + d, Ev::DelayDone, job, 0);
            }
            StationKind::Batch(b) => {
                b.queue.push_back(job);
                self.try_dispatch(station);
            }
            StationKind::Pools {
                pools,
                balance,
                next,
            } => {
                let p = stations::choose(pools, *balance, next, &mut self.rng);
                let pool = &mut pools[p as usize];
                let free = pool.busy < pool.servers;
                if !free {
                    pool.waiting.push_back(job);
                }
                self.mark(job, p, hit);
                if free {
                    self.start_service(job);
                }
            }
        }
    }

    pub(super) fn mark(&mut self, job: u32, p: u32, h: bool) {
        if let Kind::Job { pool, hit, .. } = &mut self.frames[job as usize].kind {
            *pool = p;
            *hit = h;
        }
    }

    /// A server of the job's pool starts on it.
    pub(super) fn start_service(&mut self, job: u32) {
        let Kind::Job {
            endpoint,
            station,
            pool,
            arrived,
            hit,
            ..
        } = self.frames[job as usize].kind
        else {
            return;
        };
        let counted = self.counted(arrived);
        let now = self.now;
        let st = &mut self.stations[station as usize];
        if let StationKind::Pools { pools, .. } = &mut st.kind {
            pools[pool as usize].busy += 1;
        }
        let busy = st.stats.busy + 1;
        st.stats.set_busy(now, busy);
        st.stats.waited(now - arrived, counted);
        let ep = &self.net.endpoints[endpoint as usize];
        let hold = if hit {
            ep.hit_time.sample(&mut self.rng)
        } else {
            ep.time.as_ref().map_or(0.0, |t| t.sample(&mut self.rng))
        };
        self.schedule(now + hold, Ev::ServiceDone, job, 0);
    }

    /// The job gives its server back and leaves the station; the next in line starts.
    pub(super) fn release_server(&mut self, job: u32) {
        let Kind::Job {
            station,
            pool,
            arrived,
            ..
        } = self.frames[job as usize].kind
        else {
            return;
        };
        let counted = self.counted(arrived);
        let now = self.now;
        let st = &mut self.stations[station as usize];
        let busy = st.stats.busy - 1;
        st.stats.set_busy(now, busy);
        st.stats.leave(now, now - arrived, counted);
        let mut next = None;
        if let StationKind::Pools { pools, .. } = &mut st.kind {
            let p = &mut pools[pool as usize];
            p.busy -= 1;
            next = p.waiting.pop_front();
        }
        if let Some(n) = next {
            self.start_service(n);
        }
    }

    pub(super) fn service_done(&mut self, job: u32) {
        let Kind::Job { endpoint, hit, .. } = self.frames[job as usize].kind else {
            return;
        };
        let ep = &self.net.endpoints[endpoint as usize];
        let blocking = !hit && self.net.services[ep.service as usize].blocking;
        if blocking {
            if let Kind::Job { holding, .. } = &mut self.frames[job as usize].kind {
                *holding = true;
            }
        } else {
            self.release_server(job);
        }
        if hit {
            let parent = self.finish_job(job);
            self.notify(parent);
        } else {
            self.start_body(job, endpoint);
        }
    }

    pub(super) fn delay_done(&mut self, job: u32) {
        let Kind::Job {
            station, arrived, ..
        } = self.frames[job as usize].kind
        else {
            return;
        };
        let counted = self.counted(arrived);
        self.stations[station as usize]
            .stats
            .leave(self.now, self.now - arrived, counted);
        let parent = self.finish_job(job);
        self.notify(parent);
    }

    /// Starts the job's steps; finishes the job at once when there are none to wait for.
    pub(super) fn start_body(&mut self, job: u32, endpoint: u32) {
        let body = self.net.endpoints[endpoint as usize].body;
        if body != NONE {
            let f = self.frames[job as usize];
            let seq = self.alloc(
                job,
                f.workload,
                f.measured,
                Kind::Seq {
                    node: body,
                    next: 0,
                },
            );
            if !self.run_seq(seq) {
                return;
            }
            self.release(seq);
        }
        let parent = self.finish_job(job);
        self.notify(parent);
    }

    /// The job's steps are done: a blocking worker is let go, and the job is freed. Returns
    /// the job's attempt.
    pub(super) fn finish_job(&mut self, job: u32) -> u32 {
        if let Kind::Job { holding: true, .. } = self.frames[job as usize].kind {
            self.release_server(job);
        }
        let parent = self.frames[job as usize].parent;
        self.release(job);
        parent
    }
}
