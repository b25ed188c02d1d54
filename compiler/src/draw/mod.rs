//! `kendall graph`: the design as a picture. [`Drawing::new`] turns the model (and, when
//! given, the predictor's figures) into nodes and edges with their labels and styles; `dot`,
//! `mermaid` and `svg` only spell that drawing out, each escaping user text its own way.
//! See docs/graph.md.

pub mod dot;
pub mod mermaid;
pub mod svg;

use crate::model::graph::{CallGraph, each_call};
use crate::model::{Call, Model, ServiceKind};
use crate::queueing::Prediction;
use petgraph::visit::EdgeRef;

/// The shape of a node, by what it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Service,
    External,
    Queue,
    Database,
    Job,
    Workload,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeStyle {
    /// The caller waits: a solid line.
    Sync,
    /// The caller does not wait: a dashed line.
    Async,
    /// A workload's requests arriving at its entry: a bold line.
    Entry,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique among the drawing's nodes: `s:NAME` for services, `w:NAME` for workloads
    /// (a workload may share a service's name).
    pub id: String,
    /// The first line is the name; the rest describe it.
    pub lines: Vec<String>,
    pub shape: Shape,
    /// The utilisation colour, when drawn with the predictor's figures.
    pub fill: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: String,
    pub style: EdgeStyle,
}

/// What the predictor says about one service, for the heat colours.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceHeat {
    pub replicas: Option<u32>,
    /// Offered load over capacity; above 1 when overloaded.
    pub utilization: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Drawing {
    pub title: String,
    /// Workloads first, then services, each in the design's order.
    pub nodes: Vec<Node>,
    /// Entry edges first, then one edge per call site, in the design's order.
    pub edges: Vec<Edge>,
    /// Whether nodes carry utilisation colours.
    pub heat: bool,
}

/// The utilisation bands and their fill colours, lowest first: `(upper bound, colour)`.
pub const HEAT: [(f64, &str); 5] = [
    (0.5, "#c8e6c9"),
    (0.7, "#fff59d"),
    (0.85, "#ffcc80"),
    (1.0, "#ef9a9a"),
    (f64::INFINITY, "#e53935"),
];

/// The fill for a utilisation; external services (no utilisation) are grey.
pub fn heat_colour(utilization: Option<f64>) -> &'static str {
    match utilization {
        None => "#eeeeee",
        Some(u) => HEAT
            .iter()
            .find(|(up, _)| u < *up)
            .map_or(HEAT[4].1, |b| b.1),
    }
}

