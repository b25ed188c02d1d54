//! `kendall report`: one self-contained HTML page per design: the call graph (with utilisation
//! heat, by `draw`), the predicted
//! figures, utilisation bars and latency-against-load curves, all inline SVG (no scripts, no
//! fetched assets).

pub mod charts;
pub mod sweep;

use crate::model::Model;
use crate::queueing::{Options, Prediction, predict};
use minijinja::{Environment, Value, context};
use std::collections::BTreeMap;

const PAGE: &str = include_str!("../../../templates/report/page.html");

/// What the page shows beyond the design itself.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The design's file name, as shown.
    pub file: String,
    /// Replicas per service; the design's pins or lower bounds elsewhere.
    pub replicas: BTreeMap<String, u32>,
    /// Where the replicas come from, as shown: `design replicas`, `plan plan.json`.
    pub replicas_source: String,
    /// The loads of the latency curves.
    pub loads: Vec<f64>,
    /// The plan the replicas come from, shown as its own section.
    pub plan: Option<crate::plan::Plan>,
}

/// Why there is no page.
#[derive(Debug)]
pub enum Error {
    /// The prediction at the designed load did not converge.
    Prediction(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Prediction(m) => write!(f, "the prediction did not converge: {m}"),
        }
    }
}

/// The page. The same design and inputs give the same bytes.
pub fn render(model: &Model, inputs: &Inputs) -> Result<String, Error> {
    let options = Options {
        load: 1.0,
        replicas: inputs.replicas.clone(),
    };
    let p = predict(model, &options).map_err(|d| Error::Prediction(format!("{d:?}")))?;
    // The call graph with utilisation heat; a drawing too large to lay out is left out.
    let drawing = crate::draw::Drawing::new(model, Some(&p));
    let graph = crate::draw::svg::render(&drawing).ok().map(|svg| {
        // Inline in HTML: no XML declaration.
        let body = match svg.find("<svg") {
            Some(i) => svg[i..].to_string(),
            None => svg,
        };
        Value::from_safe_string(body)
    });
    let curves = sweep::sweep(model, &inputs.replicas, &inputs.loads);
    let latency_charts: Vec<Value> = (curves.workloads.iter())
        .map(|(name, points)| {
            let targets: Vec<(String, f64)> = (model.workloads.iter())
                .find(|w| w.name == *name)
                .map(|w| {
                    (w.slos.iter())
                        .map(|s| (s.stat.clone(), s.target_s))
                        .collect()
                })
                .unwrap_or_default();
            Value::from_safe_string(charts::latency_chart(name, points, &targets))
        })
        .collect();
    let utilization: Vec<(String, f64)> = (p.services.iter())
        .filter_map(|s| Some((s.name.clone(), s.utilization?)))
        .collect();
    let loads: Vec<String> = inputs
        .loads
        .iter()
        .map(|l| crate::compare::fmt_load(*l))
        .collect();
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)
        .expect("the bundled template parses");
    let page = env.get_template("page.html").expect("added above");
    let html = page
        .render(context! {
            version => env!("CARGO_PKG_VERSION"),
            system => model.system.clone().unwrap_or_default(),
            file => &inputs.file,
            replicas_source => &inputs.replicas_source,
            graph => graph,
            workloads => workload_rows(&p),
            services => service_rows(&p),
            utilization_chart => Value::from_safe_string(charts::utilization_chart(&utilization)),
            latency_charts => latency_charts,
            loads => loads.join(", "),
            plan => inputs.plan.as_ref().map(plan_view),
        })
        .expect("the bundled template renders");
    Ok(html)
}

/// The plan's summary and its services, as the template reads them.
fn plan_view(p: &crate::plan::Plan) -> Value {
    let services: Vec<Value> = (p.services.iter())
        .map(|s| {
            context! {
                name => &s.name,
                replicas => s.replicas,
                max_replicas => s.max_replicas,
                utilization => format!("{:.1}%", s.utilization * 100.0),
                cost => format!("${:.3}/h", s.cost_per_hour),
            }
        })
        .collect();
    let binding: Vec<String> = (p.binding.iter())
        .map(|b| format!("{} {}: {}", b.kind, b.subject, b.detail))
        .collect();
    context! {
        cost_per_hour => format!("${:.2}", p.cost_per_hour),
        cost_per_month => format!("${:.0}", p.cost_per_month),
        replicas => p.total_replicas,
        headroom => p.headroom.map_or("-".to_string(), |h| format!("{h}x")),
        optimal => p.optimal,
        services => services,
        binding => binding,
    }
}

fn t(s: f64) -> String {
    format!("{:.1}ms", s * 1000.0)
}

fn workload_rows(p: &Prediction) -> Vec<Value> {
    (p.workloads.iter())
        .map(|w| {
            let cells = match &w.latency {
                Some(l) => [l.mean_s, l.p50_s, l.p95_s, l.p99_s, l.p999_s].map(t),
                None => ["unstable", "-", "-", "-", "-"].map(String::from),
            };
            let slos: Vec<Value> = (w.slos.iter())
                .map(|s| {
                    let verdict = if s.met { "met" } else { "missed" };
                    context! {
                        met => s.met,
                        text => format!("{} < {} {verdict} ({})", s.stat, t(s.target_s), t(s.predicted_s)),
                    }
                })
                .collect();
            context! {
                name => &w.name,
                rate => format!("{:.1}", w.rate_rps),
                mean => &cells[0], p50 => &cells[1], p95 => &cells[2], p99 => &cells[3], p999 => &cells[4],
                slos => slos,
            }
        })
        .collect()
}

fn service_rows(p: &Prediction) -> Vec<Value> {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), t);
    (p.services.iter())
        .map(|s| {
            context! {
                name => &s.name,
                arrival => format!("{:.1}", s.arrival_rps),
                replicas => s.replicas.map_or("-".into(), |r| r.to_string()),
                servers => s.servers.map_or("-".into(), |r| r.to_string()),
                utilization => s.utilization.map_or("-".into(), |u| format!("{:.1}%", u * 100.0)),
                wait => opt(s.wait_mean_s),
                p99 => opt(s.sojourn_p99_s),
                model => s.model,
            }
        })
        .collect()
}
