//! The `kendall` command line. All I/O lives here; the library is pure.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use kendall::diagnostics::{self, RenderOptions, codes};
use kendall::resolve::FsLoader;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

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
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// When to colour the output
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Print the page that explains a diagnostic code, e.g. `kendall explain E0302`
    Explain {
        /// The code, such as E0302
        code: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
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
        Command::Predict {
            file,
            replicas,
            load,
            format,
            color,
        } => predict(&file, replicas.as_deref(), load.as_deref(), format, color),
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

fn predict(
    file: &str,
    replicas: Option<&str>,
    load: Option<&str>,
    format: Format,
    color: Color,
) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            return usage(
                &format!("cannot read `{file}`: {}", kendall::resolve::io_reason(&e)),
                None,
            );
        }
    };
    let compiled = kendall::compile(file, &bytes, &FsLoader);
    let options = RenderOptions {
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
    };
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
    if let Some(load) = load {
        match load.trim_end_matches('x').parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => opts.load = v,
            _ => {
                return usage(
                    &format!("`--load {load}` is not a load multiplier"),
                    Some("write a positive factor such as `1.5x`".into()),
                );
            }
        }
    }
    for pair in replicas
        .into_iter()
        .flat_map(|r| r.split(','))
        .filter(|p| !p.trim().is_empty())
    {
        let Some((name, n)) = pair.split_once('=') else {
            return usage(
                &format!("`{pair}` is not `SERVICE=N`"),
                Some("write `--replicas api=4,ranker=2`".into()),
            );
        };
        let (name, n) = (name.trim(), n.trim());
        match model.service(name) {
            None => {
                let names = model.services.iter().map(|s| s.name.as_str());
                return usage(
                    &format!("no service named `{name}`"),
                    diagnostics::did_you_mean(name, names),
                );
            }
            Some(s) if s.replicas.is_none() => {
                return usage(&format!("`{name}` is external: it has no replicas"), None);
            }
            Some(_) => {}
        }
        match n.parse::<u32>() {
            Ok(v) if v > 0 => {
                opts.replicas.insert(name.to_string(), v);
            }
            _ => {
                return usage(
                    &format!("`{n}` is not a replica count"),
                    Some("replicas are whole numbers from 1".into()),
                );
            }
        }
    }
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
