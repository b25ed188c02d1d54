//! Services: merging a service over its templates, then checking every field.

use super::Checker;
use super::units::Dim;
use crate::diagnostics::{Diagnostic, codes, did_you_mean, one_of};
use crate::model::*;
use crate::source::Span;
use crate::syntax::ast::{self, Field, FieldKind, Statement};
use std::collections::BTreeMap;

/// Replicas a planned service may scale to when the design gives no bounds.
pub const DEFAULT_MAX_REPLICAS: u32 = 100;

/// One endpoint after merging: each part from the nearest body that gives it.
pub(super) struct MergedEndpoint<'a> {
    pub name: String,
    pub span: Span,
    pub time: Option<(&'a ast::TimeSpec, Span)>,
    /// `time on TYPE …` lines, by type: a nearer body's line replaces the same type's.
    pub time_on: Vec<(&'a ast::Ident, &'a ast::TimeSpec, Span)>,
    pub cache: Option<&'a Statement>,
    pub batch: Option<&'a Statement>,
    pub calls: Vec<&'a Statement>,
}

/// A service's fields after applying its templates, base first.
#[derive(Default)]
struct Merged<'a> {
    /// Single-valued fields by keyword, in the order first given (a handful per service, so a
    /// list beats a map).
    singles: Vec<(&'static str, &'a Field)>,
    env: BTreeMap<String, &'a ast::KeyValue>,
    labels: BTreeMap<String, &'a ast::KeyValue>,
    secrets: BTreeMap<String, (&'a ast::Ident, &'a ast::Str)>,
    endpoints: Vec<MergedEndpoint<'a>>,
    short: Option<MergedEndpoint<'a>>,
    first_endpoint: Option<Span>,
    first_short: Option<Span>,
}

