//! Quoting of user strings for the formats kendall writes. Every string from a design reaches a
//! generated file through one of these, so no value can end a scalar, start a YAML tag, anchor
//! or alias, be read as a boolean, number or time by a YAML 1.1 reader, or close a Rust or TOML
//! string literal.

use std::fmt::Write;

/// A YAML double-quoted scalar. Double quotes make every YAML 1.1 and 1.2 reader take the value
/// as a string (`yes`, `22:22`, `1_000`, `<<` stay strings); escaping covers what a quoted
/// scalar may not hold raw: `"`, `\`, C0 and C1 controls, DEL, and the line and paragraph
/// separators U+2028/U+2029 and the BOM, which YAML 1.1 reads as line breaks or rejects.
pub fn yaml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML basic string: the same escapes as [`yaml`] (TOML spells them the same way).
pub fn toml(s: &str) -> String {
    yaml(s)
}

/// A Rust string literal. `{:?}` on a `str` writes exactly that: quotes and backslashes
/// escaped, controls and unprintable characters as `\u{…}`.
pub fn rust(s: &str) -> String {
    format!("{s:?}")
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Kubernetes expands `$(NAME)` in a container's `env` values; `$$` is its escape, so a value
/// written `$(HOME)` stays that text instead of becoming another variable's value.
pub fn kube_env(s: &str) -> String {
    s.replace("$(", "$$(")
}

/// Compose interpolates `$NAME` and `${NAME}` everywhere in the file; `$$` is a literal `$`.
pub fn compose(s: &str) -> String {
    s.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_every_risky_scalar() {
        assert_eq!(yaml("yes"), "\"yes\"");
        assert_eq!(yaml("22:22"), "\"22:22\"");
        assert_eq!(yaml("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(yaml("l1\nl2"), "\"l1\\nl2\"");
        assert_eq!(
            yaml("\u{2028}\u{85}\u{7F}\u{0}"),
            "\"\\u2028\\u0085\\u007F\\u0000\""
        );
        assert_eq!(yaml("&anchor *alias {{ x }}"), "\"&anchor *alias {{ x }}\"");
        assert_eq!(yaml("café ☕"), "\"café ☕\"");
    }

    #[test]
    fn rust_literals_escape_quotes_and_controls() {
        assert_eq!(rust("a\"b"), "\"a\\\"b\"");
        assert_eq!(rust("\u{2028}\n"), "\"\\u{2028}\\n\"");
    }

    #[test]
    fn interpolation_is_escaped() {
        assert_eq!(kube_env("$(HOME) $x"), "$$(HOME) $x");
        assert_eq!(compose("${X:?boom} $Y"), "$${X:?boom} $$Y");
    }
}
