//! The event loop of one replication.
//!
//! Requests are trees of *frames* in one arena (indices, not pointers), each frame waiting on
//! its children and telling its parent when it is done:
//!
//! ```text
//! Request ─▶ Attempt ─▶ Job (one per shard) ─▶ Seq (the endpoint's steps)
//!                                               ├─ a call: [Repeat | Fanout] ─▶ [Retry] ─▶ Attempt ─▶ …
//!                                               └─ Par (a `parallel` group) ─▶ its members
//! ```
//!
//! Events sit in a binary heap ordered by (time, sequence number), so ties resolve in the order
//! the events were scheduled and a seed always gives the same run. Freed frames are reused, and
//! queues and buffers keep their capacity, so a run allocates nothing per event once it has
//! reached its peak size.

mod batches;
mod steps;
mod visits;

use super::network::{NONE, Net};
use super::sample::SimRng;
use super::stations::Station;
use super::stats::{Replication, StationRun, WorkloadRun};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// More frames than this in flight means the design generates work faster than it finishes it
/// by orders of magnitude: the run stops rather than exhaust memory.
pub(crate) const MAX_FRAMES: usize = 1 << 27;

#[derive(Clone, Copy, Debug)]
enum Ev {
    /// The next request of workload `a`.
    Arrival,
    /// Job `a` ends its hold on a server.
    ServiceDone,
    /// Job `a` ends a delay: an external call, or a cache hit at a batching station.
    DelayDone,
    /// Instance `b` of station `a` finishes its batch.
    BatchDone,
    /// The batching timer of station `a`, generation `b`.
    BatchTimer,
    /// The timeout of retry frame `a`, generation `b`.
    Timeout,
}

#[derive(Clone, Copy, Debug)]
struct Event {
    t: f64,
    seq: u64,
    ev: Ev,
    a: u32,
    b: u32,
}

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Event) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so the max-heap pops the earliest event, then the first scheduled.
    fn cmp(&self, other: &Event) -> Ordering {
        other
            .t
            .total_cmp(&self.t)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Free,
    /// A workload's request, from its arrival.
    Request {
        start: f64,
    },
    /// One try at an endpoint: a job on every shard; done when all are.
    Attempt {
        pending: u32,
    },
    /// One shard's visit: queue, service, then the endpoint's steps.
    Job {
        endpoint: u32,
        station: u32,
        pool: u32,
        arrived: f64,
        hit: bool,
        /// A blocking worker still held while the steps run.
        holding: bool,
    },
    /// The steps of a program node, in order; `next` is the next child to start.
    Seq {
        node: u32,
        next: u32,
    },
    Par {
        pending: u32,
    },
    /// `times N`: the calls still to finish, one after another.
    Repeat {
        node: u32,
        left: u32,
    },
    /// `times N parallel`.
    Fanout {
        pending: u32,
    },
    /// A call with a timeout: its current attempt and the retries left.
    Retry {
        node: u32,
        left: u32,
        attempt: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    parent: u32,
    /// Bumped when the frame is freed, so a timer set for an earlier use is recognised as stale.
    epoch: u32,
    workload: u16,
    measured: bool,
    kind: Kind,
}

/// Per workload.
#[derive(Default)]
struct Load {
    pos: usize,
    present: u32,
    last: f64,
    area: f64,
    area_start: f64,
    area_end: f64,
    window_arrivals: u64,
    latencies: Vec<f64>,
    calls: u64,
    attempts: u64,
    timeouts: u64,
    failures: u64,
}

impl Load {
    fn advance(&mut self, now: f64) {
        self.area += self.present as f64 * (now - self.last);
        self.last = now;
    }
}

pub(crate) struct Engine<'n> {
    net: &'n Net,
    rng: SimRng,
    now: f64,
    seq: u64,
    events: BinaryHeap<Event>,
    frames: Vec<Frame>,
    free: Vec<u32>,
    stations: Vec<Station>,
    loads: Vec<Load>,
    /// Members of a finished batch, reused.
    scratch: Vec<u32>,
    warmup: u64,
    measured: u64,
    arrived: u64,
    done: u64,
    /// The measurement window: from the arrival of request `warmup` to that of request
    /// `warmup + measured`; infinite until known.
    window: (f64, f64),
    visits: u64,
    runaway: bool,
    progress: &'n (dyn Fn(u64) + Sync),
}

/// How often (in measured completions) the progress callback hears of the run.
const PROGRESS_EVERY: u64 = 4096;

