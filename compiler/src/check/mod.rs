//! Resolved AST → typed [`Model`]: names, units, references, value ranges and call cycles.
//! Every problem is collected; the model is returned only when there is no error.

mod data;
pub(crate) use data::parse_time;
mod deploy;
mod endpoints;
mod graph;
mod names;
mod scenarios;
mod services;
mod units;
mod workloads;

use crate::diagnostics::{Diagnostic, Diagnostics, codes};
use crate::model::*;
use crate::resolve::{Resolved, SourceLoader};
use crate::source::{SourceMap, Span};
use crate::syntax::ast;
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};

pub use names::{is_dns_label, to_dns_label};

/// Where each checked thing was written, for diagnostics of later passes.
#[derive(Default)]
/// Only looked up, never iterated, so hash maps keep output deterministic.
struct Spans {
    services: HashMap<String, Span>,
    /// Call sites per endpoint, in [`crate::model::graph::each_call`] order.
    calls: HashMap<(String, String), Vec<CallSite>>,
    /// Every endpoint written, valid or not, per service in declaration order: references
    /// resolve against these, so an endpoint dropped for its own error is not reported again
    /// as unknown at every call site.
    written: BTreeMap<String, Vec<String>>,
}

/// Where one `call` was written.
#[derive(Clone, Copy, Debug)]
struct CallSite {
    span: Span,
    service: Span,
    endpoint: Option<Span>,
}

pub(crate) struct Checker<'a> {
    sources: &'a SourceMap,
    loader: &'a dyn SourceLoader,
    diagnostics: Diagnostics,
    spans: Spans,
    /// Services whose `extends` chain failed to resolve: their inherited fields are unknown, so
    /// checks that depend on them are skipped rather than reported.
    incomplete: BTreeSet<String>,
    /// Every workload written, including those dropped for errors, so a scenario naming one is
    /// not reported as unknown.
    declared_workloads: BTreeSet<String>,
    /// Checking a template on its own rather than a service.
    template_mode: bool,
    /// Whether a large design may be checked on two threads.
    parallel: bool,
    /// A `deploy kubernetes` block was written (even if invalid).
    kubernetes_written: bool,
}

impl Checker<'_> {
    pub fn report(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Reports `name` if it repeats one in `seen`, else records it. Returns whether it is new.
    fn unique(&mut self, seen: &mut BTreeMap<String, Span>, what: &str, name: &ast::Ident) -> bool {
        if let Some(&first) = seen.get(&name.name) {
            self.report(duplicate(what, name, first));
            return false;
        }
        seen.insert(name.name.clone(), name.span);
        true
    }

    /// Reports a field that may appear once but appears again.
    fn repeated(&mut self, what: &str, again: Span, first: Span) {
        self.report(
            Diagnostic::new(codes::REPEATED_FIELD, format!("`{what}` is given twice"))
                .at(again, "given again here")
                .with(first, "first given here")
                .help(format!("keep one `{what}`")),
        );
    }
}

/// Designs with at least this many services are checked on two threads.
const PARALLEL_MIN_SERVICES: usize = 1024;

impl<'a> Checker<'a> {
    /// A checker for part of the work, with its own findings.
    fn fork(&self) -> Checker<'a> {
        Checker {
            sources: self.sources,
            loader: self.loader,
            diagnostics: Diagnostics::default(),
            spans: Spans::default(),
            incomplete: self.incomplete.clone(),
            declared_workloads: BTreeSet::new(),
            template_mode: self.template_mode,
            parallel: false,
            kubernetes_written: false,
        }
    }

    fn join(&mut self, other: Checker<'a>) {
        self.diagnostics.extend(other.diagnostics);
        self.spans.services.extend(other.spans.services);
        self.spans.calls.extend(other.spans.calls);
        self.spans.written.extend(other.spans.written);
    }

    /// Checks each service over its templates. Services are independent here, so a large
    /// design is split over two threads; the result does not depend on the split.
    fn services(&mut self, todo: &[(&ast::Service, &[&ast::Template])]) -> Vec<Service> {
        if !self.parallel || todo.len() < PARALLEL_MIN_SERVICES {
            return todo
                .iter()
                .map(|(s, chain)| self.service(s, chain))
                .collect();
        }
        let (first, second) = todo.split_at(todo.len() / 2);
        let check = |mut c: Checker<'a>, part: &[(&ast::Service, &[&ast::Template])]| {
            let services: Vec<Service> =
                part.iter().map(|(s, chain)| c.service(s, chain)).collect();
            (services, c)
        };
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| check(self.fork(), second));
            let mine = check(self.fork(), first);
            (
                mine,
                other.join().expect("the checker thread does not panic"),
            )
        });
        let (mut services, ca) = a;
        let (rest, cb) = b;
        self.join(ca);
        self.join(cb);
        services.extend(rest);
        services
    }
}

/// A duplicate-definition diagnostic.
pub(crate) fn duplicate(what: &str, name: &ast::Ident, previous: Span) -> Diagnostic {
    Diagnostic::new(
        codes::DUPLICATE,
        format!("{what} `{}` is defined twice", name.name),
    )
    .at(name.span, "defined again here")
    .with(previous, "first defined here")
    .help(match what {
        "deploy target" => format!("merge the two `deploy {}` blocks into one", name.name),
        "environment variable" | "label" | "secret" | "setting" => {
            "remove one of them; the later one would silently win".to_string()
        }
        _ => format!("rename one of them; {what} names must be unique"),
    })
}

