//! Latency against load: the predictor run at every point of a load range.

use crate::model::Model;
use crate::queueing::{Options, predict};
use std::collections::BTreeMap;

/// One workload's figures at one load; `None` where a station on its path is overloaded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub load: f64,
    pub mean_s: Option<f64>,
    pub p50_s: Option<f64>,
    pub p99_s: Option<f64>,
}

/// Per workload (in the design's order, request workloads only), its points.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub workloads: Vec<(String, Vec<Point>)>,
}

/// Predicts at each of `loads`. A prediction that fails to converge leaves its points empty,
/// as an overload does: the chart shows a gap, not a guess.
pub fn sweep(model: &Model, replicas: &BTreeMap<String, u32>, loads: &[f64]) -> Sweep {
    let mut workloads: Vec<(String, Vec<Point>)> = (model.workloads.iter())
        .filter(|w| w.job.is_none())
        .map(|w| (w.name.clone(), Vec::new()))
        .collect();
    for &load in loads {
        let options = Options {
            load,
            replicas: replicas.clone(),
        };
        let p = predict(model, &options).ok();
        for (name, points) in &mut workloads {
            let latency = (p.as_ref())
                .and_then(|p| p.workloads.iter().find(|w| w.name == *name))
                .and_then(|w| w.latency.as_ref());
            points.push(Point {
                load,
                mean_s: latency.map(|l| l.mean_s),
                p50_s: latency.map(|l| l.p50_s),
                p99_s: latency.map(|l| l.p99_s),
            });
        }
    }
    Sweep { workloads }
}