impl Drawing {
    /// The drawing of a model; with `prediction`, services show the predicted replicas and
    /// utilisation, and are coloured by it.
    pub fn new(model: &Model, prediction: Option<&Prediction>) -> Drawing {
        let service_index = |name: &str| {
            model.workloads.len()
                + model
                    .services
                    .iter()
                    .position(|s| s.name == name)
                    .unwrap_or(0)
        };
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for w in &model.workloads {
            let mut lines = vec![w.name.clone()];
            match &w.job {
                Some(job) => lines.push(format!("every {}", duration(job.every_s))),
                None => lines.push(format!("{} rps", number(w.rate_rps))),
            }
            for slo in &w.slos {
                lines.push(format!("{} < {}", slo.stat, duration(slo.target_s)));
            }
            nodes.push(Node {
                id: format!("w:{}", w.name),
                lines,
                shape: Shape::Workload,
                fill: None,
            });
            if model.service(&w.entry.service).is_some() {
                edges.push(Edge {
                    from: nodes.len() - 1,
                    to: service_index(&w.entry.service),
                    label: w.entry.endpoint.clone().unwrap_or_default(),
                    style: EdgeStyle::Entry,
                });
            }
        }
        for s in &model.services {
            let heat = prediction.and_then(|p| p.services.iter().find(|p| p.name == s.name));
            let mut lines = vec![s.name.clone()];
            let shape = match s.kind {
                ServiceKind::Service => Shape::Service,
                ServiceKind::External => Shape::External,
                ServiceKind::Queue => Shape::Queue,
                ServiceKind::Database => Shape::Database,
                ServiceKind::Job => Shape::Job,
            };
            if s.kind != ServiceKind::Service {
                lines.push(serde_json::to_value(s.kind).map_or_else(
                    |_| String::new(),
                    |v| v.as_str().unwrap_or_default().to_string(),
                ));
            }
            match (heat.and_then(|h| h.replicas), s.replicas) {
                (Some(n), _) => lines.push(plural(n, "replica")),
                (None, Some(r)) if r.min == r.max => lines.push(plural(r.min, "replica")),
                (None, Some(r)) => lines.push(format!("{}..{} replicas", r.min, r.max)),
                (None, None) => {}
            }
            if s.shards > 1 {
                lines.push(format!("{} shards", s.shards));
            }
            if let Some(g) = &s.gpu {
                lines.push(format!("{}× {}", g.count, g.kind));
            }
            let mut fill = None;
            if let Some(h) = heat {
                let u = h.unstable.map(|o| o.utilization).or(h.utilization);
                match u {
                    Some(u) if u >= 1.0 => lines.push(format!("overloaded ({}%)", percent(u))),
                    Some(u) => lines.push(format!("{}% busy", percent(u))),
                    None => {}
                }
                fill = Some(heat_colour(u));
            }
            nodes.push(Node {
                id: format!("s:{}", s.name),
                lines,
                shape,
                fill,
            });
        }
        let calls = CallGraph::new(model);
        for e in calls.graph.edge_references() {
            let (caller, endpoint) = calls.graph[e.source()];
            let (callee, _) = calls.graph[e.target()];
            let call = model
                .service(caller)
                .and_then(|s| s.endpoint(endpoint))
                .and_then(|ep| {
                    let mut all = Vec::new();
                    each_call(&ep.steps, &mut |c| all.push(c));
                    all.get(e.weight().call).copied()
                });
            let Some(call) = call else { continue };
            edges.push(Edge {
                from: service_index(caller),
                to: service_index(callee),
                label: call_label(model, call),
                style: if e.weight().synchronous {
                    EdgeStyle::Sync
                } else {
                    EdgeStyle::Async
                },
            });
        }
        Drawing {
            title: model.system.clone().unwrap_or_default(),
            nodes,
            edges,
            heat: prediction.is_some(),
        }
    }
}

/// `search · ×3 fan-out · all 8 shards · 35%`: what a call does beyond calling once.
fn call_label(model: &Model, call: &Call) -> String {
    let callee = model.service(&call.service);
    let mut parts = Vec::new();
    if !callee.is_some_and(|s| s.short_form) {
        parts.push(call.endpoint.clone());
    }
    if call.times > 1 {
        parts.push(if call.fanout {
            format!("×{} fan-out", call.times)
        } else {
            format!("×{}", call.times)
        });
    }
    if let Some(s) = callee.filter(|s| s.shards > 1) {
        parts.push(format!("all {} shards", s.shards));
    }
    if call.probability < 1.0 {
        parts.push(format!("{}%", number(call.probability * 100.0)));
    }
    parts.join(" · ")
}

fn plural(n: u32, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn percent(u: f64) -> String {
    format!("{:.0}", u * 100.0)
}

/// A number in at most three decimals, without trailing zeros: `2400`, `0.667`, `2.5`.
pub fn number(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A time in the unit a designer would write: `850us`, `120ms`, `2.5s`, `5min`, `24h`.
pub fn duration(s: f64) -> String {
    if s < 1e-3 {
        format!("{}us", number(s * 1e6))
    } else if s < 1.0 {
        format!("{}ms", number(s * 1e3))
    } else if s >= 3600.0 && (s / 3600.0).fract() == 0.0 {
        format!("{}h", number(s / 3600.0))
    } else if s >= 60.0 && (s / 60.0).fract() == 0.0 {
        format!("{}min", number(s / 60.0))
    } else {
        format!("{}s", number(s))
    }
}