impl<'n> Engine<'n> {
    pub(crate) fn new(
        net: &'n Net,
        rng: SimRng,
        warmup: u64,
        measured: u64,
        progress: &'n (dyn Fn(u64) + Sync),
    ) -> Engine<'n> {
        let stations = net
            .station_service
            .iter()
            .map(|&s| Station::new(net, s))
            .collect();
        Engine {
            net,
            rng,
            now: 0.0,
            seq: 0,
            events: BinaryHeap::with_capacity(1024),
            frames: Vec::with_capacity(4096),
            free: Vec::with_capacity(4096),
            stations,
            loads: net.workloads.iter().map(|_| Load::default()).collect(),
            scratch: Vec::new(),
            warmup,
            measured,
            arrived: 0,
            done: 0,
            window: (f64::INFINITY, f64::INFINITY),
            visits: 0,
            runaway: false,
            progress,
        }
    }

    /// Runs until every measured request has completed. `None` if the work in flight passed
    /// [`MAX_FRAMES`].
    pub(crate) fn run(mut self) -> Option<Replication> {
        for (w, wl) in self.net.workloads.iter().enumerate() {
            let mut pos = wl.gaps.start(&mut self.rng);
            let gap = wl.gaps.next(&mut pos, &mut self.rng);
            self.loads[w].pos = pos;
            self.schedule(gap, Ev::Arrival, w as u32, 0);
        }
        let target = self.warmup + self.measured;
        while self.arrived <= target || self.done < self.measured {
            let Some(e) = self.events.pop() else {
                break;
            };
            self.now = e.t;
            match e.ev {
                Ev::Arrival => self.arrival(e.a),
                Ev::ServiceDone => self.service_done(e.a),
                Ev::DelayDone => self.delay_done(e.a),
                Ev::BatchDone => self.batch_done(e.a, e.b),
                Ev::BatchTimer => self.batch_timer(e.a, e.b),
                Ev::Timeout => self.timeout(e.a, e.b),
            }
            if self.runaway {
                return None;
            }
        }
        (self.progress)(self.done % PROGRESS_EVERY);
        Some(self.finish())
    }

    #[inline]
    fn schedule(&mut self, t: f64, ev: Ev, a: u32, b: u32) {
        self.seq += 1;
        self.events.push(Event {
            t,
            seq: self.seq,
            ev,
            a,
            b,
        });
    }

    #[inline]
    fn alloc(&mut self, parent: u32, workload: u16, measured: bool, kind: Kind) -> u32 {
        if let Some(id) = self.free.pop() {
            let f = &mut self.frames[id as usize];
            f.parent = parent;
            f.workload = workload;
            f.measured = measured;
            f.kind = kind;
            id
        } else {
            if self.frames.len() >= MAX_FRAMES {
                self.runaway = true;
            }
            self.frames.push(Frame {
                parent,
                epoch: 0,
                workload,
                measured,
                kind,
            });
            self.frames.len() as u32 - 1
        }
    }

    #[inline]
    fn release(&mut self, id: u32) {
        let f = &mut self.frames[id as usize];
        f.epoch = f.epoch.wrapping_add(1);
        f.kind = Kind::Free;
        self.free.push(id);
    }

    fn in_window(&self) -> bool {
        self.now >= self.window.0 && self.now < self.window.1
    }

    fn counted(&self, arrived: f64) -> bool {
        arrived >= self.window.0 && arrived < self.window.1
    }

    fn arrival(&mut self, w: u32) {
        let k = self.arrived;
        self.arrived += 1;
        if k == self.warmup {
            self.window.0 = self.now;
            for s in &mut self.stations {
                s.stats.start = s.stats.snapshot(self.now);
            }
            for l in &mut self.loads {
                l.advance(self.now);
                l.area_start = l.area;
            }
        }
        if k == self.warmup + self.measured {
            self.window.1 = self.now;
            for s in &mut self.stations {
                s.stats.end = s.stats.snapshot(self.now);
            }
            for l in &mut self.loads {
                l.advance(self.now);
                l.area_end = l.area;
            }
        }
        let measured = k >= self.warmup && k < self.warmup + self.measured;
        let in_window = self.in_window();
        let now = self.now;
        let load = &mut self.loads[w as usize];
        load.advance(now);
        load.present += 1;
        load.window_arrivals += in_window as u64;
        let request = self.alloc(NONE, w as u16, measured, Kind::Request { start: now });
        let entry = self.net.workloads[w as usize].entry;
        self.start_attempt(entry, request, w as u16, measured);
        let mut pos = self.loads[w as usize].pos;
        let gap = self.net.workloads[w as usize]
            .gaps
            .next(&mut pos, &mut self.rng);
        self.loads[w as usize].pos = pos;
        self.schedule(now + gap, Ev::Arrival, w, 0);
    }

    fn finish(self) -> Replication {
        let (start, end) = self.window;
        let window = if end.is_finite() && end > start {
            end - start
        } else {
            0.0
        };
        let per_time = |area: f64| if window > 0.0 { area / window } else { 0.0 };
        let stations = self
            .stations
            .into_iter()
            .map(|s| {
                let c = s.stats;
                StationRun {
                    window_arrivals: c.window_arrivals,
                    busy_mean: per_time(c.end.busy_area - c.start.busy_area),
                    present_mean: per_time(c.end.present_area - c.start.present_area),
                    growth: c.end.present as i64 - c.start.present as i64,
                    wait_sum: c.wait_sum,
                    wait_n: c.wait_n,
                    sojourn_sum: c.sojourn_sum,
                    sojourns: c.sojourns,
                    arrivals: c.arrivals,
                    completions: c.completions,
                    present: c.present as u64,
                }
            })
            .collect();
        let workloads = self
            .loads
            .into_iter()
            .map(|l| WorkloadRun {
                window_arrivals: l.window_arrivals,
                in_flight_mean: per_time(l.area_end - l.area_start),
                latencies: l.latencies,
                calls: l.calls,
                attempts: l.attempts,
                timeouts: l.timeouts,
                failures: l.failures,
            })
            .collect();
        Replication {
            window,
            visits: self.visits,
            stations,
            workloads,
        }
    }
}
