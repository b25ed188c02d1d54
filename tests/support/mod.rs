//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod brute;
pub mod design;

use kendall::resolve::SourceLoader;
use std::path::PathBuf;

/// The repository root (tests run from `compiler/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads files relative to a directory, so diagnostics show short, stable paths.
pub struct DirLoader(pub PathBuf);

impl SourceLoader for DirLoader {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.0.join(path))
    }
}

/// Runs the `kendall` binary from the repository root, without the caller's `COLUMNS` (the
/// width of its tables and diagnostics stays the default).
pub fn kendall(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kendall"))
        .args(args)
        .current_dir(root())
        .env_remove("COLUMNS")
        .output()
        .expect("kendall runs")
}

/// Compiles `dir/name` with paths shown relative to `dir`.
pub fn compile_in(dir: &std::path::Path, name: &str) -> kendall::Compiled {
    let loader = DirLoader(dir.to_path_buf());
    let bytes = loader.read(name).expect("fixture is readable");
    kendall::compile(name, &bytes, &loader)
}

/// Every diagnostic rendered without colour at a fixed width.
pub fn render_all(c: &kendall::Compiled) -> String {
    let options = kendall::diagnostics::RenderOptions {
        width: 100,
        color: false,
    };
    c.diagnostics
        .iter()
        .map(|d| kendall::diagnostics::render(d, &c.sources, options))
        .collect::<Vec<_>>()
        .join("\n")
}