/// Checks a resolved program.
pub fn check(
    resolved: &Resolved,
    sources: &SourceMap,
    loader: &dyn SourceLoader,
    parallel: bool,
) -> (Option<Model>, Diagnostics) {
    let mut c = Checker {
        sources,
        loader,
        diagnostics: Diagnostics::default(),
        spans: Spans::default(),
        incomplete: BTreeSet::new(),
        declared_workloads: BTreeSet::new(),
        template_mode: false,
        parallel,
        kubernetes_written: false,
    };
    let mut model = Model {
        format_version: FORMAT_VERSION,
        system: None,
        pricing: Pricing::default(),
        cluster: Cluster::default(),
        budget_per_hour: None,
        services: Vec::new(),
        workloads: Vec::new(),
        deploy: Deploy::default(),
        scenarios: Vec::new(),
    };
    if let Some(system) = &resolved.system {
        model.system = Some(system.name.name.clone());
        let chains: Vec<Option<Vec<&ast::Template>>> = resolved
            .chains
            .iter()
            .map(|c| {
                c.as_ref()
                    .map(|c| c.iter().map(|&i| &resolved.templates[i]).collect())
            })
            .collect();
        c.system(system, &chains, &mut model);
    }
    // Templates no service extends: their fields are checked as a service's would be, but
    // whatever a template may leave to its services (a `time`, call targets, a kubernetes
    // name) is not required of it.
    c.template_mode = true;
    for (index, parents) in &resolved.unused_templates {
        let t = &resolved.templates[*index];
        let as_service = ast::Service {
            name: t.name.clone(),
            extends: t.extends.clone(),
            body: t.body.clone(),
            span: t.span,
        };
        let chain: Vec<&ast::Template> = parents.iter().map(|&i| &resolved.templates[i]).collect();
        c.service(&as_service, &chain);
    }
    c.template_mode = false;
    let ok = !c.diagnostics.has_errors();
    (ok.then_some(model), c.diagnostics)
}

impl Checker<'_> {
    fn system(
        &mut self,
        system: &ast::System,
        chains: &[Option<Vec<&ast::Template>>],
        model: &mut Model,
    ) {
        let mut constraint_spans: BTreeMap<&str, Span> = BTreeMap::new();
        let mut once = |c: &mut Checker, what: &'static str, span: Span| -> bool {
            if let Some(&first) = constraint_spans.get(what) {
                c.repeated(what, span, first);
                return false;
            }
            constraint_spans.insert(what, span);
            true
        };
        let services: Vec<&ast::Service> = system
            .items
            .iter()
            .filter_map(|i| match i {
                ast::SystemItem::Service(s) => Some(s),
                _ => None,
            })
            .collect();
        let mut seen = BTreeMap::new();
        let mut to_check = Vec::with_capacity(services.len());
        for (s, chain) in services.iter().zip(chains) {
            // A duplicate is reported and not checked further: two services of one name would
            // make every later reference ambiguous.
            if !self.unique(&mut seen, "service", &s.name) {
                continue;
            }
            if chain.is_none() {
                self.incomplete.insert(s.name.name.clone());
            }
            to_check.push((*s, chain.as_deref().unwrap_or_default()));
        }
        model.services = self.services(&to_check);
        for item in &system.items {
            match item {
                ast::SystemItem::Pricing { items, span } if once(self, "pricing", *span) => {
                    model.pricing = self.pricing(items);
                }
                ast::SystemItem::Cluster { items, span } if once(self, "cluster", *span) => {
                    model.cluster = self.cluster(items);
                }
                ast::SystemItem::Budget { amount, span } if once(self, "budget", *span) => {
                    model.budget_per_hour = self.money_per_hour(amount, "budget");
                }
                _ => {}
            }
        }
        self.resolve_calls(model);
        let mut seen = BTreeMap::new();
        for item in &system.items {
            if let ast::SystemItem::Workload(w) = item {
                let fresh = self.unique(&mut seen, "workload", &w.name);
                self.declared_workloads.insert(w.name.name.clone());
                if let Some(w) = self.workload(w, model) {
                    if fresh {
                        model.workloads.push(w);
                    }
                }
            }
        }
        let deploys: Vec<&ast::Deploy> = system
            .items
            .iter()
            .filter_map(|i| match i {
                ast::SystemItem::Deploy(d) => Some(d),
                _ => None,
            })
            .collect();
        model.deploy = self.deploy(&deploys, &system.name);
        let mut seen = BTreeMap::new();
        for item in &system.items {
            if let ast::SystemItem::Scenario(s) = item {
                let fresh = self.unique(&mut seen, "scenario", &s.name);
                if let Some(s) = self.scenario(s, model) {
                    if fresh {
                        model.scenarios.push(s);
                    }
                }
            }
        }
        // Unknown names already reported would make reachability warnings misleading.
        let clean = !self.diagnostics.has_errors() && self.incomplete.is_empty();
        self.graph_checks(model, system, clean);
    }
}
