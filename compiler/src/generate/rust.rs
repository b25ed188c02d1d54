//! What the `rust` templates read: one crate per deployed `kind service`, its handlers (one per
//! endpoint, with the endpoint's calls in order) and its typed clients (one per callee, one
//! method per called endpoint). Every name that becomes a Rust identifier is derived here and is
//! `[a-z0-9_]` or `[A-Za-z0-9]`, unique within its scope and never a keyword; every other user
//! string stays data, printed as an escaped literal by the template formatter.

use crate::model::{Call, Model, Protocol, ServiceKind, Step};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Workspace {
    pub crates: Vec<Crate>,
}

#[derive(Debug, Serialize)]
pub struct Crate {
    /// The directory: `crates/SERVICE` (never `target/`, where cargo builds).
    pub dir: String,
    /// The Cargo package and binary name.
    pub package: String,
    /// The library's name in Rust paths: the package with `-` as `_`.
    pub lib: String,
    pub service: String,
    pub port: u16,
    /// The design's `health` path (without its query), when it is not one the skeleton
    /// serves anyway: the generated probes request it.
    pub health: Option<String>,
    pub handlers: Vec<Handler>,
    pub clients: Vec<Client>,
    pub env: Vec<(String, String)>,
    /// The environment variables the design's `secret`s are exposed as.
    pub secrets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Handler {
    pub endpoint: String,
    /// `/ENDPOINT`.
    pub path: String,
    pub function: String,
    /// Run one after another; the calls within a group run concurrently (`parallel`).
    pub groups: Vec<Vec<CallCtx>>,
}

#[derive(Debug, Serialize)]
pub struct CallCtx {
    pub callee: String,
    pub endpoint: String,
    /// The client's field in `Clients`.
    pub field: String,
    pub method: String,
    pub timeout_ms: Option<u64>,
    pub retries: u32,
    pub times: u32,
    pub fanout: bool,
    pub is_async: bool,
}

#[derive(Debug, Serialize)]
pub struct Client {
    pub callee: String,
    pub field: String,
    /// The struct: `CamelCaseClient`.
    pub type_name: String,
    /// `CALLEE_URL`: the variable the kubernetes and compose targets set.
    pub env: String,
    /// HTTP requests (`protocol http`); otherwise a TCP connection the user's driver replaces.
    pub http: bool,
    /// Deployed callees must have an address; an external one may be configured later.
    pub required: bool,
    pub methods: Vec<Method>,
}

#[derive(Debug, Serialize)]
pub struct Method {
    pub endpoint: String,
    pub name: String,
    pub path: String,
}

/// Rust's strict and reserved keywords (2024 edition), and the names Cargo refuses as packages.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield", "union",
];
/// Names Cargo refuses for a package, or that would shadow a crate the skeleton depends on.
const RESERVED_PACKAGES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "axum",
    "futures",
    "prometheus",
    "reqwest",
    "serde_json",
    "tokio",
    "tracing",
    "tracing_subscriber",
];

/// The Cargo package for a service: its name, unless Cargo would refuse it (a keyword, a
/// standard crate's name, a leading digit or `_`) or it is a dependency's, then prefixed `svc-`.
fn package(service: &str) -> String {
    let snake = service.replace('-', "_");
    let refused = KEYWORDS.contains(&snake.as_str())
        || RESERVED_PACKAGES.contains(&snake.as_str())
        || !service.starts_with(|c: char| c.is_ascii_alphabetic());
    if refused {
        format!("svc-{service}")
    } else {
        service.to_string()
    }
}

/// `Ranker-V2` → `ranker_v2`: a lowercase identifier that no lint flags.
fn snake(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// `ranker-v2` → `RankerV2`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['-', '_']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, 'S');
    }
    out
}

/// Unique identifiers within one scope: names that map to the same identifier get `_2`, `_3`.
#[derive(Default)]
struct Names {
    given: BTreeMap<String, String>,
    taken: std::collections::BTreeSet<String>,
}

impl Names {
    fn get(&mut self, key: &str, ident: String) -> String {
        if let Some(n) = self.given.get(key) {
            return n.clone();
        }
        let mut candidate = ident.clone();
        let mut i = 2;
        while !self.taken.insert(candidate.clone()) {
            candidate = format!("{ident}_{i}");
            i += 1;
        }
        self.given.insert(key.to_string(), candidate.clone());
        candidate
    }
}

