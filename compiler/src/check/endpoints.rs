//! Endpoints: own time, cache, batching and calls; then resolving call targets.

use super::services::MergedEndpoint;
use super::units::Dim;
use super::{CallSite, Checker};
use crate::diagnostics::{Diagnostic, codes, did_you_mean, one_of};
use crate::model::choice::batch_candidates;
use crate::model::graph::each_call;
use crate::model::*;
use crate::source::Span;
use crate::syntax::ast::{self, ArgValue, CallModifier, Statement, TimeSpec};
use std::collections::BTreeMap;

const DISTRIBUTIONS: &[&str] = &["exp", "const", "lognormal", "gamma", "uniform", "empirical"];

impl Checker<'_> {
    /// The checked endpoint, or `None` when it has an error (already reported).
    pub(super) fn endpoint(&mut self, svc: &Service, e: MergedEndpoint<'_>) -> Option<Endpoint> {
        if !self.template_mode {
            self.spans
                .written
                .entry(svc.name.clone())
                .or_default()
                .push(e.name.clone());
        }
        let external = svc.kind == ServiceKind::External;
        // `Some(None)`: no batching; `None`: batching with an error.
        let batch = match e.batch {
            None => Some(None),
            Some(b) => self.batch(b).map(Some),
        };
        let (time, gpu_times) = self.gpu_times(svc, &e);
        let time = match e.time {
            _ if time.is_some() => time,
            Some((spec, span)) => self.time_spec(spec, span, e.batch.map(Statement::span), false),
            // A job's work is its workload's `work`; its endpoints only say what it touches.
            None if svc.kind == ServiceKind::Job => Some(ServiceTime::Const { value_s: 0.0 }),
            // An error in a `time on` line, already reported.
            None if !e.time_on.is_empty() => None,
            None => {
                // A template may leave `time` to the services that extend it.
                if !self.template_mode {
                    self.missing_time(svc, &e);
                }
                None
            }
        };
        let cache = match e.cache {
            Some(Statement::Cache { hit, time, span }) => {
                let ratio = self.ratio(hit, "cache hit", true);
                let hit_time = match time {
                    Some(t) => self.time_spec(t, *span, None, true),
                    None => Some(ServiceTime::Const { value_s: 0.0 }),
                };
                match (ratio, hit_time) {
                    (Some(hit_ratio), Some(hit_time)) => Some(Some(Cache {
                        hit_ratio,
                        hit_time,
                    })),
                    _ => None,
                }
            }
            _ => Some(None),
        };
        if external {
            for s in e
                .cache
                .into_iter()
                .chain(e.batch)
                .chain(e.calls.iter().copied())
            {
                self.report(
                    Diagnostic::new(
                        codes::FIELD_NOT_ALLOWED,
                        format!(
                            "`{}` does not apply to external service `{}`",
                            s.keyword(),
                            svc.name
                        ),
                    )
                    .at(s.span(), "external services are modelled as a latency only")
                    .help("give the external endpoint a `time` distribution and nothing else"),
                );
            }
        }
        let key = (svc.name.clone(), e.name.clone());
        let mut sites = Vec::new();
        // An external service's calls are reported above and left out of the graph.
        let calls = if external { &[][..] } else { &e.calls[..] };
        let mut steps = self.steps(calls, &mut sites);
        if svc.kind == ServiceKind::Queue {
            // A broker's calls are deliveries: its producers never wait for them.
            each_call_mut(&mut steps, &mut |c| c.is_async = true);
        }
        if !self.template_mode {
            self.spans.calls.insert(key, sites);
        }
        Some(Endpoint {
            name: e.name,
            time: time?,
            gpu_times: gpu_times?,
            cache: cache?,
            batch: batch?,
            steps,
        })
    }

    /// No `time`: usually forgotten, but a `cache hit … time` that swallowed the endpoint's
    /// `time` on the next line looks the same, so say which.
    fn missing_time(&mut self, svc: &Service, e: &MergedEndpoint<'_>) {
        if let Some(Statement::Cache {
            time: Some(t),
            span,
            ..
        }) = e.cache
        {
            let (cache_line, _) = self.sources.line_col(span.file, span.start);
            let (time_line, _) = self.sources.line_col(span.file, t.span().start);
            if time_line > cache_line {
                self.report(
                    Diagnostic::new(codes::MISSING_FIELD, format!("endpoint `{}.{}` has no `time`: the `time` below was read as the cache's hit time", svc.name, e.name))
                        .at(t.span(), "read as the hit time of the cache above")
                        .with(*span, "this `cache` takes an optional `time`")
                        .help("write the endpoint's `time` before the `cache`, or give the cache its hit time on its line: `cache hit 85% time 0.2ms`"),
                );
                return;
            }
        }
        self.report(
            Diagnostic::new(codes::MISSING_FIELD, format!("endpoint `{}.{}` has no `time`", svc.name, e.name))
                .at(e.span, "no `time` here")
                .help("say how long its own work takes, e.g. `time exp(2ms)`; write `time const(0ms)` if it only forwards"),
        );
    }

    fn batch(&mut self, s: &Statement) -> Option<Batch> {
        let Statement::Batch {
            max, up_to, wait, ..
        } = s
        else {
            unreachable!("only `batch` statements are batches")
        };
        let lo = self.count(max, "batch max", 1, 65536);
        let range = match up_to {
            None => Some(None),
            Some(hi_q) => match (lo, self.count(hi_q, "batch max", 1, 65536)) {
                (Some(lo), Some(hi)) if lo > hi => {
                    self.report(
                        Diagnostic::new(
                            codes::EMPTY_RANGE,
                            format!("batch max range `{lo}..{hi}` is empty"),
                        )
                        .at(max.span.to(hi_q.span), "the lower bound is above the upper")
                        .help(format!("write `batch max {hi}..{lo}`")),
                    );
                    None
                }
                (Some(lo), Some(hi)) => Some((lo < hi).then(|| batch_candidates(lo, hi))),
                _ => None,
            },
        };
        let wait_s = match wait {
            Some(w) => self.quantity(w, Dim::Time, "batch wait"),
            None => Some(0.0),
        };
        Some(Batch {
            max: lo?,
            max_choices: range?.unwrap_or_default(),
            wait_s: wait_s?,
        })
    }

    /// The time of endpoint `e` from its `time on TYPE` lines: `(time on the type in use,
    /// times by type of a gpu choice)`. The first is `None` when the endpoint's plain `time`
    /// decides (no `time on` for the type in use), or on an error (reported).
    fn gpu_times(
        &mut self,
        svc: &Service,
        e: &MergedEndpoint<'_>,
    ) -> (Option<ServiceTime>, Option<BTreeMap<String, ServiceTime>>) {
        let batch = e.batch.map(Statement::span);
        let types: Vec<String> = if svc.gpu_choices.is_empty() {
            svc.gpu.iter().map(|g| g.kind.clone()).collect()
        } else {
            svc.gpu_choices.clone()
        };
        let mut on: BTreeMap<String, ServiceTime> = BTreeMap::new();
        let mut ok = true;
        for &(kind, spec, span) in &e.time_on {
            // A template may name types that the services extending it choose.
            if !self.template_mode && !types.contains(&kind.name) {
                ok = false;
                let (label, help) = if types.is_empty() {
                    (
                        "this service has no gpu".to_string(),
                        "give the service `gpu TYPE x N`, or write a plain `time`".to_string(),
                    )
                } else {
                    (
                        format!("not a gpu type of `{}`", svc.name),
                        match did_you_mean(&kind.name, types.iter().map(String::as_str)) {
                            Some(s) => s,
                            None => format!(
                                "the service's gpu types are {}",
                                one_of(&types.iter().map(String::as_str).collect::<Vec<_>>())
                            ),
                        },
                    )
                };
                self.report(
                    Diagnostic::new(
                        codes::UNKNOWN_GPU_TYPE,
                        format!(
                            "`{}.{}` has `time on {}`, a gpu type `{}` does not use",
                            svc.name, e.name, kind.name, svc.name
                        ),
                    )
                    .at(kind.span, label)
                    .help(help),
                );
                continue;
            }
            match self.time_spec(spec, span, batch, false) {
                Some(t) => {
                    on.insert(kind.name.clone(), t);
                }
                None => ok = false,
            }
        }
        if !ok {
            return (None, None);
        }
        let default = match e.time {
            Some((spec, span)) if !svc.gpu_choices.is_empty() => {
                match self.time_spec(spec, span, batch, false) {
                    Some(t) => Some(t),
                    None => return (None, None),
                }
            }
            _ => None,
        };
        let mut times = BTreeMap::new();
        if !svc.gpu_choices.is_empty() {
            let missing: Vec<&String> = types
                .iter()
                .filter(|t| !on.contains_key(*t) && e.time.is_none())
                .collect();
            if !missing.is_empty() {
                // Nothing at all is the usual missing `time`, reported by the caller.
                if !on.is_empty() && !self.template_mode {
                    let names = missing
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.report(
                        Diagnostic::new(
                            codes::MISSING_GPU_TIME,
                            format!("endpoint `{}.{}` has no time on {names}", svc.name, e.name),
                        )
                        .at(e.span, "no `time` for every gpu type")
                        .help(format!(
                            "add `time on {} …`, or a plain `time` for the types without their own",
                            missing[0]
                        )),
                    );
                }
                return (None, None);
            }
            for t in &types {
                let time = on.get(t).or(default.as_ref()).expect("checked above");
                times.insert(t.clone(), time.clone());
            }
        }
        let current = types.first().and_then(|t| on.get(t)).cloned();
        (current, Some(times))
    }

    fn steps(&mut self, statements: &[&Statement], sites: &mut Vec<CallSite>) -> Vec<Step> {
        statements
            .iter()
            .filter_map(|s| self.step(s, sites))
            .collect()
    }

    fn step(&mut self, s: &Statement, sites: &mut Vec<CallSite>) -> Option<Step> {
        match s {
            Statement::Parallel { steps, span } => {
                let refs: Vec<&Statement> = steps.iter().collect();
                if refs.is_empty() {
                    self.report(
                        Diagnostic::new(codes::MISSING_FIELD, "empty `parallel` group")
                            .at(*span, "no calls inside")
                            .help("put the calls to run concurrently inside the braces, or remove the group"),
                    );
                }
                Some(Step::Parallel {
                    steps: self.steps(&refs, sites),
                })
            }
            Statement::Call(c) => self.call(c, sites).map(Step::Call),
            _ => None,
        }
    }

    fn call(&mut self, c: &ast::Call, sites: &mut Vec<CallSite>) -> Option<Call> {
        let segs = &c.target.segments;
        if segs.len() > 2 {
            self.report(
                Diagnostic::new(
                    codes::UNKNOWN_ENDPOINT,
                    format!(
                        "`{}` is not a call target",
                        self.sources.text(c.target.span)
                    ),
                )
                .at(c.target.span, "too many parts")
                .help("call `SERVICE.ENDPOINT`, or `SERVICE` for a service with one endpoint"),
            );
            return None;
        }
        let mut call = Call {
            service: segs[0].name.clone(),
            endpoint: segs.get(1).map(|s| s.name.clone()).unwrap_or_default(),
            probability: 1.0,
            times: 1,
            fanout: false,
            is_async: false,
            timeout_s: None,
            retries: 0,
        };
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for m in &c.modifiers {
            if let Some(&first) = seen.get(m.keyword()) {
                self.repeated(m.keyword(), m.span(), first);
                continue;
            }
            seen.insert(m.keyword(), m.span());
            match m {
                CallModifier::When { ratio, .. } => {
                    call.probability = self.ratio(ratio, "when", false).unwrap_or(1.0)
                }
                CallModifier::Times {
                    count, parallel, ..
                } => {
                    call.times = self.count(count, "times", 1, 100_000).unwrap_or(1);
                    call.fanout = *parallel;
                }
                CallModifier::Async { .. } => call.is_async = true,
                CallModifier::Timeout { time, .. } => {
                    call.timeout_s = self.positive_time(time, "timeout")
                }
                CallModifier::Retries { count, .. } => {
                    call.retries = self.count(count, "retries", 0, 100).unwrap_or(0)
                }
            }
        }
        if let (Some(&at), true) = (
            seen.get("async"),
            call.timeout_s.is_some() || call.retries > 0,
        ) {
            let what = if call.retries > 0 {
                "retries"
            } else {
                "timeout"
            };
            self.report(
                Diagnostic::new(
                    codes::FIELD_NOT_ALLOWED,
                    format!("`{what}` has no effect on an `async` call"),
                )
                .at(seen[what], "nothing waits for this call")
                .with(at, "the call is async")
                .help("remove it, or drop `async` if the caller waits for the answer"),
            );
        }
        if call.retries > 0 && call.timeout_s.is_none() {
            let at = seen["retries"];
            self.report(
                Diagnostic::new(codes::MISSING_FIELD, "`retries` without a `timeout`")
                    .at(at, "when would a retry happen?")
                    .help("a retry is sent when the call times out: add `timeout 50ms` (or the client's real timeout)"),
            );
        }
        sites.push(CallSite {
            span: c.span,
            service: segs[0].span,
            endpoint: segs.get(1).map(|s| s.span),
        });
        Some(call)
    }

    /// A service time in seconds. `batch` is the span of the endpoint's `batch` statement, if any;
    /// `bare_ok` allows a plain time, read as constant (cache hits).
    fn time_spec(
        &mut self,
        spec: &TimeSpec,
        stmt: Span,
        batch: Option<Span>,
        bare_ok: bool,
    ) -> Option<ServiceTime> {
        if let TimeSpec::Linear { span, .. } = spec {
            if batch.is_none() {
                self.report(
                    Diagnostic::new(codes::BATCH_MISMATCH, "a batch time without `batch`")
                        .at(*span, "time per batch size")
                        .help("add `batch max N wait T` to the endpoint, or give a distribution such as `exp(2ms)`"),
                );
                return None;
            }
        } else if let Some(b) = batch {
            self.report(
                Diagnostic::new(
                    codes::BATCH_MISMATCH,
                    "a batching endpoint needs a batch time",
                )
                .at(spec.span(), "not a time per batch size")
                .with(b, "batching declared here")
                .help("write the time of a batch of n requests, e.g. `time 2ms + 0.3ms per item`"),
            );
            return None;
        }
        match spec {
            TimeSpec::Bare(q) if bare_ok => {
                let v = self.quantity(q, Dim::Time, "time")?;
                Some(ServiceTime::Const { value_s: v })
            }
            TimeSpec::Bare(q) => {
                self.report(
                    Diagnostic::new(codes::TIME_WITHOUT_DISTRIBUTION, format!("`time {}` gives no distribution", self.sources.text(q.span)))
                        .at(stmt, "a single number")
                        .help(format!(
                            "queueing depends on variability: write `exp({0})` for a mean, `const({0})` for a fixed time, or `lognormal(mean {0}, cv 1)`",
                            self.sources.text(q.span)
                        )),
                );
                None
            }
            TimeSpec::Linear { base, per_item, .. } => {
                let b = self.quantity(base, Dim::Time, "batch time")?;
                let p = self.quantity(per_item, Dim::Time, "batch time")?;
                if b + p <= 0.0 {
                    self.report(
                        Diagnostic::new(codes::VALUE_OUT_OF_RANGE, "a batch must take some time")
                            .at(spec.span(), "zero for every batch size")
                            .help("give a fixed part, a per-item part, or both"),
                    );
                    return None;
                }
                Some(ServiceTime::Batch {
                    base_s: b,
                    per_item_s: p,
                })
            }
            TimeSpec::Fitted { low, high, span } => self.fitted(low, high, *span),
            TimeSpec::Dist { name, args, span } => self.distribution(name, args, *span),
        }
    }

    fn fitted(
        &mut self,
        low: &(ast::Stat, ast::Quantity),
        high: &(ast::Stat, ast::Quantity),
        span: Span,
    ) -> Option<ServiceTime> {
        let pl = self.percentile(&low.0, "a fitted time");
        let ph = self.percentile(&high.0, "a fitted time");
        let tl = self.positive_time(&low.1, &low.0.text);
        let th = self.positive_time(&high.1, &high.0.text);
        let (pl, ph, tl, th) = (pl?, ph?, tl?, th?);
        if pl == ph {
            self.report(
                Diagnostic::new(
                    codes::PERCENTILES_OUT_OF_ORDER,
                    format!("`{}` is given twice in a fitted time", low.0.text),
                )
                .at(span, "the same percentile twice")
                .help("fit from two different percentiles, e.g. `p50 3ms p99 14ms`"),
            );
            return None;
        }
        if pl > ph {
            self.report(
                Diagnostic::new(
                    codes::PERCENTILES_OUT_OF_ORDER,
                    format!("`{}` must come before `{}`", high.0.text, low.0.text),
                )
                .at(span, "lower percentile first")
                .help("write the lower percentile first, each with its own time, e.g. `p50 3ms p99 14ms`"),
            );
            return None;
        }
        if tl >= th {
            self.report(
                Diagnostic::new(
                    codes::PERCENTILES_OUT_OF_ORDER,
                    format!(
                        "the `{}` time ({}) must be above the `{}` time ({})",
                        high.0.text,
                        self.sources.text(high.1.span),
                        low.0.text,
                        self.sources.text(low.1.span)
                    ),
                )
                .at(high.1.span, "not above the lower percentile")
                .with(low.1.span, "lower percentile")
                .help("a higher percentile is a longer time; check the figures, or use `const(…)` for a fixed time"),
            );
            return None;
        }
        Some(ServiceTime::Fitted {
            p_low: pl,
            low_s: tl,
            p_high: ph,
            high_s: th,
        })
    }

    /// `p99` → 0.99. `context` says where percentiles are wanted, for messages.
    pub(super) fn percentile(&mut self, stat: &ast::Stat, context: &str) -> Option<f64> {
        let Some(digits) = stat.text.strip_prefix('p') else {
            self.report(
                Diagnostic::new(
                    codes::INVALID_STATISTIC,
                    format!("{context} needs percentiles, not `{}`", stat.text),
                )
                .at(stat.span, "not a percentile")
                .help("write two percentiles, e.g. `p50 3ms p99 14ms`"),
            );
            return None;
        };
        let p: f64 = digits.parse().unwrap_or(f64::NAN);
        if p > 0.0 && p < 100.0 {
            // Shift the decimal point in the text: `99.9e-2` parses to the double nearest 0.999,
            // where 99.9 / 100.0 would round twice.
            return Some(format!("{digits}e-2").parse().expect("digits parse"));
        }
        let help = if digits.len() > 2 && digits.starts_with("99") {
            format!("percentiles are in percent: write `p99.{}`", &digits[2..])
        } else {
            "a percentile is above 0 and below 100, e.g. `p50`, `p99` or `p99.9`".to_string()
        };
        self.report(
            Diagnostic::new(
                codes::INVALID_STATISTIC,
                format!("`{}` is not a percentile", stat.text),
            )
            .at(stat.span, "out of range")
            .help(help),
        );
        None
    }

    fn distribution(
        &mut self,
        name: &ast::Ident,
        args: &[ast::DistArg],
        span: Span,
    ) -> Option<ServiceTime> {
        let bad = |c: &mut Checker, msg: String, help: &str| {
            c.report(
                Diagnostic::new(codes::INVALID_DISTRIBUTION, msg)
                    .at(span, "here")
                    .help(help.to_string()),
            );
            None
        };
        let usage = match name.name.as_str() {
            "exp" => "write `exp(MEAN)`, e.g. `exp(5ms)`",
            "const" => "write `const(VALUE)`, e.g. `const(8ms)`",
            "lognormal" => "write `lognormal(mean 6ms, cv 0.8)`",
            "gamma" => "write `gamma(mean 6ms, cv 0.5)`",
            "uniform" => "write `uniform(LOW, HIGH)`, e.g. `uniform(2ms, 5ms)`",
            "empirical" => "write `empirical(\"samples.csv\")` with one sample per line",
            _ => {
                let help = match did_you_mean(&name.name, DISTRIBUTIONS.iter().copied()) {
                    Some(s) => s,
                    None => format!(
                        "the distributions are {}, and `p50 X p99 Y`",
                        one_of(DISTRIBUTIONS)
                    ),
                };
                self.report(
                    Diagnostic::new(
                        codes::INVALID_DISTRIBUTION,
                        format!("unknown distribution `{}`", name.name),
                    )
                    .at(name.span, "not a distribution")
                    .help(help),
                );
                return None;
            }
        };
        let names: Vec<Option<&str>> = args
            .iter()
            .map(|a| a.name.as_ref().map(|n| n.name.as_str()))
            .collect();
        let quantity = |i: usize| match args.get(i).map(|a| &a.value) {
            Some(ArgValue::Quantity(q)) => Some(q),
            _ => None,
        };
        match name.name.as_str() {
            "exp" | "const" => {
                let ok_names =
                    names.len() == 1 && matches!(names[0], None | Some("mean") | Some("value"));
                let Some(q) = quantity(0).filter(|_| ok_names) else {
                    return bad(self, format!("`{}` takes one time", name.name), usage);
                };
                // A fixed zero is a real case (an endpoint that only forwards); a zero mean is not.
                Some(if name.name == "exp" {
                    ServiceTime::Exp {
                        mean_s: self.positive_time(q, "exp")?,
                    }
                } else {
                    let v = self.quantity(q, Dim::Time, "const")?;
                    ServiceTime::Const {
                        value_s: if v == 0.0 {
                            0.0
                        } else {
                            self.positive(v, q, "const")?
                        },
                    }
                })
            }
            "lognormal" | "gamma" => {
                if names != [Some("mean"), Some("cv")] {
                    return bad(
                        self,
                        format!("`{}` takes `mean` and `cv`, in that order", name.name),
                        usage,
                    );
                }
                let (Some(m), Some(cvq)) = (quantity(0), quantity(1)) else {
                    return bad(
                        self,
                        format!("`{}` takes a time and a number", name.name),
                        usage,
                    );
                };
                let mean = self.positive_time(m, "mean");
                let cv = self
                    .quantity(cvq, Dim::Count, "cv")
                    .and_then(|v| self.positive(v, cvq, "cv"));
                let (mean_s, cv) = (mean?, cv?);
                Some(if name.name == "gamma" {
                    ServiceTime::Gamma { mean_s, cv }
                } else {
                    ServiceTime::Lognormal { mean_s, cv }
                })
            }
            "uniform" => {
                let (Some(a), Some(b)) = (quantity(0), quantity(1)) else {
                    return bad(self, "`uniform` takes two times".into(), usage);
                };
                if args.len() != 2 || names.iter().any(Option::is_some) {
                    return bad(self, "`uniform` takes two times".into(), usage);
                }
                let lo = self.quantity(a, Dim::Time, "uniform");
                let hi = self.quantity(b, Dim::Time, "uniform");
                let (lo, hi) = (lo?, hi?);
                if lo < 0.0 || lo >= hi {
                    self.report(
                        Diagnostic::new(
                            codes::EMPTY_RANGE,
                            format!(
                                "`uniform({}, {})` is empty",
                                self.sources.text(a.span),
                                self.sources.text(b.span)
                            ),
                        )
                        .at(span, "low must be below high")
                        .help("the upper bound must be larger than the lower, which must not be negative"),
                    );
                    return None;
                }
                Some(ServiceTime::Uniform {
                    low_s: lo,
                    high_s: hi,
                })
            }
            _ => {
                let Some(ArgValue::Str(file)) =
                    args.first().map(|a| &a.value).filter(|_| args.len() == 1)
                else {
                    return bad(self, "`empirical` takes one file name".into(), usage);
                };
                let samples = self.samples(file)?;
                Some(ServiceTime::Empirical {
                    file: file.value.clone(),
                    samples_s: samples,
                })
            }
        }
    }

    /// Resolves `call` targets now that every service is known, dropping calls that fail.
    pub(super) fn resolve_calls(&mut self, model: &mut Model) {
        let endpoints = self.spans.written.clone();
        for s in &mut model.services {
            for e in &mut s.endpoints {
                let key = (s.name.clone(), e.name.clone());
                let sites = self.spans.calls.get(&key).cloned().unwrap_or_default();
                let mut index = 0;
                let mut bad = Vec::new();
                each_call_mut(&mut e.steps, &mut |c| {
                    let site = &sites[index];
                    index += 1;
                    match self.target(
                        &endpoints,
                        &c.service,
                        Some(&c.endpoint).filter(|e| !e.is_empty()),
                        site.service,
                        site.endpoint,
                        site.span,
                        "call",
                    ) {
                        Some(ep) => c.endpoint = ep,
                        None => bad.push(index - 1),
                    }
                });
                // Keep spans aligned with the calls that remain.
                let mut i = 0;
                retain_calls(&mut e.steps, &mut |_| {
                    let keep = !bad.contains(&i);
                    i += 1;
                    keep
                });
                let kept: Vec<CallSite> = sites
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !bad.contains(i))
                    .map(|(_, s)| s)
                    .collect();
                self.spans.calls.insert(key, kept);
            }
        }
        // Sanity: spans and calls stay in step.
        debug_assert!(model.services.iter().all(|s| s.endpoints.iter().all(|e| {
            let mut n = 0;
            each_call(&e.steps, &mut |_| n += 1);
            self.spans
                .calls
                .get(&(s.name.clone(), e.name.clone()))
                .map_or(0, Vec::len)
                == n
        })));
    }

    /// Resolves `service[.endpoint]` to an endpoint name, or reports why it cannot.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn target(
        &mut self,
        endpoints: &BTreeMap<String, Vec<String>>,
        service: &str,
        endpoint: Option<&String>,
        service_span: Span,
        endpoint_span: Option<Span>,
        whole: Span,
        what: &str,
    ) -> Option<String> {
        let Some(eps) = endpoints.get(service) else {
            let d = Diagnostic::new(
                codes::UNKNOWN_SERVICE,
                format!("no service named `{service}`"),
            )
            .at(service_span, format!("unknown {what} target"));
            let names: Vec<&str> = endpoints.keys().map(String::as_str).collect();
            let help = match did_you_mean(service, names.iter().copied()) {
                Some(s) => s,
                None if names.is_empty() || names.len() > 8 => {
                    format!("define `service {service} {{ … }}` in the system")
                }
                None => format!(
                    "define `service {service} {{ … }}`, or call one of the services: {}",
                    one_of(&names)
                ),
            };
            self.report(d.help(help));
            return None;
        };
        match endpoint {
            Some(ep) if eps.contains(ep) => Some(ep.clone()),
            Some(ep) => {
                let d = Diagnostic::new(
                    codes::UNKNOWN_ENDPOINT,
                    format!("service `{service}` has no endpoint `{ep}`"),
                )
                .at(endpoint_span.unwrap_or(whole), "unknown endpoint");
                let d = match self.spans.services.get(service) {
                    Some(&at) => d.with(at, format!("`{service}` is defined here")),
                    None => d,
                };
                let help = match did_you_mean(ep, eps.iter().map(String::as_str)) {
                    _ if eps.len() == 1 && eps[0] == service => format!(
                        "`{service}` is written in the short form, with one endpoint: {what} it as `{service}`"
                    ),
                    Some(s) => s,
                    None if eps.is_empty() => format!("`{service}` has no endpoints"),
                    None => format!("`{service}` has {}", one_of(eps)),
                };
                self.report(d.help(help));
                None
            }
            None if eps.len() == 1 => Some(eps[0].clone()),
            None if eps.is_empty() => {
                self.report(
                    Diagnostic::new(
                        codes::AMBIGUOUS_TARGET,
                        format!("`{service}` has no endpoints to {what}"),
                    )
                    .at(service_span, "no endpoints")
                    .help(format!("give `{service}` an `endpoint NAME {{ time … }}`, or a `time` in the short form")),
                );
                None
            }
            None => {
                let shown: Vec<String> = eps.iter().map(|e| format!("{service}.{e}")).collect();
                self.report(
                    Diagnostic::new(
                        codes::AMBIGUOUS_TARGET,
                        format!("`{service}` has {} endpoints; which one?", eps.len()),
                    )
                    .at(service_span, "no endpoint named")
                    .help(format!("name the endpoint: {}", one_of(&shown))),
                );
                None
            }
        }
    }
}

fn each_call_mut(steps: &mut [Step], f: &mut impl FnMut(&mut Call)) {
    for s in steps {
        match s {
            Step::Call(c) => f(c),
            Step::Parallel { steps } => each_call_mut(steps, f),
        }
    }
}

fn retain_calls(steps: &mut Vec<Step>, keep: &mut impl FnMut(&Call) -> bool) {
    steps.retain_mut(|s| match s {
        Step::Call(c) => keep(c),
        Step::Parallel { steps } => {
            retain_calls(steps, keep);
            true
        }
    });
}
