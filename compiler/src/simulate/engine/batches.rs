//! Dynamic batching: dispatching batches to idle instances, the timer of the oldest waiting
//! request, and a batch's completion.

use super::super::stations::{self, Kind as StationKind};
use super::{Engine, Ev, Frame, Kind};

impl Engine<'_> {
    /// Starts batches while an instance is idle and a batch is due; then makes sure a timer
    /// is set for the oldest request still waiting.
    pub(super) fn try_dispatch(&mut self, station: u32) {
        let now = self.now;
        loop {
            let StationKind::Batch(b) = &mut self.stations[station as usize].kind else {
                return;
            };
            let oldest = match b.queue.front() {
                Some(&j) => arrived_at(&self.frames[j as usize]),
                None => break,
            };
            if b.idle.is_empty() {
                break;
            }
            let Some(size) = stations::batch_size(&b.spec, b.queue.len(), oldest, now) else {
                break;
            };
            self.dispatch(station, size);
        }
        let StationKind::Batch(b) = &mut self.stations[station as usize].kind else {
            return;
        };
        if let Some(&j) = b.queue.front() {
            let due = arrived_at(&self.frames[j as usize]) + b.spec.wait;
            if b.spec.wait > 0.0 && due > now && b.timer_at != due {
                b.timer_epoch = b.timer_epoch.wrapping_add(1);
                b.timer_at = due;
                let epoch = b.timer_epoch;
                self.schedule(due, Ev::BatchTimer, station, epoch);
            }
        }
    }

    pub(super) fn dispatch(&mut self, station: u32, size: u32) {
        let now = self.now;
        let (window, frames) = (self.window, &self.frames);
        let st = &mut self.stations[station as usize];
        let StationKind::Batch(b) = &mut st.kind else {
            return;
        };
        let Some(instance) = b.idle.pop() else {
            return;
        };
        let members = &mut b.members[instance as usize];
        members.clear();
        for _ in 0..size {
            let Some(j) = b.queue.pop_front() else {
                break;
            };
            members.push(j);
            let arrived = arrived_at(&frames[j as usize]);
            let counted = arrived >= window.0 && arrived < window.1;
            st.stats.waited(now - arrived, counted);
        }
        let t = b.spec.time(members.len() as u32);
        let busy = st.stats.busy + 1;
        st.stats.set_busy(now, busy);
        self.schedule(now + t, Ev::BatchDone, station, instance);
    }

    pub(super) fn batch_done(&mut self, station: u32, instance: u32) {
        let now = self.now;
        let mut members = std::mem::take(&mut self.scratch);
        {
            let (window, frames) = (self.window, &self.frames);
            let st = &mut self.stations[station as usize];
            let StationKind::Batch(b) = &mut st.kind else {
                return;
            };
            members.clear();
            members.append(&mut b.members[instance as usize]);
            b.idle.push(instance);
            let busy = st.stats.busy - 1;
            st.stats.set_busy(now, busy);
            for &j in &members {
                let arrived = arrived_at(&frames[j as usize]);
                let counted = arrived >= window.0 && arrived < window.1;
                st.stats.leave(now, now - arrived, counted);
            }
        }
        self.try_dispatch(station);
        for &j in &members {
            if let Kind::Job { endpoint, .. } = self.frames[j as usize].kind {
                self.start_body(j, endpoint);
            }
        }
        self.scratch = members;
    }

    pub(super) fn batch_timer(&mut self, station: u32, epoch: u32) {
        if let StationKind::Batch(b) = &mut self.stations[station as usize].kind {
            if b.timer_epoch != epoch {
                return;
            }
            b.timer_at = f64::INFINITY;
        }
        self.try_dispatch(station);
    }
}

fn arrived_at(f: &Frame) -> f64 {
    match f.kind {
        Kind::Job { arrived, .. } => arrived,
        _ => 0.0,
    }
}
