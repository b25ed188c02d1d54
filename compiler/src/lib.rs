//! kendall: a compiler and capacity planner for ML systems made of microservices.
//!
//! The pipeline is a chain of pure functions over named representations:
//!
//! ```text
//! text ──syntax──▶ Ast ──resolve──▶ Resolved ──check──▶ Model
//! ```
//!
//! * [`syntax`] parses one file (pest) into a spanned AST;
//! * [`resolve`] loads `use` imports (the stdlib is embedded) and `extends` chains;
//! * [`check`] checks names, units, ranges and call cycles and builds the SI [`model::Model`].
//!
//! Every stage reports [`diagnostics::Diagnostic`]s with stable codes and keeps going, so one
//! run shows every error of a design. The core does no I/O: files come through a
//! [`resolve::SourceLoader`]; the `kendall` binary does the rest.
//!
//! ```
//! use kendall::resolve::MemoryLoader;
//!
//! let design = r#"
//!     system shop {
//!       workload browse { entry web.page  rate 120 rpm  slo p99 < 200ms }
//!       service web { endpoint page { time exp(4ms)  call db } }
//!       service db { time lognormal(mean 2ms, cv 1.5) }
//!     }
//! "#;
//! let compiled = kendall::compile("shop.arch", design.as_bytes(), &MemoryLoader::new());
//! assert!(compiled.diagnostics.is_empty());
//! let model = compiled.model.unwrap();
//! assert_eq!(model.workloads[0].rate_rps, 2.0); // 120 rpm
//! assert_eq!(model.workloads[0].slos[0].target_s, 0.2);
//! assert_eq!(model.service("web").unwrap().endpoints[0].steps.len(), 1);
//!
//! // A typo is an error with a code, a span and a suggestion.
//! let typo = design.replace("call db", "call dbb");
//! let compiled = kendall::compile("shop.arch", typo.as_bytes(), &MemoryLoader::new());
//! let error = compiled.diagnostics.iter().next().unwrap();
//! assert_eq!(error.code.id, "E0302");
//! assert_eq!(error.help.as_deref(), Some("did you mean `db`?"));
//! ```
#![forbid(unsafe_code)]

pub mod check;
pub mod compare;
pub mod diagnostics;
pub mod draw;
pub mod format;
pub mod generate;
pub mod model;
pub mod plan;
pub mod queueing;
pub mod report;
pub mod resolve;
pub mod scenario;
pub mod simulate;
pub mod source;
pub mod syntax;

use diagnostics::Diagnostics;
use model::Model;
use resolve::SourceLoader;
use source::SourceMap;

/// The result of compiling one design: every file read, the model (when there is no error),
/// and all diagnostics, errors and warnings, in source order.
#[derive(Debug)]
pub struct Compiled {
    pub sources: SourceMap,
    pub model: Option<Model>,
    pub diagnostics: Diagnostics,
}

/// Compiles the design `name` whose contents are `bytes`; its imports and data files are read
/// through `loader`, relative to `name`.
pub fn compile(name: &str, bytes: &[u8], loader: &dyn SourceLoader) -> Compiled {
    compile_with(name, bytes, loader, true)
}

/// [`compile`], choosing whether large designs may use a second thread. The result is the
/// same either way (tests check it); only the time differs.
pub fn compile_with(
    name: &str,
    bytes: &[u8],
    loader: &dyn SourceLoader,
    parallel: bool,
) -> Compiled {
    let mut sources = SourceMap::new();
    let (resolved, mut diagnostics) = resolve::resolve(name, bytes, loader, &mut sources, parallel);
    let mut model = None;
    if let Some(resolved) = resolved {
        let (m, checked) = check::check(&resolved, &sources, loader, parallel);
        diagnostics.extend(checked);
        if !diagnostics.has_errors() {
            model = m;
        }
    }
    Compiled {
        sources,
        model,
        diagnostics: diagnostics.sorted(),
    }
}
