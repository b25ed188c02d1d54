//! `kendall generate`: a design and its allocation → the files a team deploys.
//!
//! ```text
//! Model + Allocation ──context──▶ Context ──render (minijinja, templates/)──▶ [(path, bytes)]
//! ```
//!
//! * [`allocation`]: replicas, autoscaling bounds and targets per service;
//! * [`context`]: the validated, plain records the templates read;
//! * [`render`]: the embedded templates and the quoting formatter ([`quote`]);
//! * [`manifest`]: the record of what was generated, which keeps user edits from being
//!   overwritten.
//!
//! Generation is pure and deterministic: the same design gives the same bytes. Writing the
//! files (atomically, never over a user's edit) is the binary's job.

pub mod allocation;
pub mod context;
pub mod manifest;
pub mod quote;
pub mod render;
pub mod rust;

pub use allocation::{Allocation, Placement};

use crate::diagnostics::Diagnostic;
use crate::model::Model;
use minijinja::Environment;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Kubernetes,
    Compose,
    /// A Cargo workspace of axum service skeletons.
    Rust,
}

/// One generated file: a `/`-separated path relative to the output directory, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The files of `target` for `model` with `alloc`, sorted by path; or every reason the design
/// cannot be generated (names that are not valid where they go, values no target can hold).
pub fn generate(
    model: &Model,
    alloc: &Allocation,
    target: Target,
) -> Result<Vec<File>, Vec<Diagnostic>> {
    let ctx = context::build(model, alloc)?;
    let env = render::environment();
    let mut files = match target {
        Target::Kubernetes => kubernetes(&env, &ctx),
        Target::Compose => compose(&env, &ctx),
        Target::Rust => rust_workspace(&env, &ctx, &rust::build(model))?,
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn render<S: Serialize>(env: &Environment, name: &str, ctx: S) -> String {
    // The templates are fixed and every value is validated before rendering, so a failure is
    // a bug in kendall, not in the design.
    env.get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(ctx))))
        .unwrap_or_else(|e| panic!("template {name} failed: {e:#}"))
}

fn file(path: impl Into<String>, text: String) -> File {
    File {
        path: path.into(),
        bytes: text.into_bytes(),
    }
}

fn kubernetes(env: &Environment, ctx: &context::Context) -> Vec<File> {
    let mut files = vec![file(
        "namespace.yaml",
        render(env, "kubernetes/namespace.yaml", ctx),
    )];
    for unit in &ctx.units {
        let args = minijinja::context! { ctx => minijinja::Value::from(minijinja::value::Serde(ctx)), unit => minijinja::Value::from(minijinja::value::Serde(unit)) };
        let mut docs = vec![render(env, "kubernetes/workload.yaml", &args)];
        for (t, wanted) in [
            (
                "kubernetes/service.yaml",
                unit.port.is_some() && unit.job.is_none(),
            ),
            ("kubernetes/configmap.yaml", true),
            ("kubernetes/hpa.yaml", unit.hpa.is_some()),
            ("kubernetes/pdb.yaml", unit.pdb),
        ] {
            if wanted {
                docs.push(render(env, t, &args));
            }
        }
        files.push(file(format!("{}.yaml", unit.name), docs.join("---\n")));
    }
    files.push(file(
        "networkpolicies.yaml",
        render(env, "kubernetes/networkpolicy.yaml", ctx),
    ));
    let mut resources: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    resources.sort();
    files.push(file(
        "kustomization.yaml",
        render(env, "kubernetes/kustomization.yaml", minijinja::context! { ctx => minijinja::Value::from(minijinja::value::Serde(ctx)), resources => resources }),
    ));
    files
}

fn compose(env: &Environment, ctx: &context::Context) -> Vec<File> {
    let mut files = vec![file(
        "compose.yaml",
        render(env, "compose/compose.yaml", ctx),
    )];
    if ctx.project.is_some() {
        files.push(file(".env", render(env, "compose/env", ctx)));
    }
    files
}

/// The Cargo workspace: `Cargo.toml` and `.dockerignore` at the root, and per service
/// `crates/SERVICE/{Cargo.toml,Dockerfile,src/*.rs}`.
fn rust_workspace(
    env: &Environment,
    ctx: &context::Context,
    ws: &rust::Workspace,
) -> Result<Vec<File>, Vec<Diagnostic>> {
    if ws.crates.is_empty() {
        return Err(vec![
            Diagnostic::new(
                crate::diagnostics::codes::MISSING_FIELD,
                format!("`{}` has no service to write a skeleton for", ctx.system),
            )
            .help("the rust target writes one crate per `kind service`; databases, queues and jobs run their own images"),
        ]);
    }
    let root = minijinja::context! {
        system => &ctx.system,
        crates => minijinja::Value::from(minijinja::value::Serde(&ws.crates)),
    };
    let mut files = vec![
        file("Cargo.toml", render(env, "rust/Cargo.toml", &root)),
        file(".dockerignore", render(env, "rust/dockerignore", &root)),
    ];
    for c in &ws.crates {
        let args = minijinja::context! {
            system => &ctx.system,
            c => minijinja::Value::from(minijinja::value::Serde(c)),
        };
        for name in [
            "Cargo.toml",
            "Dockerfile",
            "src/main.rs",
            "src/lib.rs",
            "src/config.rs",
            "src/clients.rs",
            "src/handlers.rs",
            "src/metrics.rs",
        ] {
            files.push(file(
                format!("{}/{name}", c.dir),
                render(env, &format!("rust/crate/{name}"), &args),
            ));
        }
    }
    Ok(files)
}
