//! Workloads, and the system-wide constraints (pricing, cluster).

use super::Checker;
use super::units::Dim;
use crate::diagnostics::{Diagnostic, codes};
use crate::model::*;
use crate::source::Span;
use crate::syntax::ast::{self, Resource, WorkloadItem};
use std::collections::BTreeMap;

impl Checker<'_> {
    pub(super) fn workload(&mut self, w: &ast::Workload, model: &Model) -> Option<Workload> {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut entry = None;
        let mut rate = None;
        let mut arrivals = Some(Arrivals::Poisson);
        let mut slos: Vec<Slo> = Vec::new();
        let mut slo_spans: BTreeMap<String, Span> = BTreeMap::new();
        let (mut every, mut work, mut deadline) = (None, None, None);
        let mut job_span = None;
        let mut ok = true;
        for item in &w.items {
            let key = match item {
                WorkloadItem::Entry { .. } => "entry",
                WorkloadItem::Rate { .. } => "rate",
                WorkloadItem::Arrivals { .. } => "arrivals",
                WorkloadItem::Slo { .. } => "slo",
                WorkloadItem::Every { .. } => "every",
                WorkloadItem::Work { .. } => "work",
                WorkloadItem::Deadline { .. } => "deadline",
            };
            if key != "slo" {
                if let Some(&first) = seen.get(key) {
                    self.repeated(key, item.span(), first);
                    continue;
                }
                seen.insert(key, item.span());
            }
            match item {
                WorkloadItem::Entry { target, .. } => entry = Some(target),
                WorkloadItem::Rate { rate: q, .. } => {
                    rate = self
                        .quantity(q, Dim::Rate, "rate")
                        .and_then(|v| self.positive(v, q, "rate"));
                    ok &= rate.is_some();
                }
                WorkloadItem::Arrivals { process, .. } => {
                    arrivals = self.arrivals(process);
                    ok &= arrivals.is_some();
                }
                WorkloadItem::Slo { stat, bound, span } => {
                    if let Some(&first) = slo_spans.get(&stat.text) {
                        self.repeated(&format!("slo {}", stat.text), *span, first);
                        continue;
                    }
                    slo_spans.insert(stat.text.clone(), *span);
                    let quantile = if stat.text == "mean" {
                        Some(None)
                    } else {
                        self.percentile(stat, "an slo").map(Some)
                    };
                    let target = self.positive_time(bound, "slo");
                    match (quantile, target) {
                        (Some(quantile), Some(target_s)) => slos.push(Slo {
                            stat: stat.text.clone(),
                            quantile,
                            target_s,
                        }),
                        _ => ok = false,
                    }
                }
                WorkloadItem::Every { period, span } => {
                    job_span.get_or_insert(*span);
                    every = self.positive_time(period, "every");
                    ok &= every.is_some();
                }
                WorkloadItem::Work { amount, span } => {
                    job_span.get_or_insert(*span);
                    work = self
                        .quantity(amount, Dim::Work, "work")
                        .and_then(|v| self.positive(v, amount, "work"))
                        .map(|v| {
                            (
                                v,
                                amount
                                    .unit
                                    .as_ref()
                                    .map(|u| u.name.clone())
                                    .unwrap_or_default(),
                                amount.span,
                            )
                        });
                    ok &= work.is_some();
                }
                WorkloadItem::Deadline { time, span } => {
                    job_span.get_or_insert(*span);
                    deadline = self.positive_time(time, "deadline").map(|d| (d, time.span));
                    ok &= deadline.is_some();
                }
            }
        }
        let is_job = job_span.is_some();
        let missing = |c: &mut Checker, what: &str, help: &str| {
            c.report(
                Diagnostic::new(
                    codes::MISSING_FIELD,
                    format!("workload `{}` has no `{what}`", w.name.name),
                )
                .at(w.name.span, format!("`{what}` missing"))
                .help(help.to_string()),
            );
        };
        let Some(entry) = entry else {
            missing(
                self,
                "entry",
                "say where requests arrive, e.g. `entry api.recommend`",
            );
            return None;
        };
        let target = self.entry(entry, model)?;
        let service = model
            .service(&target.service)
            .expect("entry resolved to a service");
        if self.incomplete.contains(&service.name) {
            // Its kind and resources come from templates that did not resolve (reported).
            return None;
        }
        let job = if is_job {
            if service.kind != ServiceKind::Job {
                self.report(
                    Diagnostic::new(
                        codes::FIELD_NOT_ALLOWED,
                        format!(
                            "workload `{}` is a job, but `{}` is not a `kind job` service",
                            w.name.name, service.name
                        ),
                    )
                    .at(entry.span, "not a job service")
                    .with(
                        job_span.unwrap_or(w.name.span),
                        "this makes the workload a job",
                    )
                    .help(format!(
                        "add `kind job` to `{}`; for a service that answers requests, replace `every`, `work` and `deadline` with a `rate`",
                        service.name
                    )),
                );
                return None;
            }
            for (what, present, help) in [
                (
                    "every",
                    every.is_some() || seen.contains_key("every"),
                    "say how often the job runs, e.g. `every 24h`",
                ),
                (
                    "work",
                    work.is_some() || seen.contains_key("work"),
                    "say how much work a run is, e.g. `work 96 gpu-hours`",
                ),
                (
                    "deadline",
                    deadline.is_some() || seen.contains_key("deadline"),
                    "say how long a run may take, e.g. `deadline 4h`",
                ),
            ] {
                if !present {
                    missing(self, what, help);
                    ok = false;
                }
            }
            if let Some(r) = seen.get("rate") {
                self.report(
                    Diagnostic::new(codes::FIELD_NOT_ALLOWED, "a job workload has no `rate`")
                        .at(*r, "a job runs `every` period")
                        .help("remove `rate`; a job runs once per `every`"),
                );
                ok = false;
            }
            let (Some(every), Some((work, unit, work_span)), Some((deadline, deadline_span))) =
                (every, work, deadline)
            else {
                return None;
            };
            if deadline > every {
                self.report(
                    Diagnostic::new(
                        codes::VALUE_OUT_OF_RANGE,
                        "the deadline is longer than the period",
                    )
                    .at(deadline_span, "runs would overlap")
                    .help(
                        "a run must finish before the next starts: make `deadline` at most `every`",
                    ),
                );
                ok = false;
            }
            if unit == "gpu-hours" && service.gpu.is_none() {
                self.report(
                    Diagnostic::new(
                        codes::FIELD_NOT_ALLOWED,
                        format!("work in gpu-hours, but `{}` has no gpu", service.name),
                    )
                    .at(work_span, "gpu work")
                    .help(format!(
                        "give `{}` a `gpu TYPE x N`, or state the work in `cpu-hours`",
                        service.name
                    )),
                );
                ok = false;
            }
            for (what, at) in [
                ("arrivals", seen.get("arrivals").copied()),
                ("slo", slo_spans.values().next().copied()),
            ] {
                if let Some(at) = at {
                    self.report(
                        Diagnostic::new(codes::FIELD_NOT_ALLOWED, format!("a job workload takes no `{what}`"))
                            .at(at, "not for a job")
                            .help("a job runs once per `every` and must finish within its `deadline`, which is its objective"),
                    );
                    ok = false;
                }
            }
            rate = Some(1.0 / every);
            arrivals = Some(Arrivals::Periodic { every_s: every });
            Some(Job {
                every_s: every,
                work,
                work_unit: unit,
                deadline_s: deadline,
            })
        } else {
            if service.kind == ServiceKind::Job {
                self.report(
                    Diagnostic::new(
                        codes::FIELD_NOT_ALLOWED,
                        format!(
                            "`{}` is a job service; workloads on it are jobs",
                            service.name
                        ),
                    )
                    .at(entry.span, "a `kind job` service")
                    .help("give the workload `every`, `work` and `deadline` instead of a rate"),
                );
                return None;
            }
            None
        };
        if let Some(Arrivals::Trace { rate_rps, .. }) = &arrivals {
            rate.get_or_insert(*rate_rps);
        }
        if rate.is_none() && ok && !seen.contains_key("rate") {
            missing(self, "rate", "give the arrival rate, e.g. `rate 2400 rps`");
            return None;
        }
        if !ok {
            return None;
        }
        Some(Workload {
            name: w.name.name.clone(),
            span: w.name.span,
            entry: target,
            rate_rps: rate?,
            arrivals: arrivals?,
            slos,
            job,
        })
    }

    fn entry(&mut self, entry: &ast::Path, model: &Model) -> Option<Target> {
        let segs = &entry.segments;
        if let Some(s) = model.service(&segs[0].name) {
            // A job with no endpoints is entered by name alone; one with endpoints resolves
            // like any other service.
            if s.kind == ServiceKind::Job && segs.len() == 1 && s.endpoints.is_empty() {
                return Some(Target {
                    service: s.name.clone(),
                    endpoint: None,
                });
            }
        }
        if segs.len() > 2 {
            self.report(
                Diagnostic::new(codes::UNKNOWN_ENDPOINT, format!("`{}` is not an entry point", self.sources.text(entry.span)))
                    .at(entry.span, "too many parts")
                    .help("write `entry SERVICE.ENDPOINT`, or `entry SERVICE` for a service with one endpoint"),
            );
            return None;
        }
        let endpoints = self.spans.written.clone();
        let ep = segs.get(1).map(|s| s.name.clone());
        let name = self.target(
            &endpoints,
            &segs[0].name,
            ep.as_ref(),
            segs[0].span,
            segs.get(1).map(|s| s.span),
            entry.span,
            "entry",
        )?;
        Some(Target {
            service: segs[0].name.clone(),
            endpoint: Some(name),
        })
    }

    fn arrivals(&mut self, a: &ast::Arrivals) -> Option<Arrivals> {
        match a {
            ast::Arrivals::Poisson { .. } => Some(Arrivals::Poisson),
            ast::Arrivals::Bursty { scv, .. } => {
                let v = self.quantity(scv, Dim::Count, "scv")?;
                Some(Arrivals::Bursty {
                    scv: self.positive(v, scv, "scv")?,
                })
            }
            ast::Arrivals::Trace { file, .. } => self.trace(file),
        }
    }

    pub(super) fn pricing(&mut self, items: &[ast::PriceItem]) -> Pricing {
        let mut p = Pricing::default();
        let mut seen = BTreeMap::new();
        for item in items {
            let Some(key) = self.resource(&item.resource, &mut seen) else {
                continue;
            };
            let field = match &key {
                ResourceKey::Cpu => "cpu".to_string(),
                ResourceKey::Memory => "memory".to_string(),
                ResourceKey::Gpu(k) => format!("gpu {k}"),
            };
            let Some(v) = self.money_per_hour(&item.price, &field) else {
                continue;
            };
            match key {
                ResourceKey::Cpu => p.cpu_per_core_hour = Some(v),
                ResourceKey::Memory => p.memory_per_gib_hour = Some(v),
                ResourceKey::Gpu(k) => {
                    p.gpu_per_hour.insert(k, v);
                }
            }
        }
        p
    }

    pub(super) fn cluster(&mut self, items: &[ast::ClusterItem]) -> Cluster {
        let mut c = Cluster::default();
        let mut seen = BTreeMap::new();
        for item in items {
            let Some(key) = self.resource(&item.resource, &mut seen) else {
                continue;
            };
            match key {
                ResourceKey::Cpu => {
                    c.cpu_cores = self
                        .quantity(&item.amount, Dim::Cpu, "cpu")
                        .and_then(|v| self.positive(v, &item.amount, "cpu"))
                }
                ResourceKey::Memory => {
                    c.memory_bytes = self
                        .quantity(&item.amount, Dim::Memory, "memory")
                        .and_then(|v| self.positive(v, &item.amount, "memory"))
                        .map(|v| v.round() as u64)
                }
                ResourceKey::Gpu(k) => {
                    if let Some(n) = self.count(&item.amount, "gpu", 1, 1_000_000) {
                        c.gpus.insert(k, n);
                    }
                }
            }
        }
        c
    }

    fn resource(&mut self, r: &Resource, seen: &mut BTreeMap<String, Span>) -> Option<ResourceKey> {
        let (key, shown) = match r {
            Resource::Gpu { kind, .. } => (
                ResourceKey::Gpu(kind.name.clone()),
                format!("gpu {}", kind.name),
            ),
            Resource::Named(i) if i.name == "cpu" => (ResourceKey::Cpu, "cpu".into()),
            Resource::Named(i) if i.name == "memory" => (ResourceKey::Memory, "memory".into()),
            Resource::Named(i) => {
                let help = if i.name == "gpu" {
                    "name the gpu type: `gpu nvidia-l4 …`".to_string()
                } else {
                    crate::diagnostics::did_you_mean(&i.name, ["cpu", "memory", "gpu"])
                        .unwrap_or_else(|| {
                            "the resources are `cpu`, `memory` and `gpu TYPE`".into()
                        })
                };
                self.report(
                    Diagnostic::new(
                        codes::UNKNOWN_OPTION,
                        format!("unknown resource `{}`", i.name),
                    )
                    .at(i.span, "not a resource")
                    .help(help),
                );
                return None;
            }
        };
        if let Some(&first) = seen.get(&shown) {
            self.repeated(&shown, r.span(), first);
            return None;
        }
        seen.insert(shown, r.span());
        Some(key)
    }
}

enum ResourceKey {
    Cpu,
    Memory,
    Gpu(String),
}
