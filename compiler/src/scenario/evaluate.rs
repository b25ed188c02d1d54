//! A scenario's expectations, judged against predicted (or simulated) figures.

use super::apply::Situation;
use crate::compare::fmt_load;
use crate::model::{Model, ScenarioStep, Slo};
use std::collections::BTreeSet;

/// Where the figures come from.
#[derive(Clone, Debug)]
pub enum Engine {
    /// The analytic models (`kendall predict`).
    Predict,
    /// The discrete-event simulator (`kendall simulate`), with these run options (their
    /// `load` and `replicas` are the scenario's).
    Simulate(crate::simulate::Options),
}

/// One expectation's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// As written: `homepage.p99 < 200ms`, `api.utilization < 0.8`, `cost < $30/h`.
    pub what: String,
    /// The figure, in seconds, a ratio or dollars per hour; `None` when there is none.
    pub value: Option<f64>,
    /// The simulator's 95% confidence half-width.
    pub ci95: Option<f64>,
    pub unit: Unit,
    pub passed: bool,
    /// Why there is no figure (an overloaded or failed service).
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Ratio,
    DollarsPerHour,
}

impl Unit {
    /// `v` as the report prints it.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Seconds => format!("{}ms", round(v * 1e3)),
            Unit::Ratio => format!("{}%", round(v * 100.0)),
            Unit::DollarsPerHour => format!("${}/h", round(v)),
        }
    }
}