impl Checker<'_> {
    pub(super) fn service(&mut self, s: &ast::Service, chain: &[&ast::Template]) -> Service {
        let mut merged = Merged::default();
        // Base template first so nearer bodies override.
        for t in chain.iter().rev() {
            self.merge_body(&mut merged, &t.body);
        }
        self.merge_body(&mut merged, &s.body);
        if let (Some(stmt), Some(ep)) = (merged.first_short, merged.first_endpoint) {
            self.report(
                Diagnostic::new(codes::MIXED_FORMS, format!("{} `{}` mixes the short form with `endpoint` blocks", if self.template_mode { "template" } else { "service" }, s.name.name))
                    .at(stmt, "a statement outside any endpoint")
                    .with(ep, "an endpoint block")
                    .help("move the statement into an `endpoint` block, or write the service with no `endpoint` blocks at all"),
            );
        }
        if !self.template_mode {
            self.spans.services.insert(s.name.name.clone(), s.name.span);
        }
        self.build_service(s, chain, merged)
    }

    fn merge_body<'a>(&mut self, m: &mut Merged<'a>, body: &'a ast::ServiceBody) {
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        let mut endpoint_names: BTreeMap<String, Span> = BTreeMap::new();
        let mut secret_keys: BTreeMap<String, Span> = BTreeMap::new();
        let mut short: Option<MergedEndpoint<'a>> = None;
        for f in &body.fields {
            match &f.kind {
                FieldKind::Endpoint(e) => {
                    if !self.unique(&mut endpoint_names, "endpoint", &e.name) {
                        continue;
                    }
                    m.first_endpoint.get_or_insert(e.name.span);
                    let mut fresh = self.endpoint_parts(&e.name.name, e.span, &e.statements);
                    match m.endpoints.iter_mut().find(|x| x.name == e.name.name) {
                        Some(existing) => override_endpoint(existing, fresh),
                        None => {
                            fresh.span = e.name.span;
                            m.endpoints.push(fresh);
                        }
                    }
                }
                FieldKind::Statement(stmt) => {
                    m.first_short.get_or_insert(stmt.span());
                    let part = short.get_or_insert_with(|| MergedEndpoint {
                        name: String::new(),
                        span: stmt.span(),
                        time: None,
                        time_on: Vec::new(),
                        cache: None,
                        batch: None,
                        calls: Vec::new(),
                    });
                    self.add_statement(part, stmt);
                }
                FieldKind::Secret { key, from } => {
                    if self.unique(&mut secret_keys, "secret", key) {
                        m.secrets.insert(key.name.clone(), (key, from));
                    }
                }
                FieldKind::Env(pairs) | FieldKind::Labels(pairs) => {
                    let what = f.kind.keyword();
                    if let Some(&(_, first)) = seen.iter().find(|(w, _)| *w == what) {
                        self.repeated(what, f.span, first);
                        continue;
                    }
                    seen.push((what, f.span));
                    let mut keys = BTreeMap::new();
                    for kv in pairs {
                        if self.unique(
                            &mut keys,
                            if what == "env" {
                                "environment variable"
                            } else {
                                "label"
                            },
                            &kv.key,
                        ) {
                            let target = if what == "env" {
                                &mut m.env
                            } else {
                                &mut m.labels
                            };
                            target.insert(kv.key.name.clone(), kv);
                        }
                    }
                }
                kind => {
                    let what = kind.keyword();
                    if let Some(&(_, first)) = seen.iter().find(|(w, _)| *w == what) {
                        self.repeated(what, f.span, first);
                        continue;
                    }
                    seen.push((what, f.span));
                    match m.singles.iter_mut().find(|(w, _)| *w == what) {
                        Some(slot) => slot.1 = f,
                        None => m.singles.push((what, f)),
                    }
                }
            }
        }
        if let Some(fresh) = short {
            match &mut m.short {
                Some(existing) => override_endpoint(existing, fresh),
                None => m.short = Some(fresh),
            }
        }
    }

    pub(super) fn endpoint_parts<'a>(
        &mut self,
        name: &str,
        span: Span,
        statements: &'a [Statement],
    ) -> MergedEndpoint<'a> {
        let mut part = MergedEndpoint {
            name: name.to_string(),
            span,
            time: None,
            time_on: Vec::new(),
            cache: None,
            batch: None,
            calls: Vec::new(),
        };
        for s in statements {
            self.add_statement(&mut part, s);
        }
        part
    }

    fn add_statement<'a>(&mut self, part: &mut MergedEndpoint<'a>, s: &'a Statement) {
        match s {
            Statement::Time {
                time,
                on: Some(kind),
                span,
            } => match part.time_on.iter().find(|(k, _, _)| k.name == kind.name) {
                Some(&(_, _, first)) => {
                    self.repeated(&format!("time on {}", kind.name), *span, first)
                }
                None => part.time_on.push((kind, time, *span)),
            },
            Statement::Time {
                time,
                on: None,
                span,
            } => match part.time {
                Some((_, first)) => self.repeated("time", *span, first),
                None => part.time = Some((time, *span)),
            },
            Statement::Cache { span, .. } => match part.cache {
                Some(first) => self.repeated("cache", *span, first.span()),
                None => part.cache = Some(s),
            },
            Statement::Batch { span, .. } => match part.batch {
                Some(first) => self.repeated("batch", *span, first.span()),
                None => part.batch = Some(s),
            },
            Statement::Call(_) | Statement::Parallel { .. } => part.calls.push(s),
        }
    }

    fn build_service(
        &mut self,
        s: &ast::Service,
        chain: &[&ast::Template],
        m: Merged<'_>,
    ) -> Service {
        let name = s.name.name.clone();
        let kind = match m.singles.iter().find(|(w, _)| *w == "kind").map(|(_, f)| f) {
            Some(Field {
                kind: FieldKind::Kind(k),
                ..
            }) => match ServiceKind::parse(&k.name) {
                Some(kind) => kind,
                None => {
                    self.unknown_option("kind", k, ServiceKind::NAMES);
                    ServiceKind::Service
                }
            },
            _ => ServiceKind::Service,
        };
        if kind.is_deployed() {
            if !self.template_mode {
                self.dns_name(&s.name, "service");
            }
        } else {
            let fields = m
                .singles
                .iter()
                .filter(|(what, _)| !matches!(*what, "kind" | "cost"))
                .map(|(what, f)| (*what, f.span))
                .chain(m.env.values().next().map(|kv| ("env", kv.span)))
                .chain(m.labels.values().next().map(|kv| ("labels", kv.span)))
                .chain(m.secrets.values().next().map(|(k, _)| ("secret", k.span)));
            let own = s.body.span;
            let mut inherited = Vec::new();
            for (what, span) in fields.collect::<Vec<_>>() {
                if span.file == own.file && span.start >= own.start && span.end <= own.end {
                    self.not_for_external(&name, what, span);
                } else {
                    inherited.push(format!("`{what}`"));
                }
            }
            if let (Some(ext), false) = (&s.extends, inherited.is_empty()) {
                self.report(
                    Diagnostic::new(
                        codes::FIELD_NOT_ALLOWED,
                        format!("external service `{name}` extends `{}`, whose {} do not apply", ext.name, inherited.join(", ")),
                    )
                    .at(ext.span, "a template for deployed services")
                    .help("an external service is only a latency: drop the `extends`, or drop `kind external` to deploy it"),
                );
            }
        }
        let mut svc = Service {
            name: name.clone(),
            span: s.name.span,
            kind,
            extends: chain.iter().map(|t| t.name.name.clone()).collect(),
            image: None,
            port: None,
            protocol: Protocol::Http,
            health: None,
            warmup_s: None,
            cpu_cores: None,
            memory_bytes: None,
            gpu: None,
            gpu_choices: Vec::new(),
            workers: 1,
            workers_blocking: false,
            replicas: kind.is_deployed().then_some(Replicas {
                min: 1,
                max: DEFAULT_MAX_REPLICAS,
                pinned: false,
            }),
            shards: 1,
            balance: Balance::RoundRobin,
            env: m
                .env
                .iter()
                .map(|(k, kv)| (k.clone(), kv.value.value.clone()))
                .collect(),
            secrets: Vec::new(),
            labels: m
                .labels
                .iter()
                .map(|(k, kv)| (k.clone(), kv.value.value.clone()))
                .collect(),
            cost_per_hour: None,
            short_form: m.short.is_some() && m.endpoints.is_empty(),
            endpoints: Vec::new(),
        };
        for (key, (ident, from)) in &m.secrets {
            match from.value.split_once('/') {
                Some((secret, k)) if !secret.is_empty() && !k.is_empty() && !k.contains('/') => svc.secrets.push(Secret {
                    env: key.clone(),
                    name: secret.to_string(),
                    key: k.to_string(),
                }),
                _ => self.report(
                    Diagnostic::new(codes::UNKNOWN_SETTING, format!("secret `{}` must come from `\"NAME/KEY\"`, found `\"{}\"`", ident.name, from.value))
                        .at(from.span, "not `NAME/KEY`")
                        .help("name the cluster secret and the key in it, e.g. `secret DB_PASSWORD from \"postgres/password\"`"),
                ),
            }
        }
        for (_, f) in &m.singles {
            self.service_field(&mut svc, f);
        }
        let endpoints: Vec<MergedEndpoint> = match m.short {
            Some(mut e) if m.endpoints.is_empty() => {
                e.name = name.clone();
                vec![e]
            }
            _ => m.endpoints,
        };
        let ranged: Vec<Span> = endpoints
            .iter()
            .filter_map(|e| match e.batch {
                Some(Statement::Batch {
                    up_to: Some(_),
                    span,
                    ..
                }) => Some(*span),
                _ => None,
            })
            .collect();
        if let [first, second, ..] = ranged[..]
            && !self.template_mode
        {
            self.report(
                Diagnostic::new(
                    codes::INVALID_CHOICE,
                    format!("service `{name}` has more than one `batch max` range"),
                )
                .at(second, "a second range")
                .with(first, "the first")
                .help("the planner chooses one batch max per service: give the other endpoints a fixed `batch max`"),
            );
        }
        for e in endpoints {
            if let Some(ep) = self.endpoint(&svc, e) {
                svc.endpoints.push(ep);
            }
        }
        svc
    }

    fn service_field(&mut self, svc: &mut Service, f: &Field) {
        match &f.kind {
            FieldKind::Image(i) => {
                if i.value.trim().is_empty() || i.value.chars().any(char::is_whitespace) {
                    self.report(
                        Diagnostic::new(codes::VALUE_OUT_OF_RANGE, format!("`{}` is not a container image reference", i.value))
                            .at(i.span, "not an image")
                            .help("write a reference such as `\"ghcr.io/acme/api:1.8.0\"`, without spaces"),
                    );
                }
                svc.image = Some(i.value.clone());
            }
            FieldKind::Port(q) => svc.port = self.count(q, "port", 1, 65535).map(|p| p as u16),
            FieldKind::Protocol(p) => match Protocol::parse(&p.name) {
                Some(p) => svc.protocol = p,
                None => self.unknown_option("protocol", p, Protocol::NAMES),
            },
            FieldKind::Health(h) => {
                if !h.value.starts_with('/') {
                    self.report(
                        Diagnostic::new(
                            codes::VALUE_OUT_OF_RANGE,
                            format!("health path `{}` must start with `/`", h.value),
                        )
                        .at(h.span, "not an http path")
                        .help(format!("write `health \"/{}\"`", h.value)),
                    );
                }
                svc.health = Some(h.value.clone());
            }
            FieldKind::Warmup(q) => svc.warmup_s = self.positive_time(q, "warmup"),
            FieldKind::Cpu(q) => {
                svc.cpu_cores = self
                    .quantity(q, Dim::Cpu, "cpu")
                    .and_then(|v| self.positive(v, q, "cpu"));
            }
            FieldKind::Memory(q) => {
                svc.memory_bytes = self
                    .quantity(q, Dim::Memory, "memory")
                    .and_then(|v| self.positive(v, q, "memory"))
                    .map(|v| v.round() as u64);
            }
            FieldKind::Gpu { types, count } => {
                if let ast::GpuTypes::OneOf { kinds, span } = types {
                    svc.gpu_choices = self.gpu_choice(kinds, *span);
                }
                if let Some(n) = self.count(count, "gpu", 1, 64) {
                    svc.gpu = Some(Gpu {
                        kind: types.kinds()[0].name.clone(),
                        count: n,
                    });
                }
            }
            FieldKind::Workers { count, blocking } => {
                if let Some(n) = self.count(count, "workers", 1, 1_000_000) {
                    svc.workers = n;
                }
                svc.workers_blocking = *blocking;
            }
            FieldKind::Replicas(r) => {
                let Some(current) = svc.replicas.as_mut() else {
                    return;
                };
                match r {
                    ast::Replicas::Fixed(q) => {
                        if let Some(n) = self.count(q, "replicas", 1, 100_000) {
                            *current = Replicas {
                                min: n,
                                max: n,
                                pinned: true,
                            };
                        }
                    }
                    ast::Replicas::Range { min, max } => {
                        let lo = self.count(min, "replicas", 1, 100_000);
                        let hi = self.count(max, "replicas", 1, 100_000);
                        if let (Some(lo), Some(hi)) = (lo, hi) {
                            if lo > hi {
                                self.report(
                                    Diagnostic::new(
                                        codes::EMPTY_RANGE,
                                        format!("replica range `{lo}..{hi}` is empty"),
                                    )
                                    .at(min.span.to(max.span), "the lower bound is above the upper")
                                    .help(format!("write `replicas {hi}..{lo}`")),
                                );
                            } else {
                                *current = Replicas {
                                    min: lo,
                                    max: hi,
                                    pinned: false,
                                };
                            }
                        }
                    }
                }
            }
            FieldKind::Shards(q) => {
                if let Some(n) = self.count(q, "shards", 1, 4096) {
                    svc.shards = n;
                }
            }
            FieldKind::Balance(b) => match Balance::parse(&b.name) {
                Some(b) => svc.balance = b,
                None => self.unknown_option("balance", b, Balance::NAMES),
            },
            FieldKind::Cost(m) => svc.cost_per_hour = self.money_per_hour(m, "cost"),
            FieldKind::Kind(_)
            | FieldKind::Env(_)
            | FieldKind::Labels(_)
            | FieldKind::Secret { .. } => {}
            FieldKind::Endpoint(_) | FieldKind::Statement(_) => {}
        }
    }

    /// The types of `gpu one_of(…)`: at least two, all different.
    fn gpu_choice(&mut self, kinds: &[ast::Ident], span: Span) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in kinds {
            if let Some(first) = kinds.iter().find(|f| f.name == k.name && f.span != k.span) {
                if first.span.start < k.span.start {
                    self.report(
                        Diagnostic::new(
                            codes::INVALID_CHOICE,
                            format!("gpu type `{}` is listed twice in `one_of`", k.name),
                        )
                        .at(k.span, "listed again")
                        .with(first.span, "first listed here")
                        .help("list each gpu type once"),
                    );
                }
                continue;
            }
            out.push(k.name.clone());
        }
        if kinds.len() < 2 {
            self.report(
                Diagnostic::new(codes::INVALID_CHOICE, "`one_of` needs at least two gpu types")
                    .at(span, "nothing to choose from")
                    .help(format!("write `gpu {} x N` for one type, or list the alternatives: `one_of({}, OTHER)`", kinds[0].name, kinds[0].name)),
            );
            return Vec::new();
        }
        out
    }

    fn not_for_external(&mut self, service: &str, what: &str, span: Span) {
        self.report(
            Diagnostic::new(codes::FIELD_NOT_ALLOWED, format!("`{what}` does not apply to external service `{service}`"))
                .at(span, "not deployed, so this has no effect")
                .help("an external service is only a latency; remove the field, or drop `kind external` to deploy the service"),
        );
    }

    pub(super) fn unknown_option(&mut self, field: &str, value: &ast::Ident, choices: &[&str]) {
        let help = match did_you_mean(&value.name, choices.iter().copied()) {
            Some(s) => s,
            None => format!("the {field} is one of {}", one_of(choices)),
        };
        self.report(
            Diagnostic::new(
                codes::UNKNOWN_OPTION,
                format!("unknown {field} `{}`", value.name),
            )
            .at(value.span, format!("unknown {field}"))
            .help(help),
        );
    }

    /// Reports a name Kubernetes would reject; returns whether it is valid.
    pub(super) fn dns_name(&mut self, name: &ast::Ident, what: &str) -> bool {
        if super::is_dns_label(&name.name) {
            return true;
        }
        let fixed = super::names::to_dns_label(&name.name);
        self.report(
            Diagnostic::new(codes::INVALID_K8S_NAME, format!("{what} name `{}` is not a valid kubernetes name", name.name))
                .at(name.span, "deployed under this name")
                .help(format!(
                    "deployed names are DNS-1123 labels: lowercase letters, digits and `-`, starting with a letter, at most 63 characters; try `{fixed}`"
                )),
        );
        false
    }
}

/// A nearer endpoint body overrides the parts it gives.
fn override_endpoint<'a>(base: &mut MergedEndpoint<'a>, nearer: MergedEndpoint<'a>) {
    if nearer.time.is_some() {
        base.time = nearer.time;
    }
    for line in nearer.time_on {
        match base
            .time_on
            .iter_mut()
            .find(|(k, _, _)| k.name == line.0.name)
        {
            Some(slot) => *slot = line,
            None => base.time_on.push(line),
        }
    }
    if nearer.cache.is_some() {
        base.cache = nearer.cache;
    }
    if nearer.batch.is_some() {
        base.batch = nearer.batch;
    }
    if !nearer.calls.is_empty() {
        base.calls = nearer.calls;
    }
    base.span = nearer.span;
}
