//! An endpoint's steps: sequences, `parallel` groups, calls with `when`, `times`, fan-outs,
//! `async`, timeouts and retries, and the walk up the frame tree when something completes.

use super::{Engine, Ev, Frame, Kind, PROGRESS_EVERY};
use crate::simulate::network::{NONE, Node};
use rand::RngExt;

impl Engine<'_> {
    /// Starts the children of a `Seq` frame from its `next`, in order, until one has to be
    /// waited for. True when the sequence is complete.
    pub(super) fn run_seq(&mut self, seq: u32) -> bool {
        let f = self.frames[seq as usize];
        let Kind::Seq { node, mut next } = f.kind else {
            return true;
        };
        let (first, len) = match self.net.nodes[node as usize] {
            Node::Seq { first, len } | Node::Par { first, len } => (first, len),
            Node::Call(_) => (0, 0),
        };
        while next < len {
            let child = self.net.children[(first + next) as usize];
            next += 1;
            if !self.start_step(child, seq, f.workload, f.measured) {
                self.frames[seq as usize].kind = Kind::Seq { node, next };
                return false;
            }
        }
        true
    }

    /// Starts one step under `parent`. True when it completed at once (a call not made, an
    /// async call, a group of such), so nothing will notify `parent` for it.
    pub(super) fn start_step(&mut self, node: u32, parent: u32, w: u16, m: bool) -> bool {
        match self.net.nodes[node as usize] {
            Node::Seq { .. } => {
                let seq = self.alloc(parent, w, m, Kind::Seq { node, next: 0 });
                let done = self.run_seq(seq);
                if done {
                    self.release(seq);
                }
                done
            }
            Node::Par { first, len } => {
                let par = self.alloc(parent, w, m, Kind::Par { pending: 0 });
                let mut pending = 0;
                for i in first..first + len {
                    let child = self.net.children[i as usize];
                    if !self.start_step(child, par, w, m) {
                        pending += 1;
                    }
                }
                if pending == 0 {
                    self.release(par);
                    true
                } else {
                    self.frames[par as usize].kind = Kind::Par { pending };
                    false
                }
            }
            Node::Call(c) => {
                if c.probability < 1.0 && self.rng.random::<f64>() >= c.probability {
                    return true;
                }
                if c.is_async {
                    for _ in 0..c.times {
                        self.start_attempt(c.callee, NONE, w, m);
                    }
                    return true;
                }
                if c.times <= 1 {
                    self.start_call(node, parent, w, m);
                } else if c.fanout {
                    let f = self.alloc(parent, w, m, Kind::Fanout { pending: c.times });
                    for _ in 0..c.times {
                        self.start_call(node, f, w, m);
                    }
                } else {
                    let r = self.alloc(
                        parent,
                        w,
                        m,
                        Kind::Repeat {
                            node,
                            left: c.times,
                        },
                    );
                    self.start_call(node, r, w, m);
                }
                false
            }
        }
    }

    /// One synchronous call: an attempt, under a retry frame when the call has a timeout.
    pub(super) fn start_call(&mut self, node: u32, parent: u32, w: u16, m: bool) {
        let Node::Call(c) = self.net.nodes[node as usize] else {
            return;
        };
        if c.timeout.is_finite() {
            let retry = self.alloc(
                parent,
                w,
                m,
                Kind::Retry {
                    node,
                    left: c.retries,
                    attempt: NONE,
                },
            );
            let attempt = self.start_attempt(c.callee, retry, w, m);
            self.frames[retry as usize].kind = Kind::Retry {
                node,
                left: c.retries,
                attempt,
            };
            let epoch = self.frames[retry as usize].epoch;
            self.schedule(self.now + c.timeout, Ev::Timeout, retry, epoch);
            if m {
                let l = &mut self.loads[w as usize];
                l.calls += 1;
                l.attempts += 1;
            }
        } else {
            self.start_attempt(c.callee, parent, w, m);
        }
    }

    /// A call's attempt was not answered in time: abandon it (its jobs keep their servers
    /// until they finish) and retry, or end the call as failed.
    pub(super) fn timeout(&mut self, retry: u32, epoch: u32) {
        let f = self.frames[retry as usize];
        let Kind::Retry {
            node,
            left,
            attempt,
        } = f.kind
        else {
            return;
        };
        if f.epoch != epoch {
            return;
        }
        let Node::Call(c) = self.net.nodes[node as usize] else {
            return;
        };
        self.frames[attempt as usize].parent = NONE;
        if f.measured {
            self.loads[f.workload as usize].timeouts += 1;
        }
        if left > 0 {
            let next = self.start_attempt(c.callee, retry, f.workload, f.measured);
            self.frames[retry as usize].kind = Kind::Retry {
                node,
                left: left - 1,
                attempt: next,
            };
            self.schedule(self.now + c.timeout, Ev::Timeout, retry, epoch);
            if f.measured {
                self.loads[f.workload as usize].attempts += 1;
            }
        } else {
            if f.measured {
                self.loads[f.workload as usize].failures += 1;
            }
            self.release(retry);
            self.notify(f.parent);
        }
    }

    /// A child of `id` is done: update `id`, and walk up while frames complete.
    pub(super) fn notify(&mut self, mut id: u32) {
        while id != NONE {
            let f = self.frames[id as usize];
            id = match f.kind {
                Kind::Request { start } => {
                    self.finish_request(id, f, start);
                    NONE
                }
                Kind::Attempt { .. } | Kind::Par { .. } | Kind::Fanout { .. } => {
                    if self.count_down(id) {
                        self.release(id);
                        f.parent
                    } else {
                        NONE
                    }
                }
                Kind::Job { .. } => self.finish_job(id),
                Kind::Seq { .. } => {
                    if self.run_seq(id) {
                        self.release(id);
                        f.parent
                    } else {
                        NONE
                    }
                }
                Kind::Repeat { node, left } if left > 1 => {
                    self.frames[id as usize].kind = Kind::Repeat {
                        node,
                        left: left - 1,
                    };
                    self.start_call(node, id, f.workload, f.measured);
                    NONE
                }
                // Answered in time (a later timer finds the frame's generation moved on).
                Kind::Repeat { .. } | Kind::Retry { .. } => {
                    self.release(id);
                    f.parent
                }
                Kind::Free => {
                    debug_assert!(false, "a freed frame was notified");
                    NONE
                }
            };
        }
    }

    /// One child fewer to wait for; true when none is left.
    pub(super) fn count_down(&mut self, id: u32) -> bool {
        match &mut self.frames[id as usize].kind {
            Kind::Attempt { pending } | Kind::Par { pending } | Kind::Fanout { pending } => {
                *pending = pending.saturating_sub(1);
                *pending == 0
            }
            _ => true,
        }
    }

    pub(super) fn finish_request(&mut self, id: u32, f: Frame, start: f64) {
        let now = self.now;
        let load = &mut self.loads[f.workload as usize];
        load.advance(now);
        load.present -= 1;
        if f.measured {
            load.latencies.push(now - start);
            self.done += 1;
            if self.done % PROGRESS_EVERY == 0 {
                (self.progress)(PROGRESS_EVERY);
            }
        }
        self.release(id);
    }
}