/// Three significant figures, at least one decimal under 100.
fn round(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Jobs have no request latency: their deadline is the planner's to meet.
const NO_FIGURES: &str = "a job has no latency figures";

/// The figures a scenario's checks read, from either engine.
struct Figures {
    /// In the design's order.
    workloads: Vec<WorkloadFigures>,
    /// Per service: utilisation, or why there is none.
    services: Vec<(String, Result<Value, String>)>,
}

/// A figure and the simulator's 95% half-width.
type Value = (f64, Option<f64>);

struct WorkloadFigures {
    /// Why the workload has no figures (a failed or overloaded service on its path).
    broken: Option<String>,
    /// Per SLO (the written ones, then those injected for `expect`s), its figure.
    values: Vec<(Slo, Value)>,
}

/// Judges the steps' expectations in the situation the steps made.
pub fn judge(s: &Situation, steps: &[ScenarioStep], engine: &Engine) -> Result<Vec<Check>, String> {
    let mut model = s.model.clone();
    // Every workload figure an `expect` names becomes an SLO of its workload, so both engines
    // compute it the way they compute SLOs (any percentile, not only the reported ones).
    let originals: Vec<usize> = model.workloads.iter().map(|w| w.slos.len()).collect();
    for step in steps {
        if let ScenarioStep::Expect {
            subject,
            metric,
            bound,
            unit,
            ..
        } = step
            && unit == "s"
            && let Some(w) = model.workloads.iter_mut().find(|w| w.name == *subject)
        {
            w.slos.push(Slo {
                stat: metric.clone(),
                quantile: quantile(metric),
                target_s: *bound,
            });
        }
    }
    let figures = figures(&model, s, engine)?;
    let mut checks = Vec::new();
    for step in steps {
        match step {
            ScenarioStep::ExpectSlo => {
                for (i, w) in s.model.workloads.iter().enumerate() {
                    let WorkloadFigures { broken, values } = &figures.workloads[i];
                    for (k, slo) in w.slos.iter().enumerate().take(originals[i]) {
                        let what = format!(
                            "{}.{} < {}",
                            w.name,
                            slo.stat,
                            Unit::Seconds.show(slo.target_s)
                        );
                        checks.push(latency_check(
                            what,
                            "<",
                            slo.target_s,
                            broken,
                            values.get(k),
                        ));
                    }
                }
            }
            ScenarioStep::Expect {
                subject,
                metric,
                op,
                bound,
                unit,
            } => checks.push(expectation(
                s, &figures, &model, subject, metric, op, *bound, unit,
            )?),
            _ => {}
        }
    }
    Ok(checks)
}

#[allow(clippy::too_many_arguments)]
fn expectation(
    s: &Situation,
    figures: &Figures,
    model: &Model,
    subject: &str,
    metric: &str,
    op: &str,
    bound: f64,
    unit: &str,
) -> Result<Check, String> {
    Ok(match unit {
        "s" => {
            let i = (model.workloads.iter())
                .position(|w| w.name == subject)
                .ok_or_else(|| format!("no workload `{subject}`"))?;
            let WorkloadFigures { broken, values } = &figures.workloads[i];
            // The injected SLO of this expectation: the last with its stat and target.
            let value =
                (values.iter().rev()).find(|(slo, _)| slo.stat == metric && slo.target_s == bound);
            let what = format!("{subject}.{metric} {op} {}", Unit::Seconds.show(bound));
            latency_check(what, op, bound, broken, value)
        }
        "ratio" => {
            let what = format!("{subject}.{metric} {op} {}", Unit::Ratio.show(bound));
            let found = (figures.services.iter()).find(|(name, _)| name == subject);
            match found.map(|(_, f)| f) {
                Some(Ok((v, ci))) => Check {
                    what,
                    value: Some(*v),
                    ci95: *ci,
                    unit: Unit::Ratio,
                    passed: compare(*v, op, bound),
                    note: None,
                },
                Some(Err(note)) => failed(what, Unit::Ratio, note.clone()),
                None => failed(what, Unit::Ratio, format!("`{subject}` has no utilisation")),
            }
        }
        _ => {
            let what = format!("cost {op} {}", Unit::DollarsPerHour.show(bound));
            let v =
                crate::compare::cost_per_hour(&s.model, &s.replicas).map_err(|e| e.to_string())?;
            Check {
                what,
                value: Some(v),
                ci95: None,
                unit: Unit::DollarsPerHour,
                passed: compare(v, op, bound),
                note: None,
            }
        }
    })
}

fn latency_check(
    what: String,
    op: &str,
    bound: f64,
    broken: &Option<String>,
    value: Option<&(Slo, Value)>,
) -> Check {
    match (broken, value) {
        (Some(note), _) => failed(what, Unit::Seconds, note.clone()),
        (None, Some((_, (v, ci)))) => Check {
            what,
            value: Some(*v),
            ci95: *ci,
            unit: Unit::Seconds,
            passed: compare(*v, op, bound),
            note: None,
        },
        (None, None) => failed(what, Unit::Seconds, "no figure".into()),
    }
}

fn failed(what: String, unit: Unit, note: String) -> Check {
    Check {
        what,
        value: None,
        ci95: None,
        unit,
        passed: false,
        note: Some(note),
    }
}

fn compare(v: f64, op: &str, bound: f64) -> bool {
    match op {
        "<" => v < bound,
        "<=" => v <= bound,
        ">" => v > bound,
        _ => v >= bound,
    }
}

/// `p99` → 0.99, `p99.9` → 0.999, `mean` → `None`.
fn quantile(stat: &str) -> Option<f64> {
    let p: f64 = stat.strip_prefix('p')?.parse().ok()?;
    Some(p / 100.0)
}

fn figures(model: &Model, s: &Situation, engine: &Engine) -> Result<Figures, String> {
    let down: BTreeSet<&str> = s.down.iter().map(String::as_str).collect();
    // A failed service gets one replica for the engines' sake; every figure that depends on
    // it is replaced by a failure below.
    let mut replicas = s.replicas.clone();
    for r in replicas.values_mut() {
        *r = (*r).max(1);
    }
    // The first service on the workload's path (in the design's order) that is down, then
    // the first that `bad` finds wrong.
    let broken = |w: &crate::model::Workload, bad: &dyn Fn(&str) -> Option<String>| {
        let on_path = path(model, w);
        let first = |f: &dyn Fn(&str) -> Option<String>| {
            (model.services.iter()).find_map(|s| {
                on_path
                    .contains(s.name.as_str())
                    .then(|| f(&s.name))
                    .flatten()
            })
        };
        first(&|name| {
            down.contains(name)
                .then(|| format!("`{name}` has no replica left"))
        })
        .or_else(|| first(bad))
    };
    let service_note = |name: &str| -> Option<String> {
        down.contains(name)
            .then(|| format!("`{name}` has no replica left"))
    };
    match engine {
        Engine::Predict => {
            let options = crate::queueing::Options {
                load: 1.0,
                replicas,
            };
            let p = crate::queueing::predict(model, &options)
                .map_err(|d| format!("the prediction did not converge: {d:?}"))?;
            let overloaded = |name: &str| {
                let sp = p.services.iter().find(|sp| sp.name == name)?;
                let o = sp.unstable.as_ref()?;
                Some(format!(
                    "`{name}` is overloaded ({}% of capacity; needs {} replicas)",
                    fmt_load((o.utilization * 100.0).round()),
                    o.replicas_needed
                ))
            };
            let workloads = (model.workloads.iter())
                .map(|w| {
                    let Some(wp) = p.workloads.iter().find(|x| x.name == w.name) else {
                        return WorkloadFigures {
                            broken: Some(NO_FIGURES.into()),
                            values: Vec::new(),
                        };
                    };
                    let broken = broken(w, &overloaded);
                    let values = (w.slos.iter().zip(&wp.slos))
                        .map(|(slo, v)| (slo.clone(), (v.predicted_s, None)))
                        .collect();
                    WorkloadFigures { broken, values }
                })
                .collect();
            let services = (p.services.iter())
                .map(|sp| {
                    let f = match (service_note(&sp.name), &sp.unstable, sp.utilization) {
                        (Some(note), _, _) => Err(note),
                        (None, Some(o), _) => Err(format!(
                            "overloaded: {}% of capacity",
                            fmt_load((o.utilization * 100.0).round())
                        )),
                        (None, None, Some(u)) => Ok((u, None)),
                        (None, None, None) => Err(format!("`{}` has no utilisation", sp.name)),
                    };
                    (sp.name.clone(), f)
                })
                .collect();
            Ok(Figures {
                workloads,
                services,
            })
        }
        Engine::Simulate(options) => {
            let options = crate::simulate::Options {
                load: 1.0,
                replicas,
                ..options.clone()
            };
            let sim = crate::simulate::simulate(model, &options).map_err(|e| e.to_string())?;
            let workloads = (model.workloads.iter())
                .map(|w| {
                    let Some(r) = sim.workloads.iter().find(|r| r.name == w.name) else {
                        return WorkloadFigures {
                            broken: Some(NO_FIGURES.into()),
                            values: Vec::new(),
                        };
                    };
                    let saturated = |name: &str| {
                        let sr = sim.services.iter().find(|sr| sr.name == name)?;
                        sr.saturated.then(|| format!("`{name}` is saturated"))
                    };
                    let broken = broken(w, &saturated);
                    let values = (w.slos.iter().zip(&r.slos))
                        .map(|(slo, v)| (slo.clone(), (v.simulated_s.mean, v.simulated_s.ci95)))
                        .collect();
                    WorkloadFigures { broken, values }
                })
                .collect();
            let services = (sim.services.iter())
                .map(|sr| {
                    let f = match (service_note(&sr.name), &sr.utilization) {
                        (Some(note), _) => Err(note),
                        (None, Some(u)) => Ok((u.mean, u.ci95)),
                        (None, None) => Err(format!("`{}` has no utilisation", sr.name)),
                    };
                    (sr.name.clone(), f)
                })
                .collect();
            Ok(Figures {
                workloads,
                services,
            })
        }
    }
}

/// The services a request of `w` waits on.
fn path<'m>(model: &'m Model, w: &'m crate::model::Workload) -> BTreeSet<&'m str> {
    let mut reached = BTreeSet::new();
    reach(
        model,
        &w.entry.service,
        w.entry.endpoint.as_deref(),
        &mut reached,
    );
    reached.into_iter().map(|(name, _)| name).collect()
}

/// Every service a request entering `service.endpoint` (every endpoint when `None`) waits on;
/// async calls excluded.
fn reach<'m>(
    model: &'m Model,
    service: &'m str,
    endpoint: Option<&'m str>,
    out: &mut BTreeSet<(&'m str, Option<&'m str>)>,
) {
    if !out.insert((service, endpoint)) {
        return;
    }
    let Some(s) = model.service(service) else {
        return;
    };
    let endpoints = (s.endpoints.iter()).filter(|e| endpoint.is_none_or(|n| n == e.name));
    for e in endpoints {
        let mut calls = Vec::new();
        crate::model::graph::each_call(&e.steps, &mut |c| {
            if !c.is_async {
                calls.push(c);
            }
        });
        for c in calls {
            reach(model, &c.service, Some(&c.endpoint), out);
        }
    }
}
