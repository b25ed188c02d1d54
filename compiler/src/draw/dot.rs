//! The drawing in Graphviz DOT. Every id and label is a quoted string with `"` and `\`
//! escaped, so no user text can end a string or start a DOT escape.

use super::{Drawing, EdgeStyle, Shape};
use std::fmt::Write;

/// `s` as a DOT quoted string; label lines are joined with DOT's `\n`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render(d: &Drawing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&d.title));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for n in &d.nodes {
        let (shape, mut style) = match n.shape {
            Shape::Service => ("box", vec!["rounded"]),
            Shape::External => ("box", vec!["dashed"]),
            Shape::Queue => ("cds", vec![]),
            Shape::Database => ("cylinder", vec![]),
            Shape::Job => ("box3d", vec![]),
            Shape::Workload => ("oval", vec![]),
        };
        let mut attrs = vec![
            format!("label={}", quote(&n.lines.join("\n"))),
            format!("shape={shape}"),
        ];
        if let Some(fill) = n.fill {
            style.push("filled");
            attrs.push(format!("fillcolor={}", quote(fill)));
        }
        if !style.is_empty() {
            attrs.push(format!("style={}", quote(&style.join(","))));
        }
        let _ = writeln!(out, "  {} [{}];", quote(&n.id), attrs.join(", "));
    }
    for e in &d.edges {
        let mut attrs = Vec::new();
        if !e.label.is_empty() {
            attrs.push(format!("label={}", quote(&e.label)));
        }
        match e.style {
            EdgeStyle::Sync => {}
            EdgeStyle::Async => attrs.push("style=dashed".into()),
            EdgeStyle::Entry => attrs.push("style=bold".into()),
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} -> {}{attrs};",
            quote(&d.nodes[e.from].id),
            quote(&d.nodes[e.to].id)
        );
    }
    out.push_str("}\n");
    out
}
