//! Scenarios: design tests run by `kendall test`.

use super::Checker;
use super::units::Dim;
use crate::diagnostics::{Diagnostic, codes, did_you_mean, one_of};
use crate::model::*;
use crate::syntax::ast::{self, Bound, Comparator, ScenarioItem, Value};

const SETTABLE: &[&str] = &["replicas", "workers", "shards", "hit"];
const SERVICE_METRICS: &[&str] = &["utilization"];

impl Checker<'_> {
    pub(super) fn scenario(&mut self, s: &ast::Scenario, model: &Model) -> Option<Scenario> {
        let mut steps = Vec::new();
        let mut ok = true;
        for item in &s.items {
            match self.scenario_step(item, model) {
                Some(step) => steps.push(step),
                None => ok = false,
            }
        }
        if !steps
            .iter()
            .any(|s| matches!(s, ScenarioStep::ExpectSlo | ScenarioStep::Expect { .. }))
            && ok
        {
            self.report(
                Diagnostic::new(
                    codes::MISSING_FIELD,
                    format!("scenario `{}` expects nothing", s.name.name),
                )
                .at(s.name.span, "no `expect`")
                .help("add `expect slo` or an expectation such as `expect homepage.p99 < 200ms`"),
            );
            return None;
        }
        ok.then(|| Scenario {
            name: s.name.name.clone(),
            steps,
        })
    }

    fn scenario_step(&mut self, item: &ScenarioItem, model: &Model) -> Option<ScenarioStep> {
        match item {
            ScenarioItem::Load {
                factor, workload, ..
            } => {
                let f = self.quantity(factor, Dim::Factor, "load")?;
                let f = self.positive(f, factor, "load")?;
                if let Some(w) = workload {
                    self.workload_name(w, model)?;
                }
                Some(ScenarioStep::Load {
                    factor: f,
                    workload: workload.as_ref().map(|w| w.name.clone()),
                })
            }
            ScenarioItem::Fail {
                count,
                what,
                of,
                span,
            } => {
                let n = self.count(count, "fail", 1, 10_000)?;
                match (what.name.as_str(), of) {
                    ("zone" | "zones", None) => {
                        let zones = match &model.deploy.kubernetes {
                            Some(k) => k.zones,
                            // Written but invalid (already reported): the zone count is unknown.
                            None if self.kubernetes_written => return None,
                            None => 1,
                        };
                        if n >= zones {
                            self.report(
                                Diagnostic::new(
                                    codes::VALUE_OUT_OF_RANGE,
                                    format!("failing {n} of {zones} zones leaves nothing running"),
                                )
                                .at(count.span, "every zone")
                                .help("spread the system over more zones with `deploy kubernetes { zones 3 }`, or fail fewer"),
                            );
                            return None;
                        }
                        Some(ScenarioStep::FailZones { count: n })
                    }
                    ("replica" | "replicas", Some(svc)) => {
                        let Some(s) = model.service(&svc.name) else {
                            self.unknown_service(svc, model);
                            return None;
                        };
                        if !s.kind.is_deployed() {
                            self.report(
                                Diagnostic::new(
                                    codes::FIELD_NOT_ALLOWED,
                                    format!(
                                        "`{}` is external: it has no replicas to fail",
                                        svc.name
                                    ),
                                )
                                .at(svc.span, "external service")
                                .help("fail replicas of a deployed service"),
                            );
                            return None;
                        }
                        Some(ScenarioStep::FailReplicas {
                            count: n,
                            service: svc.name.clone(),
                        })
                    }
                    ("replica" | "replicas", None) => {
                        self.report(
                            Diagnostic::new(codes::MISSING_FIELD, "which service's replicas fail?")
                                .at(*span, "no service named")
                                .help(format!(
                                    "write `fail {} replica of SERVICE`",
                                    self.digits(count)
                                )),
                        );
                        None
                    }
                    ("zone" | "zones", Some(o)) => {
                        self.report(
                            Diagnostic::new(
                                codes::FIELD_NOT_ALLOWED,
                                "a zone failure takes down every service in it",
                            )
                            .at(o.span, "zones are not per service")
                            .help(format!("write `fail {} zone`", self.digits(count))),
                        );
                        None
                    }
                    _ => {
                        self.unknown_option("failure", what, &["zone", "replica"]);
                        None
                    }
                }
            }
            ScenarioItem::Set { target, value, .. } => {
                let segs = &target.segments;
                let field = segs.last().expect("a path has a segment");
                let Some(service) = model.service(&segs[0].name) else {
                    self.unknown_service(&segs[0], model);
                    return None;
                };
                let known = matches!(
                    (segs.len(), field.name.as_str()),
                    (2, "replicas" | "workers" | "shards") | (2 | 3, "hit")
                );
                if !known {
                    let help = match did_you_mean(&field.name, SETTABLE.iter().copied()) {
                        Some(s) => s,
                        None => format!(
                            "a scenario can set {} (`SERVICE.FIELD`), or a cache `hit` ratio (`SERVICE.ENDPOINT.hit`)",
                            one_of(&SETTABLE[..3])
                        ),
                    };
                    self.report(
                        Diagnostic::new(
                            codes::UNKNOWN_SETTING,
                            format!("a scenario cannot set `{}`", self.sources.text(target.span)),
                        )
                        .at(field.span, "not settable")
                        .help(help),
                    );
                    return None;
                }
                let Value::Quantity(q) = value else {
                    self.wrong_value(value, &field.name, "a number");
                    return None;
                };
                if field.name != "hit" && !service.kind.is_deployed() {
                    self.report(
                        Diagnostic::new(
                            codes::FIELD_NOT_ALLOWED,
                            format!("`{}` is external: it has no `{}` to set", service.name, field.name),
                        )
                        .at(target.span, "not deployed")
                        .help("an external service is only a latency; set fields of deployed services"),
                    );
                    return None;
                }
                let mut endpoint = String::new();
                let v = if field.name == "hit" {
                    let written = self
                        .spans
                        .written
                        .get(&service.name)
                        .cloned()
                        .unwrap_or_default();
                    endpoint = match (segs.len(), written.as_slice()) {
                        (3, _) => segs[1].name.clone(),
                        (_, [only]) => only.clone(),
                        (_, all) if all.len() > 1 => {
                            let shown: Vec<String> = all
                                .iter()
                                .map(|e| format!("{}.{e}.hit", service.name))
                                .collect();
                            self.report(
                                Diagnostic::new(
                                    codes::AMBIGUOUS_TARGET,
                                    format!(
                                        "`{}` has {} endpoints; which one's cache?",
                                        service.name,
                                        all.len()
                                    ),
                                )
                                .at(target.span, "no endpoint named")
                                .help(format!("name the endpoint: {}", one_of(&shown))),
                            );
                            return None;
                        }
                        _ => service.name.clone(),
                    };
                    if service.endpoint(&endpoint).is_none() && written.contains(&endpoint) {
                        // Dropped for its own error, already reported: check only the value.
                        self.ratio(q, "hit", true)?;
                        return None;
                    }
                    if service
                        .endpoint(&endpoint)
                        .is_none_or(|e| e.cache.is_none())
                    {
                        self.report(
                            Diagnostic::new(
                                codes::UNKNOWN_SETTING,
                                format!("`{}.{endpoint}` has no cache", service.name),
                            )
                            .at(target.span, "nothing to set")
                            .help("only an endpoint with `cache hit …` has a hit ratio"),
                        );
                        return None;
                    }
                    self.ratio(q, "hit", true)?
                } else {
                    self.count(q, &field.name, 1, 100_000)? as f64
                };
                let service_field = if field.name == "hit" {
                    format!("{endpoint}.hit")
                } else {
                    field.name.clone()
                };
                Some(ScenarioStep::Set {
                    service: service.name.clone(),
                    field: service_field,
                    value: v,
                })
            }
            ScenarioItem::ExpectSlo { .. } => Some(ScenarioStep::ExpectSlo),
            ScenarioItem::Expect {
                subject, op, bound, ..
            } => self.expectation(subject, *op, bound, model),
        }
    }

    fn expectation(
        &mut self,
        subject: &ast::Path,
        op: Comparator,
        bound: &Bound,
        model: &Model,
    ) -> Option<ScenarioStep> {
        let segs = &subject.segments;
        let op = match op {
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
        .to_string();
        if segs.len() == 1 && segs[0].name == "cost" {
            let Bound::Money(m) = bound else {
                self.bound_kind(bound, "cost", "an amount such as `$30000/month`");
                return None;
            };
            let v = self.money_per_hour(m, "cost")?;
            return Some(ScenarioStep::Expect {
                subject: "system".into(),
                metric: "cost".into(),
                op,
                bound: v,
                unit: "per_hour".into(),
            });
        }
        if segs.len() != 2 {
            self.report(
                Diagnostic::new(
                    codes::UNKNOWN_SETTING,
                    format!(
                        "cannot expect anything of `{}`",
                        self.sources.text(subject.span)
                    ),
                )
                .at(subject.span, "not a figure")
                .help("expect `WORKLOAD.p99`, `WORKLOAD.mean`, `SERVICE.utilization` or `cost`"),
            );
            return None;
        }
        let (name, metric) = (&segs[0], &segs[1]);
        if self.declared_workloads.contains(&name.name)
            && !model.workloads.iter().any(|w| w.name == name.name)
        {
            return None;
        }
        if model.workloads.iter().any(|w| w.name == name.name) {
            let is_stat = metric.name == "mean"
                || (metric.name.starts_with('p')
                    && metric.name[1..]
                        .parse::<f64>()
                        .is_ok_and(|p| p > 0.0 && p < 100.0));
            if !is_stat {
                self.report(
                    Diagnostic::new(
                        codes::UNKNOWN_SETTING,
                        format!("workload `{}` has no figure `{}`", name.name, metric.name),
                    )
                    .at(metric.span, "not a latency statistic")
                    .help("a workload has `mean` and percentiles such as `p50`, `p95`, `p99`"),
                );
                return None;
            }
            let Bound::Quantity(q) = bound else {
                self.bound_kind(bound, &metric.name, "a time such as `200ms`");
                return None;
            };
            let v = self.positive_time(q, &metric.name)?;
            return Some(ScenarioStep::Expect {
                subject: name.name.clone(),
                metric: metric.name.clone(),
                op,
                bound: v,
                unit: "s".into(),
            });
        }
        if model.service(&name.name).is_some() {
            if !SERVICE_METRICS.contains(&metric.name.as_str()) {
                let help = did_you_mean(&metric.name, SERVICE_METRICS.iter().copied())
                    .unwrap_or_else(|| format!("a service has {}", one_of(SERVICE_METRICS)));
                self.report(
                    Diagnostic::new(
                        codes::UNKNOWN_SETTING,
                        format!("service `{}` has no figure `{}`", name.name, metric.name),
                    )
                    .at(metric.span, "unknown figure")
                    .help(help),
                );
                return None;
            }
            let Bound::Quantity(q) = bound else {
                self.bound_kind(bound, &metric.name, "a ratio such as `0.8` or `80%`");
                return None;
            };
            let v = self.ratio(q, &metric.name, true)?;
            return Some(ScenarioStep::Expect {
                subject: name.name.clone(),
                metric: metric.name.clone(),
                op,
                bound: v,
                unit: "ratio".into(),
            });
        }
        let mut names: Vec<&str> = model.workloads.iter().map(|w| w.name.as_str()).collect();
        names.extend(model.services.iter().map(|s| s.name.as_str()));
        let help = did_you_mean(&name.name, names.iter().copied())
            .unwrap_or_else(|| "expect figures of a workload, a service, or `cost`".into());
        self.report(
            Diagnostic::new(
                codes::UNKNOWN_WORKLOAD,
                format!("no workload or service named `{}`", name.name),
            )
            .at(name.span, "unknown")
            .help(help),
        );
        None
    }

    fn bound_kind(&mut self, bound: &Bound, metric: &str, want: &str) {
        let span = match bound {
            Bound::Money(m) => m.span,
            Bound::Quantity(q) => q.span,
        };
        self.report(
            Diagnostic::new(
                codes::WRONG_DIMENSION,
                format!("`{metric}` is compared with {want}"),
            )
            .at(span, "wrong kind of value")
            .help(format!("write {want}")),
        );
    }

    fn workload_name(&mut self, w: &ast::Ident, model: &Model) -> Option<()> {
        if model.workloads.iter().any(|x| x.name == w.name) {
            return Some(());
        }
        if self.declared_workloads.contains(&w.name) {
            // Written but dropped for its own errors, which are already reported.
            return None;
        }
        let names: Vec<&str> = model.workloads.iter().map(|w| w.name.as_str()).collect();
        let help = did_you_mean(&w.name, names.iter().copied()).unwrap_or_else(|| {
            if names.is_empty() {
                "the system has no workloads".into()
            } else {
                format!("the workloads are {}", one_of(&names))
            }
        });
        self.report(
            Diagnostic::new(
                codes::UNKNOWN_WORKLOAD,
                format!("no workload named `{}`", w.name),
            )
            .at(w.span, "unknown workload")
            .help(help),
        );
        None
    }

    fn unknown_service(&mut self, s: &ast::Ident, model: &Model) {
        let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
        let help = did_you_mean(&s.name, names.iter().copied())
            .unwrap_or_else(|| format!("define `service {} {{ … }}`", s.name));
        self.report(
            Diagnostic::new(
                codes::UNKNOWN_SERVICE,
                format!("no service named `{}`", s.name),
            )
            .at(s.span, "unknown service")
            .help(help),
        );
    }
}
