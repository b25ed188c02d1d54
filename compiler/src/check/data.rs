//! Data files named by a design: `empirical("…")` service-time samples and `trace("…")` arrivals.

use super::Checker;
use crate::diagnostics::{Diagnostic, codes};
use crate::model::Arrivals;
use crate::resolve::{io_reason, join};
use crate::syntax::ast::Str;

const SAMPLES_HELP: &str = "write one service time per line, e.g. `12.5ms` (a plain number is seconds); `#` starts a comment";
const TRACE_HELP: &str =
    "write one arrival timestamp per line, in seconds, ascending; `#` starts a comment";

impl Checker<'_> {
    /// Reads the file named by `file`, relative to the design that names it, as lines of text.
    fn data_lines(&mut self, file: &Str) -> Option<Vec<(usize, String)>> {
        let path = join(&self.sources.get(file.span.file).name, &file.value);
        let bytes = match self.loader.read(&path) {
            Ok(b) => b,
            Err(e) => {
                self.report(
                    Diagnostic::new(
                        codes::UNREADABLE_FILE,
                        format!("cannot read `{path}`: {}", io_reason(&e)),
                    )
                    .at(file.span, "named here")
                    .help("data file paths are relative to the design that names them"),
                );
                return None;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.bad_data(
                file,
                &path,
                0,
                "the file is not utf-8 text",
                "data files are text, one value per line",
            );
            return None;
        };
        Some(
            text.lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.trim().to_string()))
                .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
                .collect(),
        )
    }

    fn bad_data(&mut self, file: &Str, path: &str, line: usize, why: &str, help: &str) {
        let at = if line > 0 {
            format!("`{path}` line {line}")
        } else {
            format!("`{path}`")
        };
        self.report(
            Diagnostic::new(codes::BAD_DATA_FILE, format!("{at}: {why}"))
                .at(file.span, "read from here")
                .help(help.to_string()),
        );
    }

    /// Service-time samples in seconds: one per line, with a time unit (`12.5ms`) or in seconds.
    pub(super) fn samples(&mut self, file: &Str) -> Option<Vec<f64>> {
        let path = join(&self.sources.get(file.span.file).name, &file.value);
        let lines = self.data_lines(file)?;
        let mut out = Vec::with_capacity(lines.len());
        for (n, line) in lines {
            let field = line.split(',').next().unwrap_or("").trim();
            match parse_time(field) {
                Some(v) if v > 0.0 => out.push(v),
                _ => {
                    self.bad_data(
                        file,
                        &path,
                        n,
                        &format!("`{field}` is not a positive time"),
                        SAMPLES_HELP,
                    );
                    return None;
                }
            }
        }
        if out.len() < 2 {
            self.bad_data(
                file,
                &path,
                0,
                "an empirical distribution needs at least 2 samples",
                SAMPLES_HELP,
            );
            return None;
        }
        Some(out)
    }

    /// A trace of arrival timestamps in seconds, ascending; summarised by its rate and the SCV
    /// of its inter-arrival times.
    pub(super) fn trace(&mut self, file: &Str) -> Option<Arrivals> {
        let path = join(&self.sources.get(file.span.file).name, &file.value);
        let lines = self.data_lines(file)?;
        let mut times = Vec::with_capacity(lines.len());
        for (n, line) in lines {
            let field = line.split(',').next().unwrap_or("").trim();
            let Some(t) = parse_time(field).filter(|t| *t >= 0.0) else {
                self.bad_data(
                    file,
                    &path,
                    n,
                    &format!("`{field}` is not a timestamp in seconds"),
                    TRACE_HELP,
                );
                return None;
            };
            if times.last().is_some_and(|&prev| t < prev) {
                self.bad_data(
                    file,
                    &path,
                    n,
                    "timestamps must not go backwards",
                    "sort the trace by time, e.g. `sort -n`",
                );
                return None;
            }
            times.push(t);
        }
        if times.len() < 3 || times[times.len() - 1] <= times[0] {
            self.bad_data(
                file,
                &path,
                0,
                "a trace needs at least 3 arrivals spread over time",
                TRACE_HELP,
            );
            return None;
        }
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        Some(Arrivals::Trace {
            file: file.value.clone(),
            arrivals: times.len() as u64,
            rate_rps: gaps.len() as f64 / (times[times.len() - 1] - times[0]),
            scv: var / (mean * mean),
        })
    }
}

/// `12.5ms`, `3s`, `250us` or a plain number of seconds: a trace's or a sample file's field
/// (the simulator reads traces with it too).
pub(crate) fn parse_time(s: &str) -> Option<f64> {
    let (num, div) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    v.is_finite().then_some(v / div)
}
