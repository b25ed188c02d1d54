//! `kendall fmt`: rewrites designs in the canonical layout (see docs/fmt.md).

use crate::{Color, EXIT_DESIGN, EXIT_USAGE, render_options};
use kendall::diagnostics;
use kendall::source::SourceMap;
use std::io::{Read, Write};
use std::process::ExitCode;

/// What became of one file.
enum Outcome {
    Unchanged,
    Changed,
    /// A syntax error or unreadable file, already reported.
    Failed(u8),
}

pub fn run(files: &[String], check: bool, color: Color) -> ExitCode {
    let stdin = files.iter().any(|f| f == "-");
    if stdin && files.len() > 1 {
        eprintln!("error: `-` formats stdin to stdout and takes no other file");
        return ExitCode::from(EXIT_USAGE);
    }
    if stdin {
        return from_stdin(check, color);
    }
    let mut worst = 0;
    let mut changed = 0;
    for file in files {
        match one(file, check, color) {
            Outcome::Unchanged => {}
            Outcome::Changed => changed += 1,
            Outcome::Failed(code) => worst = worst.max(code),
        }
    }
    if worst > 0 {
        return ExitCode::from(worst);
    }
    if check && changed > 0 {
        let s = if changed == 1 { "" } else { "s" };
        eprintln!("{changed} file{s} would be reformatted");
        return ExitCode::from(EXIT_DESIGN);
    }
    ExitCode::SUCCESS
}

/// The canonical text, or the parser's diagnostics rendered on stderr.
fn formatted(name: &str, text: String, color: Color) -> Result<(String, String), u8> {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    let text = sources.get(id).text.clone();
    match kendall::format::format(id, &text) {
        Ok(out) => Ok((text, out)),
        Err(errors) => {
            let options = render_options(color);
            let mut stderr = std::io::stderr().lock();
            for d in &errors {
                let _ = write!(stderr, "{}", diagnostics::render(d, &sources, options));
            }
            let _ = writeln!(stderr, "`{name}` has syntax errors: not formatted");
            Err(EXIT_DESIGN)
        }
    }
}

fn decode(name: &str, bytes: Vec<u8>) -> Result<String, u8> {
    String::from_utf8(bytes).map_err(|e| {
        eprintln!(
            "error: `{name}` is not valid utf-8 (byte {}): not formatted",
            e.utf8_error().valid_up_to()
        );
        EXIT_DESIGN
    })
}

fn one(file: &str, check: bool, color: Color) -> Outcome {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "error: cannot read `{file}`: {}",
                kendall::resolve::io_reason(&e)
            );
            return Outcome::Failed(EXIT_USAGE);
        }
    };
    let (before, after) = match decode(file, bytes).and_then(|t| formatted(file, t, color)) {
        Ok(pair) => pair,
        Err(code) => return Outcome::Failed(code),
    };
    if before == after {
        return Outcome::Unchanged;
    }
    if check {
        print!("{}", diff(file, &before, &after));
        return Outcome::Changed;
    }
    match replace(file, &after) {
        Ok(()) => Outcome::Changed,
        Err(e) => {
            eprintln!(
                "error: cannot write `{file}`: {}",
                kendall::resolve::io_reason(&e)
            );
            Outcome::Failed(EXIT_USAGE)
        }
    }
}

fn from_stdin(check: bool, color: Color) -> ExitCode {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!(
            "error: cannot read stdin: {}",
            kendall::resolve::io_reason(&e)
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let (before, after) =
        match decode("<stdin>", bytes).and_then(|t| formatted("<stdin>", t, color)) {
            Ok(pair) => pair,
            Err(code) => return ExitCode::from(code),
        };
    if check {
        if before == after {
            return ExitCode::SUCCESS;
        }
        print!("{}", diff("<stdin>", &before, &after));
        return ExitCode::from(EXIT_DESIGN);
    }
    print!("{after}");
    ExitCode::SUCCESS
}

/// A unified diff from the file as it is to the file formatted.
fn diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

fn replace(path: &str, text: &str) -> std::io::Result<()> {
    super::write_atomically(std::path::Path::new(path), text.as_bytes())
}
