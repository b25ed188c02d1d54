//! The binary's `kendall plan` and `kendall sweep`, and `--plan plan.json` for `predict` and
//! `simulate` (a module of `main.rs`, not of the library).

use super::{
    Color, EXIT_DESIGN, Format, parse_count, parse_load, read_and_compile, render_options, usage,
};
use clap::ValueEnum;
use kendall::diagnostics;
use kendall::plan::{self, PlanOptions};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    Human,
    Json,
    Csv,
}

/// The options `plan` and `sweep` share, as typed.
pub struct PlanArgs {
    pub ceiling: String,
    pub min_replicas: String,
    pub peak: String,
    pub ignore_zones: bool,
}

fn options(args: &PlanArgs) -> Result<PlanOptions, ExitCode> {
    let ceiling = args
        .ceiling
        .trim()
        .strip_suffix('%')
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v <= 100.0)
        .ok_or_else(|| {
            usage(
                &format!("`--ceiling {}` is not a utilisation", args.ceiling),
                Some("write a percentage above 0 and at most 100, e.g. `--ceiling 85%`".into()),
            )
        })?;
    let min_replicas = parse_count("min-replicas", &args.min_replicas, 1, "a replica count")?;
    let peak = parse_load(Some(&args.peak))?;
    if peak < 1.0 {
        return Err(usage(
            &format!("`--peak {}` is below 1x", args.peak),
            Some("the peak is a multiple of the planned load, e.g. `--peak 2x`".into()),
        ));
    }
    Ok(PlanOptions {
        ceiling: ceiling / 100.0,
        min_replicas: u32::try_from(min_replicas).unwrap_or(u32::MAX),
        peak,
        zone_loss: !args.ignore_zones,
        ..PlanOptions::default()
    })
}

/// Compiles `file` and returns its model, or the exit code after reporting why not.
fn model_of(file: &str, color: Color) -> Result<kendall::Compiled, ExitCode> {
    let compiled = read_and_compile(file)?;
    let options = render_options(color);
    for d in compiled.diagnostics.iter() {
        if d.severity() == diagnostics::Severity::Error {
            eprint!("{}", diagnostics::render(d, &compiled.sources, options));
        }
    }
    match &compiled.model {
        None => Err(ExitCode::from(EXIT_DESIGN)),
        Some(m) if m.system.is_none() => {
            eprintln!("note: `{file}` is a library module (no `system`): nothing to plan");
            Err(ExitCode::SUCCESS)
        }
        Some(_) => Ok(compiled),
    }
}

