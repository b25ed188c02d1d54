//! Job workloads (`every`, `work`, `deadline`): the fewest replicas that finish a run's work
//! within its deadline, and what the runs cost.
//!
//! A replica does `gpu × count` GPU-hours (or `cpu` cpu-hours) of work per hour, and the work
//! divides evenly over replicas, so a run on n replicas takes work / (n × per replica) hours.
//! The cost of a run is n × the replica's price × that time; spread over the period it is
//! the job's cost per hour. Several job workloads on one service share its replicas (the
//! most any of them needs).

use super::JobPlan;
use super::explain::Reason;
use super::oracle::Unit;
use crate::model::Model;

pub(super) fn size(model: &Model, units: &mut [Unit]) -> Result<Vec<JobPlan>, Vec<Reason>> {
    let mut reasons = Vec::new();
    let mut needs: Vec<(usize, &crate::model::Workload, f64, u32)> = Vec::new();
    for w in &model.workloads {
        let Some(job) = &w.job else { continue };
        let Some(i) = units.iter().position(|u| u.name == w.entry.service) else {
            continue;
        };
        let service = model.service(&w.entry.service).expect("entries resolve");
        let per_replica = if job.work_unit == "gpu-hours" {
            service.gpu.as_ref().map_or(0.0, |g| f64::from(g.count))
        } else {
            service.cpu_cores.unwrap_or(1.0)
        };
        let deadline_h = job.deadline_s / 3600.0;
        let needed = if per_replica > 0.0 {
            (job.work / (per_replica * deadline_h) - 1e-9)
                .ceil()
                .max(1.0) as u32
        } else {
            u32::MAX
        };
        let u = &units[i];
        let limit = match service.replicas {
            Some(r) if !r.pinned => r.max,
            _ => u.lo,
        };
        if needed > limit {
            reasons.push(Reason::Deadline {
                workload: w.name.clone(),
                service: u.name.clone(),
                replicas_needed: needed,
                replicas_max: limit,
                pinned: u.pinned,
            });
            continue;
        }
        needs.push((i, w, per_replica, needed));
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    for &(i, _, _, needed) in &needs {
        let u = &mut units[i];
        if !u.pinned {
            let n = needed.max(u.lo);
            u.lo = u.lo.max(n);
            u.hi = u.lo;
        }
    }
    Ok(needs
        .into_iter()
        .map(|(i, w, per_replica, _)| {
            let job = w.job.as_ref().expect("job workloads only");
            let u = &units[i];
            let n = u.lo;
            let run_hours = job.work / (f64::from(n) * per_replica);
            let cost_per_run = f64::from(n) * u.cost * run_hours;
            JobPlan {
                workload: w.name.clone(),
                service: u.name.clone(),
                replicas: n,
                run_hours: super::report::round(run_hours, 4),
                deadline_hours: super::report::round(job.deadline_s / 3600.0, 4),
                every_hours: super::report::round(job.every_s / 3600.0, 4),
                cost_per_run: super::report::round(cost_per_run, 4),
                cost_per_hour: super::report::round(cost_per_run / (job.every_s / 3600.0), 4),
            }
        })
        .collect())
}
