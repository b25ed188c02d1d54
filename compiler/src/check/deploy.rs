//! Deploy targets: `deploy kubernetes { … }` and `deploy compose { … }`.

use super::Checker;
use crate::diagnostics::{Diagnostic, codes, did_you_mean, one_of};
use crate::model::*;
use crate::syntax::ast::{self, Value};
use std::collections::BTreeMap;

const TARGETS: &[&str] = &["kubernetes", "compose"];
const KUBERNETES: &[&str] = &["namespace", "zones", "autoscale"];
const COMPOSE: &[&str] = &["project"];

impl Checker<'_> {
    pub(super) fn deploy(&mut self, deploys: &[&ast::Deploy], system: &ast::Ident) -> Deploy {
        let mut out = Deploy::default();
        let mut seen = BTreeMap::new();
        for d in deploys {
            if !TARGETS.contains(&d.target.name.as_str()) {
                self.unknown_option("deploy target", &d.target, TARGETS);
                continue;
            }
            if !self.unique(&mut seen, "deploy target", &d.target) {
                continue;
            }
            let allowed = if d.target.name == "kubernetes" {
                KUBERNETES
            } else {
                COMPOSE
            };
            let mut settings: BTreeMap<&str, &Value> = BTreeMap::new();
            let mut keys = BTreeMap::new();
            for s in &d.settings {
                if !allowed.contains(&s.key.name.as_str()) {
                    let help = match did_you_mean(&s.key.name, allowed.iter().copied()) {
                        Some(h) => h,
                        None => format!("`deploy {}` takes {}", d.target.name, one_of(allowed)),
                    };
                    self.report(
                        Diagnostic::new(
                            codes::UNKNOWN_SETTING,
                            format!("`deploy {}` has no setting `{}`", d.target.name, s.key.name),
                        )
                        .at(s.key.span, "unknown setting")
                        .help(help),
                    );
                    continue;
                }
                if self.unique(&mut keys, "setting", &s.key) {
                    settings.insert(s.key.name.as_str(), &s.value);
                }
            }
            if d.target.name == "kubernetes" {
                self.kubernetes_written = true;
                out.kubernetes = self.kubernetes(&settings, system, d);
            } else {
                out.compose = Some(Compose {
                    project: settings
                        .get("project")
                        .and_then(|v| self.string_setting(v, "project")),
                });
            }
        }
        out
    }

    /// Each setting is checked on its own, so one bad value does not hide the next.
    fn kubernetes(
        &mut self,
        s: &BTreeMap<&str, &Value>,
        system: &ast::Ident,
        d: &ast::Deploy,
    ) -> Option<Kubernetes> {
        let namespace = match s.get("namespace") {
            Some(v) => self.string_setting(v, "namespace").filter(|ns| {
                let ident = ast::Ident {
                    name: ns.clone(),
                    span: v.span(),
                };
                self.dns_name(&ident, "namespace")
            }),
            None if super::is_dns_label(&system.name) => Some(system.name.clone()),
            None => {
                self.report(
                    Diagnostic::new(
                        codes::INVALID_K8S_NAME,
                        format!("the namespace defaults to the system name `{}`, which is not a valid kubernetes name", system.name),
                    )
                    .at(d.target.span, "no `namespace` given")
                    .help(format!("add `namespace \"{}\"`", super::names::to_dns_label(&system.name))),
                );
                None
            }
        };
        let zones = match s.get("zones") {
            Some(Value::Quantity(q)) => self.count(q, "zones", 1, 16),
            Some(v) => {
                self.wrong_value(v, "zones", "a number such as `3`");
                None
            }
            None => Some(1),
        };
        let autoscale = match s.get("autoscale") {
            Some(Value::Ident(i)) if i.name == "hpa" => Some(Autoscale::Hpa),
            Some(Value::Ident(i)) if i.name == "none" => Some(Autoscale::None),
            Some(Value::Ident(i)) => {
                self.unknown_option("autoscale", i, &["hpa", "none"]);
                None
            }
            Some(v) => {
                self.wrong_value(v, "autoscale", "`hpa` or `none`");
                None
            }
            None => Some(Autoscale::None),
        };
        Some(Kubernetes {
            namespace: namespace?,
            zones: zones?,
            autoscale: autoscale?,
        })
    }

    fn string_setting(&mut self, v: &Value, key: &str) -> Option<String> {
        match v {
            Value::Str(s) => Some(s.value.clone()),
            _ => {
                self.wrong_value(v, key, "a string in double quotes");
                None
            }
        }
    }

    pub(super) fn wrong_value(&mut self, v: &Value, key: &str, want: &str) {
        self.report(
            Diagnostic::new(
                codes::UNKNOWN_OPTION,
                format!(
                    "`{key}` takes {want}, found `{}`",
                    self.sources.text(v.span())
                ),
            )
            .at(v.span(), "wrong kind of value")
            .help(format!("write `{key}` followed by {want}")),
        );
    }
}
