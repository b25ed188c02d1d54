//! `kendall generate`: the binary's side: reads the design, writes the generated files
//! atomically next to a manifest, never over a file its user edited (unless `--force`), and
//! `--check` compares instead of writing.

use super::{Color, EXIT_DESIGN, read_and_compile, render_options, usage};
use kendall::diagnostics;
use kendall::generate::manifest::{self, Action, Manifest};
use kendall::generate::{self, Allocation, Target};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct Args {
    pub file: String,
    pub target: Target,
    pub out: String,
    pub check: bool,
    pub force: bool,
    /// `--plan plan.json`; without it the design is planned first.
    pub plan: Option<String>,
    pub color: Color,
}

pub fn run(args: &Args) -> ExitCode {
    let compiled = match read_and_compile(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = render_options(args.color);
    for d in compiled.diagnostics.iter() {
        eprint!("{}", diagnostics::render(d, &compiled.sources, options));
    }
    let Some(model) = compiled
        .model
        .as_ref()
        .filter(|_| !compiled.diagnostics.has_errors())
    else {
        return ExitCode::from(EXIT_DESIGN);
    };
    let plan = match crate::plan_cli::plan_or_load(model, args.plan.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // The plan's GPU types and batch maxima, for the manifests.
    let configured = model.with_choices(&plan.choices());
    let model = &configured;
    let allocation = Allocation::from_plan(model, &plan);
    let files = match generate::generate(model, &allocation, args.target) {
        Ok(f) => f,
        Err(found) => {
            for d in &found {
                eprint!("{}", diagnostics::render(d, &compiled.sources, options));
            }
            eprintln!(
                "error: `{}` cannot be generated: {} error{}",
                args.file,
                found.len(),
                if found.len() == 1 { "" } else { "s" }
            );
            return ExitCode::from(EXIT_DESIGN);
        }
    };
    let out = PathBuf::from(&args.out);
    if args.check {
        check(&out, &files)
    } else {
        write(&out, &files, args.force)
    }
}

fn read(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// `--check`: a unified diff of every file whose bytes on disk differ from what would be
/// written; exit 1 when there is one.
fn check(out: &Path, files: &[generate::File]) -> ExitCode {
    let mut drift = 0;
    let mut stdout = std::io::stdout().lock();
    for f in files {
        let current = read(&out.join(&f.path)).unwrap_or_default();
        if current == f.bytes {
            continue;
        }
        drift += 1;
        let old = String::from_utf8_lossy(&current);
        let new = String::from_utf8_lossy(&f.bytes);
        let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
        let _ = write!(
            stdout,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
        );
    }
    if drift == 0 {
        eprintln!("{} files up to date in `{}`", files.len(), out.display());
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {drift} of {} generated files differ from `{}`",
            files.len(),
            out.display()
        );
        eprintln!("help: run `kendall generate` without `--check` to update them");
        ExitCode::from(EXIT_DESIGN)
    }
}

fn write(out: &Path, files: &[generate::File], force: bool) -> ExitCode {
    let manifest_path = out.join(manifest::FILE_NAME);
    let previous = std::fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|t| Manifest::parse(&t))
        .unwrap_or_default();
    let on_disk = |p: &str| read(&out.join(p));
    let (actions, next) = manifest::decide(files, &on_disk, &previous, force);
    let mut counts = [0usize; 4];
    for (f, action) in files.iter().zip(&actions) {
        let path = out.join(&f.path);
        match action {
            Action::Write | Action::Overwrite => {
                if let Err(e) = crate::cli::write_atomically(&path, &f.bytes) {
                    return usage(
                        &format!(
                            "cannot write `{}`: {}",
                            path.display(),
                            kendall::resolve::io_reason(&e)
                        ),
                        None,
                    );
                }
                if *action == Action::Overwrite {
                    eprintln!(
                        "warning: overwrote `{}`, which was edited (--force)",
                        path.display()
                    );
                }
            }
            Action::Kept => eprintln!(
                "warning: kept `{}`: it was edited since kendall wrote it",
                path.display()
            ),
            Action::Unchanged => {}
        }
        counts[*action as usize] += 1;
    }
    if let Err(e) = crate::cli::write_atomically(&manifest_path, next.to_json().as_bytes()) {
        return usage(
            &format!(
                "cannot write `{}`: {}",
                manifest_path.display(),
                kendall::resolve::io_reason(&e)
            ),
            None,
        );
    }
    let [written, unchanged, kept, overwritten] = counts;
    eprintln!(
        "generated {} {} in `{}`: {} written, {} unchanged, {} kept{}",
        files.len(),
        if files.len() == 1 { "file" } else { "files" },
        out.display(),
        written + overwritten,
        unchanged,
        kept,
        if kept > 0 {
            " (pass --force to overwrite edited files)"
        } else {
            ""
        }
    );
    ExitCode::SUCCESS
}