pub fn build(model: &Model) -> Workspace {
    let crates = model
        .services
        .iter()
        .filter(|s| s.kind == ServiceKind::Service)
        .map(|s| {
            // Field names get a `_client` suffix and methods a `call_` prefix, so none is a
            // keyword; struct names end in `Client`.
            let mut fields = Names::default();
            let mut types = Names::default();
            let mut methods: BTreeMap<String, Names> = BTreeMap::new();
            let mut clients: BTreeMap<String, Client> = BTreeMap::new();
            let mut functions = Names::default();
            let handlers = s
                .endpoints
                .iter()
                .map(|ep| {
                    let mut groups = Vec::new();
                    for step in &ep.steps {
                        let mut calls = Vec::new();
                        flatten(std::slice::from_ref(step), &mut calls);
                        let group: Vec<CallCtx> = calls
                            .into_iter()
                            .filter_map(|c| {
                                // A call to itself needs no client: it is a function call.
                                let callee =
                                    model.service(&c.service).filter(|t| t.name != s.name)?;
                                let field = fields
                                    .get(&callee.name, format!("{}_client", snake(&callee.name)));
                                let method = methods
                                    .entry(callee.name.clone())
                                    .or_default()
                                    .get(&c.endpoint, format!("call_{}", snake(&c.endpoint)));
                                let client =
                                    clients
                                        .entry(callee.name.clone())
                                        .or_insert_with(|| Client {
                                            callee: callee.name.clone(),
                                            field: field.clone(),
                                            type_name: types.get(
                                                &callee.name,
                                                format!("{}Client", camel(&callee.name)),
                                            ),
                                            env: format!(
                                                "{}_URL",
                                                callee.name.to_ascii_uppercase().replace('-', "_")
                                            ),
                                            http: callee.protocol == Protocol::Http,
                                            required: callee.kind.is_deployed(),
                                            methods: Vec::new(),
                                        });
                                if !client.methods.iter().any(|m| m.endpoint == c.endpoint) {
                                    client.methods.push(Method {
                                        endpoint: c.endpoint.clone(),
                                        name: method.clone(),
                                        path: format!("/{}", c.endpoint),
                                    });
                                }
                                Some(CallCtx {
                                    callee: callee.name.clone(),
                                    endpoint: c.endpoint.clone(),
                                    field,
                                    method,
                                    timeout_ms: c
                                        .timeout_s
                                        .map(|t| ((t * 1000.0).ceil() as u64).max(1)),
                                    retries: c.retries,
                                    times: c.times.max(1),
                                    fanout: c.fanout,
                                    is_async: c.is_async,
                                })
                            })
                            .collect();
                        if !group.is_empty() {
                            groups.push(group);
                        }
                    }
                    Handler {
                        endpoint: ep.name.clone(),
                        path: format!("/{}", ep.name),
                        function: functions.get(&ep.name, format!("handle_{}", snake(&ep.name))),
                        groups,
                    }
                })
                .collect();
            let package = package(&s.name);
            Crate {
                dir: format!("crates/{}", s.name),
                lib: package.replace('-', "_"),
                package,
                service: s.name.clone(),
                port: s.port.unwrap_or(8080),
                health: s
                    .health
                    .as_ref()
                    .map(|h| h.split('?').next().unwrap_or_default().to_string())
                    .filter(|h| !matches!(h.as_str(), "/healthz" | "/readyz" | "/metrics")),
                handlers,
                clients: clients.into_values().collect(),
                env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                secrets: s.secrets.iter().map(|x| x.env.clone()).collect(),
            }
        })
        .collect();
    Workspace { crates }
}

fn flatten<'a>(steps: &'a [Step], out: &mut Vec<&'a Call>) {
    for s in steps {
        match s {
            Step::Call(c) => out.push(c),
            Step::Parallel { steps } => flatten(steps, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers_cargo_and_rustc_accept() {
        assert_eq!(package("scoring"), "scoring");
        assert_eq!(package("match"), "svc-match");
        assert_eq!(package("test"), "svc-test");
        assert_eq!(package("serde-json"), "svc-serde-json");
        assert_eq!(package("tokio"), "svc-tokio");
        assert_eq!(package("_x"), "svc-_x");
        assert_eq!(package("ranker-v2"), "ranker-v2");
        assert_eq!(camel("ranker-v2"), "RankerV2");
        assert_eq!(camel("_"), "S");
        assert_eq!(snake("Get-It"), "get_it");
        let mut n = Names::default();
        assert_eq!(n.get("a-b", snake("a-b")), "a_b");
        assert_eq!(n.get("a_b", snake("a_b")), "a_b_2");
        assert_eq!(n.get("a-b", snake("a-b")), "a_b");
    }
}
