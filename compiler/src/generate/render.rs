//! The template engine: minijinja with the templates embedded, and a formatter that quotes
//! every string a template prints for the file's format. A template cannot print a string
//! unquoted except through the `ident` filter, which lets only `[A-Za-z0-9_-]` through; a
//! value is never parsed as template source, so `{{` in a design is inert text.

use super::quote;
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use std::borrow::Cow;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

/// Every template, by its path under `templates/`.
pub const TEMPLATES: &[(&str, &str)] = templates![
    "kubernetes/namespace.yaml",
    "kubernetes/workload.yaml",
    "kubernetes/service.yaml",
    "kubernetes/configmap.yaml",
    "kubernetes/hpa.yaml",
    "kubernetes/pdb.yaml",
    "kubernetes/networkpolicy.yaml",
    "kubernetes/kustomization.yaml",
    "compose/compose.yaml",
    "compose/env",
    "rust/Cargo.toml",
    "rust/dockerignore",
    "rust/crate/Cargo.toml",
    "rust/crate/Dockerfile",
    "rust/crate/src/main.rs",
    "rust/crate/src/lib.rs",
    "rust/crate/src/config.rs",
    "rust/crate/src/clients.rs",
    "rust/crate/src/handlers.rs",
    "rust/crate/src/metrics.rs",
];

/// How a template's printed strings are quoted, by where the template lives.
fn mode(name: &str) -> &'static str {
    if name.starts_with("compose/") && name.ends_with(".yaml") {
        "compose"
    } else if name.ends_with(".yaml") {
        "yaml"
    } else if name.ends_with(".rs") {
        "rust"
    } else if name.ends_with(".toml") {
        "toml"
    } else {
        // Dockerfiles and `.env`: only identifiers and numbers may be printed.
        "plain"
    }
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.set_auto_escape_callback(|name| AutoEscape::Custom(Cow::Borrowed(mode(name))));
    env.set_formatter(|out, state, value| {
        let mode = match state.auto_escape() {
            AutoEscape::Custom(m) => m.as_ref(),
            _ => "plain",
        };
        let text = if value.is_safe() {
            value.as_str().unwrap_or_default().to_string()
        } else {
            match value.kind() {
                ValueKind::Number => value.to_string(),
                // minijinja writes Python's `True`; every format kendall writes wants `true`.
                ValueKind::Bool => value.is_true().to_string(),
                ValueKind::String => {
                    let s = value.as_str().unwrap_or_default();
                    match mode {
                        "yaml" => quote::yaml(s),
                        "compose" => quote::yaml(&quote::compose(s)),
                        "rust" => quote::rust(s),
                        "toml" => quote::toml(s),
                        _ => {
                            return Err(Error::new(
                                ErrorKind::InvalidOperation,
                                "a string printed in a plain template must pass `ident`",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("cannot print a {} value", value.kind()),
                    ));
                }
            }
        };
        out.write_str(&text).map_err(Error::from)
    });
    env.add_filter("ident", |v: &str| -> Result<Value, Error> {
        if !v.is_empty()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            Ok(Value::from_safe_string(v.to_string()))
        } else {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("`{}` is not an identifier", v.escape_debug()),
            ))
        }
    });
    // `"${NAME}"`: compose reads the value from the shell or `.env` at start-up.
    env.add_filter("compose_env_ref", |v: &str| -> Result<Value, Error> {
        let ok = v
            .as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if ok {
            Ok(Value::from_safe_string(format!("\"${{{v}}}\"")))
        } else {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("`{}` is not a variable name", v.escape_debug()),
            ))
        }
    });
    env.add_filter("kube_env", |v: &str| quote::kube_env(v));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not parse: {e}"));
    }
    env
}
