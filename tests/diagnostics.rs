//! Every bad input in `tests/fixtures/errors/` snapshots its rendered diagnostics.
//!
//! A fixture's first line names the codes it must produce: `// expect: E0302 W0601`. The test
//! fails if any named code is missing, and a separate test checks that the fixtures together
//! cover every code in the registry.

mod support;

use kendall::diagnostics::codes;
use std::collections::BTreeSet;
use std::path::Path;

fn expected_codes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    first
        .split_once("expect:")
        .map(|(_, codes)| codes.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Fixtures that cannot carry a header (empty or not text) name their code in the file name:
/// `E0002-empty.arch`.
fn codes_for(path: &Path) -> Vec<String> {
    let mut codes = expected_codes(path);
    let stem = path.file_stem().unwrap().to_string_lossy();
    if let Some((code, _)) = stem.split_once('-') {
        if codes::lookup(code).is_some() {
            codes.push(code.to_string());
        }
    }
    codes
}

#[test]
fn error_fixtures() {
    let dir = support::root().join("tests/fixtures/errors");
    insta::glob!("fixtures/errors/*.arch", |path| {
        let name = path.file_name().unwrap().to_string_lossy();
        let mut compiled = support::compile_in(&dir, &name);
        // A design that checks cleanly is predicted, so load diagnostics have fixtures too.
        if let Some(model) = &compiled.model {
            let found = match kendall::queueing::predict(
                model,
                &kendall::queueing::Options {
                    load: 1.0,
                    ..Default::default()
                },
            ) {
                Ok(p) => kendall::queueing::report::diagnostics(model, &p),
                Err(d) => vec![kendall::queueing::report::divergent(model, &d)],
            };
            compiled.diagnostics.extend(found);
        }
        assert!(!compiled.diagnostics.is_empty(), "{name}: no diagnostics");
        let produced: BTreeSet<&str> = compiled.diagnostics.iter().map(|d| d.code.id).collect();
        let wanted = codes_for(path);
        assert!(
            !wanted.is_empty(),
            "{name}: say which codes it expects in `// expect: E….` on line 1"
        );
        for code in &wanted {
            assert!(
                produced.contains(code.as_str()),
                "{name}: expected {code}, got {produced:?}"
            );
        }
        insta::assert_snapshot!(support::render_all(&compiled));
    });
}

#[test]
fn fixtures_cover_every_code() {
    let dir = support::root().join("tests/fixtures/errors");
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "arch") {
            covered.extend(codes_for(&path));
        }
    }
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|c| c.id)
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn codes_are_unique_and_documented() {
    let mut seen = BTreeSet::new();
    for c in codes::ALL {
        assert!(seen.insert(c.id), "{} registered twice", c.id);
        let first = c.page.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!("# {}: {}", c.id, c.title),
            "page of {} must start with its title",
            c.id
        );
        assert!(
            c.page.contains("```arch"),
            "page of {} needs an example",
            c.id
        );
        let prefix = if c.severity == kendall::diagnostics::Severity::Error {
            'E'
        } else {
            'W'
        };
        assert!(
            c.id.starts_with(prefix),
            "{}: severity and prefix disagree",
            c.id
        );
    }
}
