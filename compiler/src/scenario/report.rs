//! `kendall test`'s lines: one per scenario, with the figures it was judged on.

use super::{Check, Outcome};

/// `✓`/`✗`-free, greppable lines: `PASS name  changes: checks`. Failing checks come first.
pub fn lines(file: &str, outcomes: &[Outcome]) -> String {
    let width = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for o in outcomes {
        let verdict = if o.passed() { "PASS" } else { "FAIL" };
        let name = format!("{:width$}", o.name);
        let changes = if o.changes.is_empty() {
            "as designed".to_string()
        } else {
            o.changes.join(", ")
        };
        let detail = match &o.error {
            Some(e) => format!("error: {e}"),
            None => summary(&o.checks),
        };
        out.push_str(&format!("{verdict} {file} {name}  {changes}: {detail}\n"));
    }
    out
}

/// The checks, failing ones first: `homepage.p99 = 14.2ms (< 200ms)`.
pub fn summary(checks: &[Check]) -> String {
    let (failed, passed): (Vec<&Check>, Vec<&Check>) = checks.iter().partition(|c| !c.passed);
    let shown: Vec<String> = failed.into_iter().chain(passed).map(check).collect();
    shown.join("; ")
}

/// One check: `homepage.p99 < 200ms: 14.2ms ±0.3ms`, or its note.
pub fn check(c: &Check) -> String {
    let mark = if c.passed { "ok" } else { "FAILED" };
    match (c.value, &c.note) {
        (Some(v), _) => {
            let ci = c
                .ci95
                .map(|h| format!(" ±{}", c.unit.show(h)))
                .unwrap_or_default();
            format!("{} {mark} ({}{ci})", c.what, c.unit.show(v))
        }
        (None, Some(note)) => format!("{} {mark} ({note})", c.what),
        (None, None) => format!("{} {mark}", c.what),
    }
}

/// The closing line: `3 scenarios: 2 passed, 1 failed`.
pub fn totals(outcomes: &[Outcome]) -> String {
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let n = outcomes.len();
    let noun = if n == 1 { "scenario" } else { "scenarios" };
    format!("{n} {noun}: {passed} passed, {} failed\n", n - passed)
}
