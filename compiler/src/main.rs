//! The `kendall` command line. All I/O lives here; the library is pure.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

use clap::{Parser, Subcommand, ValueEnum};
use kendall::diagnostics::{self, RenderOptions, codes};
use kendall::resolve::FsLoader;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

mod generate_cli;
mod plan_cli;

#[derive(Parser)]
#[command(
    name = "kendall",
    version,
    about = "Compile, predict and plan ML systems made of microservices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check designs and report every error and warning
    Check {
        /// The `.arch` files to check
        #[arg(required = true)]
        files: Vec<String>,
        /// Output format for diagnostics
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors
        #[arg(long)]
        deny_warnings: bool,
        /// Print a compiled representation instead of a summary
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Predict load, utilisation and latency with analytic queueing models
    Predict {
        /// The `.arch` design
        file: String,
        /// Replicas per service, overriding pins and lower bounds: `api=4,ranker=2`
        #[arg(long)]
        replicas: Option<String>,
        /// Scale every workload, e.g. `1.5x`
        #[arg(long)]
        load: Option<String>,
        /// Replicas (and load) from a plan written by `kendall plan --out plan.json`
        #[arg(long)]
        plan: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Simulate the design event by event: the referee for `predict`
    Simulate {
        /// The `.arch` design
        file: String,
        /// Measured requests per replication, over all workloads
        #[arg(long, default_value = "200000")]
        requests: String,
        /// Independent replications, for confidence intervals
        #[arg(long, default_value = "10")]
        replications: String,
        /// Seed of the random streams: the same seed gives the same figures
        #[arg(long, default_value = "1")]
        seed: String,
        /// Scale every workload, e.g. `1.5x`
        #[arg(long)]
        load: Option<String>,
        /// Replicas per service, overriding pins and lower bounds: `api=4,ranker=2`
        #[arg(long)]
        replicas: Option<String>,
        /// Replicas (and load) from a plan written by `kendall plan --out plan.json`
        #[arg(long)]
        plan: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Run the designs' scenarios (design tests) against predicted figures
    Test {
        /// The `.arch` designs
        #[arg(required = true)]
        files: Vec<String>,
        /// Also write the results as JUnit XML to this file, for CI systems
        #[arg(long)]
        junit: Option<String>,
        /// Judge the scenarios on simulated figures instead of predicted ones
        #[arg(long)]
        simulate: bool,
        /// Replicas per service before the scenarios change them: `api=4,ranker=2` over the
        /// design's (by default the scenarios start from the plan)
        #[arg(long, conflicts_with = "plan")]
        replicas: Option<String>,
        /// Start from a plan written by `kendall plan --out plan.json` (default: plan now)
        #[arg(long)]
        plan: Option<String>,
        /// With `--simulate`: measured requests per replication
        #[arg(long, default_value = "200000")]
        requests: String,
        /// With `--simulate`: independent replications
        #[arg(long, default_value = "10")]
        replications: String,
        /// With `--simulate`: the seed of the random streams
        #[arg(long, default_value = "1")]
        seed: String,
        /// When to colour diagnostics
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Write one self-contained HTML page: the figures, utilisation and latency against load
    Report {
        /// The `.arch` design
        file: String,
        /// The page to write
        #[arg(long)]
        out: String,
        /// Replicas per service, overriding pins and lower bounds: `api=4,ranker=2`
        #[arg(long)]
        replicas: Option<String>,
        /// Loads of the latency curves: a range `0.25x..2x` cut into `--steps` points
        #[arg(long, default_value = "0.25x..2x")]
        load: String,
        /// Points in the `--load` range, both ends included
        #[arg(long, default_value = "8")]
        steps: String,
        /// Replace `--out` even if kendall did not write it
        #[arg(long)]
        force: bool,
        /// Replicas from a plan written by `kendall plan --out plan.json` (default: plan now)
        #[arg(long, conflicts_with = "replicas")]
        plan: Option<String>,
        /// When to colour diagnostics
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Plan replicas at least cost so that every workload meets every SLO
    Plan {
        /// The `.arch` design
        file: String,
        /// Scale every workload, e.g. `2x`
        #[arg(long)]
        load: Option<String>,
        /// Also write the plan as JSON to this file (read by `predict --plan`, `simulate --plan`)
        #[arg(long)]
        out: Option<String>,
        #[command(flatten)]
        settings: PlanSettings,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Plan at every load of a range: cost, replicas and latency against load
    Sweep {
        /// The `.arch` design
        file: String,
        /// Loads: a range `0.5x..4x` cut into `--steps` points, or one load `2x`
        #[arg(long, default_value = "0.5x..4x")]
        load: String,
        /// Points in a `--load` range, both ends included
        #[arg(long, default_value = "8")]
        steps: String,
        #[command(flatten)]
        settings: PlanSettings,
        /// Output format
        #[arg(long, value_enum, default_value_t = plan_cli::SweepFormat::Human)]
        format: plan_cli::SweepFormat,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Compare two designs across load: latency, replicas and cost of each
    Compare {
        /// The first `.arch` design
        a: String,
        /// The second `.arch` design
        b: String,
        /// Loads to compare at: `2x`, or a range `0.5x..4x` cut into `--steps` points
        #[arg(long, default_value = "1x")]
        load: String,
        /// Points in a `--load` range, both ends included
        #[arg(long, default_value = "8")]
        steps: String,
        /// Replicas at each load: `70%` scales every service to the fewest replicas that keep
        /// it at or below that utilisation; `designed` uses pins and lower bounds
        #[arg(long, default_value = "70%")]
        scale: String,
        /// Fewest replicas per service when scaling to a utilisation
        #[arg(long, default_value = "2")]
        min_replicas: String,
        /// Replica overrides for the first design: `api=4,ranker=2`
        #[arg(long)]
        replicas_a: Option<String>,
        /// Replica overrides for the second design
        #[arg(long)]
        replicas_b: Option<String>,
        /// Simulate both designs at every load too
        #[arg(long)]
        simulate: bool,
        /// Measured requests per replication, with `--simulate`
        #[arg(long, default_value = "100000")]
        requests: String,
        /// Replications, with `--simulate`
        #[arg(long, default_value = "5")]
        replications: String,
        /// Seed, with `--simulate`
        #[arg(long, default_value = "1")]
        seed: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Generate deployable files: Kubernetes manifests or a docker-compose file
    Generate {
        /// The `.arch` design
        file: String,
        /// What to generate
        #[arg(long, value_enum)]
        target: GenerateTarget,
        /// The directory to write into (created if missing)
        #[arg(long)]
        out: String,
        /// Write nothing; print a diff and exit 1 if the files on disk differ
        #[arg(long)]
        check: bool,
        /// Overwrite generated files even where they were edited
        #[arg(long)]
        force: bool,
        /// Replicas from a plan written by `kendall plan --out plan.json` (else it plans first)
        #[arg(long)]
        plan: Option<String>,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Rewrite designs in the canonical layout, keeping comments (see docs/fmt.md)
    Fmt {
        /// The `.arch` files to format, or `-` to format stdin to stdout
        #[arg(required = true)]
        files: Vec<String>,
        /// Change nothing: print a diff and exit with 1 if any file is not formatted
        #[arg(long)]
        check: bool,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Draw services, calls and workloads as DOT, Mermaid or SVG (see docs/graph.md)
    Graph {
        /// The `.arch` design
        file: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = cli::graph::GraphFormat::Dot)]
        format: cli::graph::GraphFormat,
        /// Colour services by predicted utilisation (implied by `--load` and `--replicas`)
        #[arg(long)]
        heat: bool,
        /// Scale every workload for the heat colours, e.g. `1.5x`
        #[arg(long)]
        load: Option<String>,
        /// Replicas per service for the heat colours: `api=4,ranker=2`
        #[arg(long)]
        replicas: Option<String>,
        /// Replicas (and load) for the heat colours from a plan written by `kendall plan --out`
        #[arg(long)]
        plan: Option<String>,
        /// When to colour diagnostics
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Print the page that explains a diagnostic code, e.g. `kendall explain E0302`
    Explain {
        /// The code, such as E0302
        code: String,
    },
}

/// The constraints `plan` and `sweep` share.
#[derive(clap::Args)]
struct PlanSettings {
    /// The highest utilisation any station may run at
    #[arg(long, default_value = "85%")]
    ceiling: String,
    /// The fewest replicas of a planned service (within its range)
    #[arg(long, default_value = "2")]
    min_replicas: String,
    /// The load, as a multiple of the planned one, that `max_replicas` is sized for
    #[arg(long, default_value = "2x")]
    peak: String,
    /// Do not require the plan to survive the loss of a zone
    #[arg(long)]
    ignore_zones: bool,
}

impl PlanSettings {
    fn args(self) -> plan_cli::PlanArgs {
        plan_cli::PlanArgs {
            ceiling: self.ceiling,
            min_replicas: self.min_replicas,
            peak: self.peak,
            ignore_zones: self.ignore_zones,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GenerateTarget {
    Kubernetes,
    Compose,
    /// A Cargo workspace of axum service skeletons
    Rust,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// The resolved model as JSON (see docs/model-json.md)
    Model,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Exit codes: 0 ok, 1 the design has errors (or warnings under `--deny-warnings`), 2 usage
/// or I/O errors.
const EXIT_DESIGN: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            emit,
            color,
        } => check(&files, format, deny_warnings, emit, color),
        Command::Explain { code } => explain(&code),
        Command::Generate {
            file,
            target,
            out,
            check,
            force,
            plan,
            color,
        } => generate_cli::run(&generate_cli::Args {
            file,
            target: match target {
                GenerateTarget::Kubernetes => kendall::generate::Target::Kubernetes,
                GenerateTarget::Compose => kendall::generate::Target::Compose,
                GenerateTarget::Rust => kendall::generate::Target::Rust,
            },
            out,
            check,
            force,
            plan,
            color,
        }),
        Command::Fmt {
            files,
            check,
            color,
        } => cli::fmt::run(&files, check, color),
        Command::Graph {
            file,
            format,
            heat,
            load,
            replicas,
            plan,
            color,
        } => cli::graph::run(
            &file,
            &cli::graph::GraphArgs {
                format,
                heat,
                load,
                replicas,
                plan,
                color,
            },
        ),
        Command::Compare {
            a,
            b,
            load,
            steps,
            scale,
            min_replicas,
            replicas_a,
            replicas_b,
            simulate,
            requests,
            replications,
            seed,
            format,
            color,
        } => compare(&CompareArgs {
            files: [a, b],
            load,
            steps,
            scale,
            min_replicas,
            replicas: [replicas_a, replicas_b],
            simulate,
            requests,
            replications,
            seed,
            format,
            color,
        }),
        Command::Predict {
            file,
            replicas,
            load,
            plan,
            format,
            color,
        } => predict(
            &file,
            replicas.as_deref(),
            load.as_deref(),
            plan.as_deref(),
            format,
            color,
        ),
        Command::Report {
            file,
            out,
            replicas,
            load,
            steps,
            force,
            plan,
            color,
        } => report_page(
            &file,
            &out,
            replicas.as_deref(),
            plan.as_deref(),
            &load,
            &steps,
            force,
            color,
        ),
        Command::Test {
            files,
            junit,
            simulate,
            replicas,
            plan,
            requests,
            replications,
            seed,
            color,
        } => test(
            &files,
            junit.as_deref(),
            simulate.then_some(SimulateArgs {
                requests,
                replications,
                seed,
                load: None,
                replicas: None,
                plan: None,
            }),
            replicas.as_deref(),
            plan.as_deref(),
            color,
        ),
        Command::Simulate {
            file,
            requests,
            replications,
            seed,
            load,
            replicas,
            plan,
            format,
            color,
        } => simulate(
            &file,
            &SimulateArgs {
                requests,
                replications,
                seed,
                load,
                replicas,
                plan,
            },
            format,
            color,
        ),
        Command::Plan {
            file,
            load,
            out,
            settings,
            format,
            color,
        } => plan_cli::plan(
            &file,
            load.as_deref(),
            out.as_deref(),
            &settings.args(),
            format,
            color,
        ),
        Command::Sweep {
            file,
            load,
            steps,
            settings,
            format,
            color,
        } => plan_cli::sweep(&file, &load, &steps, &settings.args(), format, color),
    }
}

fn explain(code: &str) -> ExitCode {
    match codes::lookup(code) {
        Some(c) => {
            print!("{}", c.page);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: no diagnostic code `{code}`");
            let ids: Vec<&str> = codes::ALL.iter().map(|c| c.id).collect();
            if let Some(s) = diagnostics::did_you_mean(&code.to_uppercase(), ids.iter().copied()) {
                eprintln!("help: {s}");
            } else {
                eprintln!(
                    "help: codes look like `E0302`; the known codes are {}",
                    ids.join(", ")
                );
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn check(
    files: &[String],
    format: Format,
    deny_warnings: bool,
    emit: Option<Emit>,
    color: Color,
) -> ExitCode {
    if emit.is_some() && files.len() != 1 {
        eprintln!(
            "error: `--emit` takes exactly one file, got {}",
            files.len()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let mut compiled = Vec::new();
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "error: cannot read `{file}`: {}",
                    kendall::resolve::io_reason(&e)
                );
                return ExitCode::from(EXIT_USAGE);
            }
        };
        compiled.push((file, kendall::compile(file, &bytes, &FsLoader)));
    }
    let errors: usize = compiled.iter().map(|(_, c)| c.diagnostics.errors()).sum();
    let warnings: usize = compiled.iter().map(|(_, c)| c.diagnostics.warnings()).sum();
    let failed = errors > 0 || (deny_warnings && warnings > 0);
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            let all = compiled
                .iter()
                .flat_map(|(_, c)| c.diagnostics.iter().map(move |d| (&c.sources, d)));
            let mut report = diagnostics::to_json(all);
            if let (Some(Emit::Model), Some((_, c))) = (emit, compiled.first()) {
                report["model"] = serde_json::to_value(&c.model).expect("the model serialises");
            }
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&report).expect("json")
            );
        }
        Format::Human => {
            let options = RenderOptions { width, color };
            let mut stderr = std::io::stderr().lock();
            for (_, c) in &compiled {
                for d in c.diagnostics.iter() {
                    let _ = write!(stderr, "{}", diagnostics::render(d, &c.sources, options));
                }
            }
            if let (Some(Emit::Model), Some((_, c))) = (emit, compiled.first()) {
                if let Some(model) = &c.model {
                    let _ = writeln!(
                        stdout,
                        "{}",
                        serde_json::to_string_pretty(model).expect("json")
                    );
                }
            } else {
                let _ = writeln!(
                    stderr,
                    "{}",
                    summary(files.len(), errors, warnings, deny_warnings)
                );
            }
        }
    }
    // The process is about to exit: freeing a large design's many small allocations one by
    // one would only delay it (about a tenth of the run on 10,000 services).
    std::mem::forget(compiled);
    if failed {
        ExitCode::from(EXIT_DESIGN)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(files: usize, errors: usize, warnings: usize, deny_warnings: bool) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let checked = plural(files, "file");
    match (errors, warnings) {
        (0, 0) => format!("checked {checked}: no problems"),
        (0, w) if deny_warnings => format!(
            "checked {checked}: {} (denied by --deny-warnings)",
            plural(w, "warning")
        ),
        (0, w) => format!("checked {checked}: {}", plural(w, "warning")),
        (e, 0) => format!("checked {checked}: {}", plural(e, "error")),
        (e, w) => format!(
            "checked {checked}: {}, {}",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

fn usage(message: &str, help: Option<String>) -> ExitCode {
    eprintln!("error: {message}");
    if let Some(h) = help {
        eprintln!("help: {h}");
    }
    ExitCode::from(EXIT_USAGE)
}

/// How diagnostics are rendered on stderr.
fn render_options(color: Color) -> RenderOptions {
    RenderOptions {
        width: std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100),
        color: match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
    }
}

/// `--load 1.5x` (1.0 when absent); a usage error otherwise.
fn parse_load(load: Option<&str>) -> Result<f64, ExitCode> {
    let Some(load) = load else {
        return Ok(1.0);
    };
    match load.trim_end_matches('x').parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(usage(
            &format!("`--load {load}` is not a load multiplier"),
            Some("write a positive factor such as `1.5x`".into()),
        )),
    }
}

/// `--replicas api=4,ranker=2`, checked against the design's services; a usage error
/// otherwise.
fn parse_replicas(
    model: &kendall::model::Model,
    replicas: Option<&str>,
) -> Result<std::collections::BTreeMap<String, u32>, ExitCode> {
    let mut out = std::collections::BTreeMap::new();
    for pair in replicas
        .into_iter()
        .flat_map(|r| r.split(','))
        .filter(|p| !p.trim().is_empty())
    {
        let Some((name, n)) = pair.split_once('=') else {
            return Err(usage(
                &format!("`{pair}` is not `SERVICE=N`"),
                Some("write `--replicas api=4,ranker=2`".into()),
            ));
        };
        let (name, n) = (name.trim(), n.trim());
        match model.service(name) {
            None => {
                let names = model.services.iter().map(|s| s.name.as_str());
                let deployed: Vec<&str> = model
                    .services
                    .iter()
                    .filter(|s| s.replicas.is_some())
                    .map(|s| s.name.as_str())
                    .collect();
                let help = diagnostics::did_you_mean(name, names).unwrap_or_else(|| {
                    format!("the services with replicas are {}", deployed.join(", "))
                });
                return Err(usage(&format!("no service named `{name}`"), Some(help)));
            }
            Some(s) if s.replicas.is_none() => {
                return Err(usage(
                    &format!("`{name}` is external: it has no replicas"),
                    None,
                ));
            }
            Some(_) => {}
        }
        match n.parse::<u32>() {
            Ok(v) if v > 0 => {
                out.insert(name.to_string(), v);
            }
            _ => {
                return Err(usage(
                    &format!("`{n}` is not a replica count"),
                    Some("replicas are whole numbers from 1".into()),
                ));
            }
        }
    }
    Ok(out)
}

fn predict(
    file: &str,
    replicas: Option<&str>,
    load: Option<&str>,
    plan: Option<&str>,
    format: Format,
    color: Color,
) -> ExitCode {
    let compiled = match read_and_compile(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = render_options(color);
    let Some(model) = &compiled.model else {
        report(
            &compiled.sources,
            compiled.diagnostics.iter(),
            format,
            options,
            None,
        );
        return ExitCode::from(EXIT_DESIGN);
    };
    if model.system.is_none() {
        eprintln!("note: `{file}` is a library module (no `system`): nothing to predict");
        return ExitCode::SUCCESS;
    }
    let mut opts = kendall::queueing::Options {
        load: 1.0,
        ..Default::default()
    };
    let configured;
    let model = match with_plan(model, plan, load, replicas) {
        Ok((l, r, m)) => {
            (opts.load, opts.replicas) = (l, r);
            configured = m;
            &configured
        }
        Err(code) => return code,
    };
    let mut all: Vec<kendall::diagnostics::Diagnostic> =
        compiled.diagnostics.iter().cloned().collect();
    let prediction = match kendall::queueing::predict(model, &opts) {
        Ok(p) => p,
        Err(d) => {
            all.push(kendall::queueing::report::divergent(model, &d));
            report(&compiled.sources, all.iter(), format, options, None);
            return ExitCode::from(EXIT_DESIGN);
        }
    };
    all.extend(kendall::queueing::report::diagnostics(model, &prediction));
    let failed = prediction.services.iter().any(|s| s.unstable.is_some())
        || prediction
            .workloads
            .iter()
            .any(|w| w.slos.iter().any(|s| !s.met));
    report(
        &compiled.sources,
        all.iter(),
        format,
        options,
        Some(&prediction),
    );
    std::mem::forget(compiled);
    if failed {
        ExitCode::from(EXIT_DESIGN)
    } else {
        ExitCode::SUCCESS
    }
}

/// Diagnostics to stderr and the prediction to stdout, or everything as one JSON document.
fn report<'a>(
    sources: &kendall::source::SourceMap,
    found: impl Iterator<Item = &'a kendall::diagnostics::Diagnostic>,
    format: Format,
    options: RenderOptions,
    prediction: Option<&kendall::queueing::Prediction>,
) {
    let found: Vec<_> = found.collect();
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            let mut out = match prediction {
                Some(p) => kendall::queueing::report::to_json(p),
                None => serde_json::json!({}),
            };
            out["diagnostics"] =
                diagnostics::to_json(found.iter().map(|d| (sources, *d)))["diagnostics"].clone();
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&out).expect("json")
            );
        }
        Format::Human => {
            let mut stderr = std::io::stderr().lock();
            for d in &found {
                let _ = write!(stderr, "{}", diagnostics::render(d, sources, options));
            }
            if let Some(p) = prediction {
                let _ = write!(stdout, "{}", kendall::queueing::report::to_table(p));
            }
        }
    }
}

/// The options of `kendall simulate` as typed, checked in [`simulate`].
struct SimulateArgs {
    requests: String,
    replications: String,
    seed: String,
    load: Option<String>,
    replicas: Option<String>,
    plan: Option<String>,
}

/// Load, replicas and the model with its choices applied from `--plan` (if given; without,
/// the design's first GPU type and lowest batch max), then `--load` and `--replicas` over
/// them.
fn with_plan(
    model: &kendall::model::Model,
    plan: Option<&str>,
    load: Option<&str>,
    replicas: Option<&str>,
) -> Result<
    (
        f64,
        std::collections::BTreeMap<String, u32>,
        kendall::model::Model,
    ),
    ExitCode,
> {
    let (mut r, mut l, configured) = match plan {
        Some(path) => {
            let p = plan_cli::load_plan(model, path)?;
            (p.replicas(), p.load, model.with_choices(&p.choices()))
        }
        None => (std::collections::BTreeMap::new(), 1.0, model.clone()),
    };
    if load.is_some() || plan.is_none() {
        l = parse_load(load)?;
    }
    r.extend(parse_replicas(model, replicas)?);
    Ok((l, r, configured))
}

/// A whole number from `min`, with `_` allowed between digits; a usage error otherwise.
fn parse_count(flag: &str, value: &str, min: u64, what: &str) -> Result<u64, ExitCode> {
    let digits: String = value.trim().chars().filter(|&c| c != '_').collect();
    match digits.parse::<u64>() {
        Ok(v) if v >= min && !digits.is_empty() => Ok(v),
        _ => Err(usage(
            &format!("`--{flag} {value}` is not {what}"),
            Some(format!(
                "write a whole number from {min}, e.g. `--{flag} 20000`"
            )),
        )),
    }
}

/// `kendall test`: every scenario of every file, one line each; exit 1 when one fails or a
/// design does not check.
fn test(
    files: &[String],
    junit: Option<&str>,
    simulate: Option<SimulateArgs>,
    replicas: Option<&str>,
    plan: Option<&str>,
    color: Color,
) -> ExitCode {
    let mut engine = kendall::scenario::Engine::Predict;
    if let Some(args) = &simulate {
        match simulate_run_options(args) {
            Ok(o) => engine = kendall::scenario::Engine::Simulate(o),
            Err(code) => return code,
        }
    }
    let mut failed = false;
    let mut results = Vec::new();
    let mut stdout = String::new();
    for file in files {
        let compiled = match read_and_compile(file) {
            Ok(c) => c,
            Err(code) => return code,
        };
        let Some(model) = &compiled.model else {
            report(
                &compiled.sources,
                compiled.diagnostics.iter(),
                Format::Human,
                render_options(color),
                None,
            );
            failed = true;
            continue;
        };
        let (base, configured) = match scenario_replicas(model, file, replicas, plan) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let model = &configured;
        if let kendall::scenario::Engine::Simulate(o) = &mut engine
            && let Err(code) = read_traces(model, file, o)
        {
            return code;
        }
        let outcomes = kendall::scenario::run(model, &base, &engine);
        failed |= outcomes.iter().any(|o| !o.passed());
        stdout.push_str(&kendall::scenario::report::lines(file, &outcomes));
        let system = model.system.clone().unwrap_or_default();
        results.push((file.clone(), system, outcomes));
    }
    let all: Vec<kendall::scenario::Outcome> =
        results.iter().flat_map(|(_, _, o)| o.clone()).collect();
    stdout.push_str(&kendall::scenario::report::totals(&all));
    print!("{stdout}");
    if let Some(path) = junit {
        let xml = kendall::scenario::junit::to_xml(&results);
        if let Err(e) = std::fs::write(path, xml) {
            return usage(
                &format!("cannot write `{path}`: {}", kendall::resolve::io_reason(&e)),
                None,
            );
        }
    }
    if failed {
        ExitCode::from(EXIT_DESIGN)
    } else {
        ExitCode::SUCCESS
    }
}

/// The replicas scenarios start from, and the model with its choices applied: `--replicas`
/// over the design's (its first GPU types and lowest batch maxima), or the plan's (`--plan`,
/// else planned now). A design no plan can satisfy is tested as designed, with a note.
fn scenario_replicas(
    model: &kendall::model::Model,
    file: &str,
    replicas: Option<&str>,
    plan: Option<&str>,
) -> Result<
    (
        std::collections::BTreeMap<String, u32>,
        kendall::model::Model,
    ),
    ExitCode,
> {
    if replicas.is_some() {
        return Ok((parse_replicas(model, replicas)?, model.clone()));
    }
    if let Some(path) = plan {
        let p = plan_cli::load_plan(model, path)?;
        return Ok((p.replicas(), model.with_choices(&p.choices())));
    }
    match kendall::plan::plan(model, &kendall::plan::PlanOptions::default()) {
        Ok(p) => Ok((p.replicas(), model.with_choices(&p.choices()))),
        Err(e) => {
            let first = e
                .reasons
                .first()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            eprintln!(
                "note: no plan for `{file}` meets every constraint{first}; its scenarios run at the design's replicas (pins and lower bounds)"
            );
            Ok((std::collections::BTreeMap::new(), model.clone()))
        }
    }
}

/// `--requests`, `--replications` and `--seed`, checked.
fn simulate_run_options(args: &SimulateArgs) -> Result<kendall::simulate::Options, ExitCode> {
    Ok(kendall::simulate::Options {
        requests: parse_count("requests", &args.requests, 1, "a request count")?,
        replications: u32::try_from(parse_count(
            "replications",
            &args.replications,
            1,
            "a replication count",
        )?)
        .map_err(|_| {
            usage(
                &format!("`--replications {}` is too many", args.replications),
                Some("run at most 4294967295 replications".into()),
            )
        })?,
        seed: parse_count("seed", &args.seed, 0, "a seed")?,
        ..Default::default()
    })
}

/// Reads the arrival times of every `trace(…)` workload, relative to the design `file`.
fn read_traces(
    model: &kendall::model::Model,
    file: &str,
    opts: &mut kendall::simulate::Options,
) -> Result<(), ExitCode> {
    // Trace workloads replay their files, read relative to the design as the checker reads them.
    for w in model.workloads.iter().filter(|w| w.job.is_none()) {
        let kendall::model::Arrivals::Trace { file: trace, .. } = &w.arrivals else {
            continue;
        };
        let path = kendall::resolve::join(file, trace);
        let times = std::fs::read(&path)
            .map_err(|e| format!("cannot read `{path}`: {}", kendall::resolve::io_reason(&e)))
            .and_then(|b| {
                kendall::simulate::parse_trace(&b).map_err(|e| match e.line {
                    0 => format!("`{path}`: {}", e.message),
                    n => format!("`{path}` line {n}: {}", e.message),
                })
            });
        match times {
            Ok(t) => {
                opts.traces.insert(w.name.clone(), t);
            }
            Err(message) => {
                return Err(usage(
                    &message,
                    Some(format!("workload `{}` replays this trace", w.name)),
                ));
            }
        }
    }
    Ok(())
}

fn simulate(file: &str, args: &SimulateArgs, format: Format, color: Color) -> ExitCode {
    let parsed = simulate_run_options(args);
    let mut opts = match parsed {
        Ok(o) => o,
        Err(code) => return code,
    };
    let compiled = match read_and_compile(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = render_options(color);
    let Some(model) = &compiled.model else {
        simulation_report(&compiled, format, options, None);
        return ExitCode::from(EXIT_DESIGN);
    };
    if model.system.is_none() {
        eprintln!("note: `{file}` is a library module (no `system`): nothing to simulate");
        return ExitCode::SUCCESS;
    }
    let configured;
    let model = match with_plan(
        model,
        args.plan.as_deref(),
        args.load.as_deref(),
        args.replicas.as_deref(),
    ) {
        Ok((l, r, m)) => {
            (opts.load, opts.replicas) = (l, r);
            configured = m;
            &configured
        }
        Err(code) => return code,
    };
    if let Err(code) = read_traces(model, file, &mut opts) {
        return code;
    }
    let total = opts.requests.saturating_mul(u64::from(opts.replications));
    // A progress bar only where someone watches, and only for runs long enough to wait on.
    let bar = (std::io::stderr().is_terminal() && total >= 1_000_000).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "simulating {bar:40} {human_pos}/{human_len} requests, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let result = kendall::simulate::simulate_with_progress(model, &opts, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let simulation = match result {
        Ok(s) => s,
        Err(kendall::simulate::Error::NoRequestWorkloads) => {
            simulation_report(&compiled, format, options, None);
            eprintln!("note: `{file}` has no request workloads: nothing to simulate");
            return ExitCode::SUCCESS;
        }
        Err(e @ kendall::simulate::Error::InvalidOptions(_)) => {
            return usage(
                &e.to_string(),
                Some("lower `--replicas`, or simulate a smaller design".into()),
            );
        }
        Err(e) => {
            simulation_report(&compiled, format, options, None);
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_DESIGN);
        }
    };
    simulation_report(&compiled, format, options, Some(&simulation));
    let failed = kendall::simulate::failed(&simulation);
    std::mem::forget(compiled);
    if failed {
        ExitCode::from(EXIT_DESIGN)
    } else {
        ExitCode::SUCCESS
    }
}

/// The design's diagnostics and the simulation: rendered to stderr and a table to stdout, or
/// one JSON document on stdout.
fn simulation_report(
    compiled: &kendall::Compiled,
    format: Format,
    options: RenderOptions,
    simulation: Option<&kendall::simulate::Simulation>,
) {
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Json => {
            let mut out =
                simulation.map_or(serde_json::json!({}), kendall::simulate::report::to_json);
            let found = compiled.diagnostics.iter().map(|d| (&compiled.sources, d));
            out["diagnostics"] = diagnostics::to_json(found)["diagnostics"].clone();
            let _ = writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&out).expect("json")
            );
        }
        Format::Human => {
            let mut stderr = std::io::stderr().lock();
            for d in compiled.diagnostics.iter() {
                let _ = write!(
                    stderr,
                    "{}",
                    diagnostics::render(d, &compiled.sources, options)
                );
            }
            if let Some(s) = simulation {
                let _ = write!(stdout, "{}", kendall::simulate::report::to_table(s));
            }
        }
    }
}

struct CompareArgs {
    files: [String; 2],
    load: String,
    steps: String,
    scale: String,
    min_replicas: String,
    replicas: [Option<String>; 2],
    simulate: bool,
    requests: String,
    replications: String,
    seed: String,
    format: Format,
    color: Color,
}

/// `--load 0.5x..4x` cut into `--steps` points (or one load), checked.
fn parse_loads(load: &str, steps: &str) -> Result<Vec<f64>, ExitCode> {
    let steps = parse_count("steps", steps, 1, "a number of steps")? as usize;
    kendall::compare::parse_load_range(load, steps).map_err(|message| {
        usage(
            &message,
            Some("write a load like `2x`, or a range like `0.5x..4x`".into()),
        )
    })
}

/// `kendall report FILE --out report.html`: the self-contained page. An existing file is
/// replaced only when kendall wrote it (or with `--force`), and atomically.
#[allow(clippy::too_many_arguments)]
fn report_page(
    file: &str,
    out: &str,
    replicas: Option<&str>,
    plan: Option<&str>,
    load: &str,
    steps: &str,
    force: bool,
    color: Color,
) -> ExitCode {
    let loads = match parse_loads(load, steps) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let compiled = match read_and_compile(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(model) = compiled.model.as_ref().filter(|m| m.system.is_some()) else {
        report(
            &compiled.sources,
            compiled.diagnostics.iter(),
            Format::Human,
            render_options(color),
            None,
        );
        if compiled.model.is_some() {
            eprintln!("note: `{file}` is a library module (no `system`): nothing to report");
        }
        return ExitCode::from(EXIT_DESIGN);
    };
    // `--replicas` over the design's; else the plan's (`--plan`, or planned now).
    let (replicas_map, source, plan) = if replicas.is_some() {
        match parse_replicas(model, replicas) {
            Ok(r) => (
                r,
                format!("replicas {}", replicas.unwrap_or_default()),
                None,
            ),
            Err(code) => return code,
        }
    } else {
        let planned = match plan {
            Some(path) => plan_cli::load_plan(model, path).map(Some),
            None => Ok(kendall::plan::plan(model, &kendall::plan::PlanOptions::default()).ok()),
        };
        match planned {
            Ok(Some(p)) => {
                let source = match plan {
                    Some(path) => format!("replicas from the plan `{path}`"),
                    None => "replicas from kendall's plan".to_string(),
                };
                (p.replicas(), source, Some(p))
            }
            Ok(None) => {
                eprintln!(
                    "note: no plan for `{file}` meets every constraint (see `kendall plan`); the page shows the design's replicas"
                );
                let source =
                    "replicas as designed (pins and lower bounds; no plan meets every constraint)";
                (Default::default(), source.to_string(), None)
            }
            Err(code) => return code,
        }
    };
    // The plan's GPU types and batch maxima; the design's first and lowest without a plan.
    let configured = match &plan {
        Some(p) => model.with_choices(&p.choices()),
        None => model.clone(),
    };
    let model = &configured;
    let inputs = kendall::report::Inputs {
        file: file.to_string(),
        replicas_source: source,
        replicas: replicas_map,
        loads,
        plan,
    };
    let html = match kendall::report::render(model, &inputs) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_DESIGN);
        }
    };
    if let Ok(existing) = std::fs::read_to_string(out)
        && !force
        && !existing.contains("<meta name=\"generator\" content=\"kendall")
    {
        return usage(
            &format!("`{out}` exists and kendall did not write it"),
            Some("choose another `--out`, or pass `--force` to replace it".into()),
        );
    }
    if let Err(e) = cli::write_atomically(std::path::Path::new(out), html.as_bytes()) {
        return usage(
            &format!("cannot write `{out}`: {}", kendall::resolve::io_reason(&e)),
            None,
        );
    }
    eprintln!("wrote {out}");
    ExitCode::SUCCESS
}