pub fn plan(
    file: &str,
    load: Option<&str>,
    out: Option<&str>,
    args: &PlanArgs,
    format: Format,
    color: Color,
) -> ExitCode {
    let mut opts = match options(args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    match parse_load(load) {
        Ok(l) => opts.load = l,
        Err(code) => return code,
    }
    let compiled = match model_of(file, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let model = compiled.model.as_ref().expect("checked in model_of");
    let result = plan::plan(model, &opts);
    let code = match &result {
        Ok(p) => {
            if let Some(path) = out
                && let Err(e) = std::fs::write(path, plan::to_json_string(p) + "\n")
            {
                return usage(
                    &format!("cannot write `{path}`: {}", kendall::resolve::io_reason(&e)),
                    None,
                );
            }
            match format {
                Format::Human => print!("{}", plan::to_table(p)),
                Format::Json => println!("{}", plan::to_json_string(p)),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            match format {
                Format::Human => print_infeasible(e),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&e.to_json()).expect("json")
                ),
            }
            ExitCode::from(EXIT_DESIGN)
        }
    };
    std::mem::forget(compiled);
    code
}

pub fn sweep(
    file: &str,
    load: &str,
    steps: &str,
    args: &PlanArgs,
    format: SweepFormat,
    color: Color,
) -> ExitCode {
    let opts = match options(args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let steps = match parse_count("steps", steps, 1, "a number of steps") {
        Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
        Err(code) => return code,
    };
    let loads = match kendall::compare::parse_load_range(load, steps) {
        Ok(l) => l,
        Err(message) => {
            return usage(
                &message,
                Some("write a load like `2x`, or a range like `0.5x..4x`".into()),
            );
        }
    };
    let compiled = match model_of(file, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let model = compiled.model.as_ref().expect("checked in model_of");
    let rows = plan::sweep::sweep(model, &loads, &opts);
    match format {
        SweepFormat::Human => print!("{}", plan::sweep::to_table(&loads, &rows)),
        SweepFormat::Csv => print!("{}", plan::sweep::to_csv(&loads, &rows)),
        SweepFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan::sweep::to_json(&loads, &rows)).expect("json")
        ),
    }
    std::mem::forget(compiled);
    ExitCode::SUCCESS
}

/// The plan in `path`, checked against the design: every service it plans is one the design
/// deploys, with at least one replica.
pub fn load_plan(model: &kendall::model::Model, path: &str) -> Result<plan::Plan, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(
            &format!("cannot read `{path}`: {}", kendall::resolve::io_reason(&e)),
            None,
        )
    })?;
    let plan = plan::from_json(&text).map_err(|e| {
        usage(
            &format!("`{path}` is {e}"),
            Some("write one with `kendall plan FILE --out plan.json`".into()),
        )
    })?;
    for s in &plan.services {
        match model.service(&s.name) {
            Some(m) if m.replicas.is_some() => {}
            _ => {
                return Err(usage(
                    &format!(
                        "`{path}` plans service `{}`, which this design does not deploy",
                        s.name
                    ),
                    Some("plan this design again with `kendall plan`".into()),
                ));
            }
        }
        let m = model.service(&s.name).expect("checked above");
        if !m.gpu_choices.is_empty() && !s.gpu.as_ref().is_some_and(|g| m.gpu_choices.contains(g)) {
            return Err(usage(
                &format!(
                    "`{path}` gives `{}` gpu {}, which is not one of its `one_of({})`",
                    s.name,
                    s.gpu.as_deref().map_or("none".into(), |g| format!("`{g}`")),
                    m.gpu_choices.join(", ")
                ),
                Some("plan this design again with `kendall plan`".into()),
            ));
        }
        if let Some(range) = m.batch_choices() {
            let (lo, hi) = (range[0], range[range.len() - 1]);
            if !s.batch_max.is_some_and(|b| (lo..=hi).contains(&b)) {
                return Err(usage(
                    &format!(
                        "`{path}` gives `{}` batch max {}, outside its `batch max {lo}..{hi}`",
                        s.name,
                        s.batch_max.map_or("none".into(), |b| b.to_string())
                    ),
                    Some("plan this design again with `kendall plan`".into()),
                ));
            }
        }
        if s.replicas == 0 {
            return Err(usage(
                &format!("`{path}` gives `{}` 0 replicas", s.name),
                None,
            ));
        }
    }
    Ok(plan)
}

/// The plan in `path` if given, else the design planned now with the default constraints; an
/// infeasible design gets its reasons on stderr and exit 1.
pub fn plan_or_load(
    model: &kendall::model::Model,
    path: Option<&str>,
) -> Result<plan::Plan, ExitCode> {
    if let Some(path) = path {
        return load_plan(model, path);
    }
    plan::plan(model, &PlanOptions::default()).map_err(|e| {
        print_infeasible(&e);
        eprintln!("help: fix the design, or pass a plan with `--plan plan.json`");
        ExitCode::from(EXIT_DESIGN)
    })
}

/// Why no plan exists, on stderr: the error line, the choices' note, then every reason.
fn print_infeasible(e: &plan::Infeasible) {
    eprintln!(
        "error: no plan for `{}` at {}x load meets every constraint",
        e.system, e.load
    );
    if let Some(note) = e.note() {
        eprintln!("  {note}");
    }
    for r in &e.reasons {
        eprintln!("  - {r}");
    }
}
