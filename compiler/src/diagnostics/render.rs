//! Human-readable rendering through miette's graphical handler.

use super::{Diagnostic, Label, Severity};
use crate::source::{FileId, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Terminal width the output wraps at.
    pub width: usize,
    pub color: bool,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            width: 100,
            color: false,
        }
    }
}

/// Renders one diagnostic, with its source excerpts, as text.
pub fn render(d: &Diagnostic, sources: &SourceMap, options: RenderOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    let report = Report::new(d, sources);
    let mut out = String::new();
    handler
        .render_report(&mut out, &report)
        .expect("rendering to a string cannot fail");
    out
}

/// A diagnostic seen through miette. Labels in the primary label's file are drawn on one excerpt;
/// labels in other files become related notes with their own excerpt.
struct Report {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(d: &Diagnostic, sources: &SourceMap) -> Report {
        let Some(primary) = &d.primary else {
            return Report {
                code: d.code.id,
                severity: d.severity(),
                message: d.message.clone(),
                help: d.help.clone(),
                source: None,
                labels: Vec::new(),
                related: Vec::new(),
            };
        };
        let file = primary.span.file;
        let mut labels = vec![labeled(primary, true)];
        let mut related = Vec::new();
        for l in &d.secondary {
            if l.span.file == file {
                labels.push(labeled(l, false));
            } else {
                related.push(Report::note(l, sources));
            }
        }
        Report {
            code: d.code.id,
            severity: d.severity(),
            message: d.message.clone(),
            help: d.help.clone(),
            source: Some(named(sources, file)),
            labels,
            related,
        }
    }

    fn note(l: &Label, sources: &SourceMap) -> Report {
        Report {
            code: "",
            severity: Severity::Warning,
            message: format!("note: {}", l.message),
            help: None,
            source: Some(named(sources, l.span.file)),
            labels: vec![labeled(l, false)],
            related: Vec::new(),
        }
    }
}

fn named(sources: &SourceMap, file: FileId) -> NamedSource<String> {
    let f = sources.get(file);
    // Control characters would be written raw into the excerpt; a same-length stand-in keeps
    // every byte offset valid.
    let text: String = f
        .text
        .chars()
        .flat_map(|c| {
            let shown = if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                '?'
            } else {
                c
            };
            std::iter::repeat_n(shown, if shown == c { 1 } else { c.len_utf8() })
        })
        .collect();
    NamedSource::new(f.name.clone(), text).with_language("kendall")
}

fn labeled(l: &Label, primary: bool) -> LabeledSpan {
    let span = SourceSpan::new((l.span.start as usize).into(), l.span.len());
    let text = (!l.message.is_empty()).then(|| l.message.clone());
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match (self.code.is_empty(), self.severity) {
            (true, _) => miette::Severity::Advice,
            (false, Severity::Error) => miette::Severity::Error,
            (false, Severity::Warning) => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<_>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as Box<_>)
    }
}
