//! The drawing as a Mermaid flowchart. Node ids are generated (`w0`, `s3`) so no name can
//! clash with Mermaid's keywords; labels are quoted strings in which every character Mermaid
//! or HTML could read as markup is written as an entity code (`#quot;`, `#60;`).

use super::{Drawing, EdgeStyle, Shape};
use std::fmt::Write;

/// One label line, safe inside Mermaid's `"…"`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' | '>' | '&' | '#' | '|' | '`' | '\\' | '{' | '}' | '[' | ']' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render(d: &Drawing) -> String {
    let ids: Vec<String> = d
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match n.shape {
            Shape::Workload => format!("w{i}"),
            _ => format!("s{i}"),
        })
        .collect();
    let mut out = String::from("flowchart LR\n");
    for (n, id) in d.nodes.iter().zip(&ids) {
        let label = n
            .lines
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let (open, close) = match n.shape {
            Shape::Service => ("(", ")"),
            Shape::External => ("[", "]"),
            Shape::Queue => (">", "]"),
            Shape::Database => ("[(", ")]"),
            Shape::Job => ("[[", "]]"),
            Shape::Workload => ("([", "])"),
        };
        let _ = writeln!(out, "  {id}{open}\"{label}\"{close}");
    }
    for e in &d.edges {
        let arrow = match e.style {
            EdgeStyle::Sync => "-->",
            EdgeStyle::Async => "-.->",
            EdgeStyle::Entry => "==>",
        };
        let label = if e.label.is_empty() {
            String::new()
        } else {
            format!("|\"{}\"|", escape(&e.label))
        };
        let _ = writeln!(out, "  {} {arrow}{label} {}", ids[e.from], ids[e.to]);
    }
    let external: Vec<&str> = d
        .nodes
        .iter()
        .zip(&ids)
        .filter(|(n, _)| n.shape == Shape::External)
        .map(|(_, id)| id.as_str())
        .collect();
    if !external.is_empty() {
        out.push_str("  classDef external stroke-dasharray: 5 5\n");
        let _ = writeln!(out, "  class {} external", external.join(","));
    }
    for (n, id) in d.nodes.iter().zip(&ids) {
        if let Some(fill) = n.fill {
            let _ = writeln!(out, "  style {id} fill:{fill}");
        }
    }
    out
}
