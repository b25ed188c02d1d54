//! The machine-readable form of diagnostics (`--format json`).

use super::{Diagnostic, Severity};
use crate::source::SourceMap;
use serde::Serialize;

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    code: &'static str,
    severity: Severity,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// `{"diagnostics":[{"file","line","column","code","severity","message",…}]}`, lines and
/// columns 1-based, columns counted in characters.
pub fn to_json<'a>(
    diagnostics: impl IntoIterator<Item = (&'a SourceMap, &'a Diagnostic)>,
) -> serde_json::Value {
    let mut out = Vec::new();
    for (sources, d) in diagnostics {
        let (file, (line, column), (end_line, end_column)) = match &d.primary {
            Some(label) => (
                sources.get(label.span.file).name.as_str(),
                sources.line_col(label.span.file, label.span.start),
                sources.line_col(label.span.file, label.span.end),
            ),
            None => ("", (1, 1), (1, 1)),
        };
        out.push(JsonDiagnostic {
            file,
            line,
            column,
            end_line,
            end_column,
            code: d.code.id,
            severity: d.severity(),
            message: &d.message,
            help: d.help.as_deref(),
        });
    }
    serde_json::to_value(JsonReport { diagnostics: out }).expect("diagnostics serialise")
}