/// `kendall compare A B`: both designs predicted (and simulated) at every load.
fn compare(args: &CompareArgs) -> ExitCode {
    use kendall::compare::{self, Scaling};
    let loads = match parse_loads(&args.load, &args.steps) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let scaling = match args.scale.trim() {
        "designed" => Scaling::AsDesigned,
        other => {
            let target = other
                .strip_suffix('%')
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v > 0.0 && *v <= 100.0);
            let Some(percent) = target else {
                return usage(
                    &format!("`--scale {other}` is neither a utilisation nor `designed`"),
                    Some("write a utilisation like `--scale 70%`, or `--scale designed`".into()),
                );
            };
            let min_replicas =
                match parse_count("min-replicas", &args.min_replicas, 1, "a replica count") {
                    Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
                    Err(code) => return code,
                };
            Scaling::Target {
                utilization: percent / 100.0,
                min_replicas,
            }
        }
    };
    let simulate = if args.simulate {
        let parsed = (|| {
            Ok::<_, ExitCode>(kendall::simulate::Options {
                requests: parse_count("requests", &args.requests, 1, "a request count")?,
                replications: u32::try_from(parse_count(
                    "replications",
                    &args.replications,
                    1,
                    "a replication count",
                )?)
                .unwrap_or(u32::MAX),
                seed: parse_count("seed", &args.seed, 0, "a seed")?,
                ..Default::default()
            })
        })();
        match parsed {
            Ok(o) => Some(o),
            Err(code) => return code,
        }
    } else {
        None
    };
    let options = render_options(args.color);
    let mut compiled = Vec::new();
    for file in &args.files {
        let c = match read_and_compile(file) {
            Ok(c) => c,
            Err(code) => return code,
        };
        if c.diagnostics.has_errors() || c.model.is_none() {
            for d in c.diagnostics.iter() {
                eprint!("{}", diagnostics::render(d, &c.sources, options));
            }
            return ExitCode::from(EXIT_DESIGN);
        }
        compiled.push(c);
    }
    let models: Vec<&kendall::model::Model> = compiled
        .iter()
        .map(|c| c.model.as_ref().expect("checked above"))
        .collect();
    let mut replicas = Vec::new();
    for (model, overrides) in models.iter().zip(&args.replicas) {
        match parse_replicas(model, overrides.as_deref()) {
            Ok(r) => replicas.push(r),
            Err(code) => return code,
        }
    }
    let result = compare::compare(
        models[0],
        models[1],
        &loads,
        &replicas[0],
        &replicas[1],
        &compare::Options { scaling, simulate },
    );
    let mut comparison = match result {
        Ok(c) => c,
        Err(
            e @ (compare::Error::NoLoads
            | compare::Error::InvalidLoad(_)
            | compare::Error::InvalidScaling(_)
            | compare::Error::UnknownService { .. }
            | compare::Error::ExternalReplicas { .. }),
        ) => return usage(&e.to_string(), None),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_DESIGN);
        }
    };
    // Name the designs by their files, which the reader typed.
    comparison.designs = args.files.clone();
    match args.format {
        Format::Human => print!("{}", compare::to_table(&comparison)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&compare::to_json(&comparison)).expect("JSON serialises")
        ),
    }
    std::mem::forget(compiled);
    ExitCode::SUCCESS
}

/// Reads and compiles one design; an unreadable file is a usage error.
fn read_and_compile(file: &str) -> Result<kendall::Compiled, ExitCode> {
    match std::fs::read(file) {
        Ok(bytes) => Ok(kendall::compile(file, &bytes, &FsLoader)),
        Err(e) => Err(usage(
            &format!("cannot read `{file}`: {}", kendall::resolve::io_reason(&e)),
            None,
        )),
    }
}
