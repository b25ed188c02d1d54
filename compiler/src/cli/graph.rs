//! `kendall graph`: draws a design as DOT, Mermaid or SVG (see docs/graph.md).

use crate::{Color, EXIT_DESIGN, Format, read_and_compile, render_options, report, with_plan};
use clap::ValueEnum;
use kendall::draw::Drawing;
use std::io::Write;
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Svg,
}

pub struct GraphArgs {
    pub format: GraphFormat,
    pub heat: bool,
    pub load: Option<String>,
    pub replicas: Option<String>,
    pub plan: Option<String>,
    pub color: Color,
}

pub fn run(file: &str, args: &GraphArgs) -> ExitCode {
    let compiled = match read_and_compile(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = render_options(args.color);
    let Some(model) = &compiled.model else {
        report(
            &compiled.sources,
            compiled.diagnostics.iter(),
            Format::Human,
            options,
            None,
        );
        return ExitCode::from(EXIT_DESIGN);
    };
    if model.system.is_none() {
        eprintln!("note: `{file}` is a library module (no `system`): nothing to draw");
        return ExitCode::SUCCESS;
    }
    // Warnings still go to stderr; the drawing is stdout's.
    report(
        &compiled.sources,
        compiled.diagnostics.iter(),
        Format::Human,
        options,
        None,
    );
    let heat = args.heat || args.load.is_some() || args.replicas.is_some() || args.plan.is_some();
    let configured;
    let mut model = model;
    let prediction = if heat {
        let mut opts = kendall::queueing::Options::default();
        match with_plan(
            model,
            args.plan.as_deref(),
            args.load.as_deref(),
            args.replicas.as_deref(),
        ) {
            Ok((load, replicas, m)) => {
                opts.load = load;
                opts.replicas = replicas;
                configured = m;
                model = &configured;
            }
            Err(code) => return code,
        }
        match kendall::queueing::predict(model, &opts) {
            Ok(p) => Some(p),
            Err(d) => {
                let diagnostic = kendall::queueing::report::divergent(model, &d);
                report(
                    &compiled.sources,
                    std::iter::once(&diagnostic),
                    Format::Human,
                    options,
                    None,
                );
                return ExitCode::from(EXIT_DESIGN);
            }
        }
    } else {
        None
    };
    let drawing = Drawing::new(model, prediction.as_ref());
    let text = match args.format {
        GraphFormat::Dot => kendall::draw::dot::render(&drawing),
        GraphFormat::Mermaid => kendall::draw::mermaid::render(&drawing),
        GraphFormat::Svg => {
            match kendall::draw::svg::render(&drawing) {
                Ok(svg) => svg,
                Err(e) => {
                    return crate::usage(
                    &format!(
                        "`{file}` is too large for the built-in svg layout ({} layout elements, at most {})",
                        e.size,
                        kendall::draw::svg::MAX_LAYOUT
                    ),
                    Some("draw it with `--format dot` and render that with Graphviz: `| dot -Tsvg`".into()),
                );
                }
            }
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
