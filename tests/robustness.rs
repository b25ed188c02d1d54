//! The front end never panics: mutated examples, random bytes and token soup all end in a
//! model or in diagnostics, never a crash.

mod support;

use kendall::resolve::MemoryLoader;
use proptest::prelude::*;

fn examples() -> Vec<Vec<u8>> {
    let dir = support::root().join("examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "arch"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Compiles and checks the invariants that hold for any input.
fn compile(bytes: &[u8]) {
    let c = kendall::compile("fuzz.arch", bytes, &MemoryLoader::new());
    assert_eq!(c.model.is_some(), !c.diagnostics.has_errors());
    for d in c.diagnostics.iter() {
        assert!(!d.message.is_empty());
        if let Some(l) = &d.primary {
            let text = &c.sources.get(l.span.file).text;
            assert!(
                l.span.start <= l.span.end && l.span.end as usize <= text.len() + 1,
                "span out of file: {d:?}"
            );
        }
        let _ = kendall::diagnostics::render(d, &c.sources, Default::default());
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "\"",
    "..",
    ".",
    ",",
    "%",
    "$",
    "/",
    "ms",
    "rps",
    "x",
    "service",
    "call",
    "parallel",
    "time",
    "exp(",
    "endpoint",
    "workload",
    "entry",
    "times 3 parallel",
    "async",
    "when 50%",
    "template",
    "extends",
    "use std.ml.{gateway}",
    "/*",
    "*/",
    "//",
    "\\",
    "\n",
    "0",
    "99999999999999999999999",
    "-1",
    "p99",
    "batch max 8",
    "+",
    "per item",
    "cache hit",
    "replicas 2..1",
    "\u{0}",
    "é",
    "\u{202e}",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), prop::sample::select(TOKENS))
            .prop_map(|(i, t)| Edit::Insert(i, t.as_bytes().to_vec())),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % len;
                    bytes[i] = *b;
                }
            }
            Edit::Insert(i, t) => {
                let i = i % (bytes.len() + 1);
                bytes.splice(i..i, t.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = i % len;
                let end = (i + n).min(bytes.len());
                if i < end {
                    bytes.drain(i..end);
                }
            }
            Edit::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_never_panic(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..8)) {
        let all = examples();
        let base = all[which % all.len()].clone();
        compile(&apply(base, &edits));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        compile(&bytes);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        compile(tokens.join(" ").as_bytes());
    }
}

/// Parsing a system in two halves on two threads gives exactly the sequential AST.
fn split_parse_agrees(text: &str) {
    let id = kendall::source::FileId(0);
    let whole = kendall::syntax::parse_with(id, text, usize::MAX);
    let split = kendall::syntax::parse_with(id, text, 0);
    assert_eq!(whole, split);
}

#[test]
fn split_parse_agrees_on_examples_and_a_large_design() {
    let mut texts: Vec<String> = examples()
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect();
    texts.push(support::design::design(2_000));
    for text in &texts {
        let id = kendall::source::FileId(0);
        let split = kendall::syntax::parse_split(id, text).expect("the split path applies");
        assert_eq!(Ok(split), kendall::syntax::parse_with(id, text, usize::MAX));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn split_parse_agrees_on_mutated_examples(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..4)) {
        let all = examples();
        let bytes = apply(all[which % all.len()].clone(), &edits);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            split_parse_agrees(text);
        }
    }
}

/// Checking a large design on two threads finds exactly what one thread finds.
#[test]
fn parallel_compile_agrees_with_sequential() {
    let mut text = support::design::design(2_000);
    // Mistakes spread over both halves, so both threads report some.
    for (from, to) in [
        ("call s21.handle\n", "call s21.handel\n"),
        (
            "service s703 extends cache {\n    replicas 1..8",
            "service s703 extends cache {\n    replicas 8..1",
        ),
        ("call s1601.handle", "call s1601.handle when 150%"),
        ("service s1999 extends", "service S_1999 extends"),
    ] {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let loader = MemoryLoader::new();
    let parallel = kendall::compile_with("big.arch", text.as_bytes(), &loader, true);
    let sequential = kendall::compile_with("big.arch", text.as_bytes(), &loader, false);
    assert_eq!(parallel.diagnostics, sequential.diagnostics);
    let codes: Vec<&str> = parallel.diagnostics.iter().map(|d| d.code.id).collect();
    assert_eq!(codes, ["E0303", "E0503", "E0501", "E0302", "E0306"]);
    let clean = support::design::design(2_000);
    let parallel = kendall::compile_with("big.arch", clean.as_bytes(), &loader, true);
    let sequential = kendall::compile_with("big.arch", clean.as_bytes(), &loader, false);
    assert!(parallel.diagnostics.is_empty());
    assert_eq!(parallel.model, sequential.model);
}

fn nested_parallel(depth: usize) -> String {
    let mut s = String::from(
        "system s {\n workload w { entry a.x rate 1 rps }\n service a { endpoint x { time exp(1ms)\n",
    );
    s.push_str(&"parallel {\n".repeat(depth));
    s.push_str("call b\n");
    s.push_str(&"}\n".repeat(depth));
    s.push_str("} }\n service b { time exp(1ms) }\n}\n");
    s
}

#[test]
fn parallel_nesting_at_the_limit_is_accepted() {
    let c = kendall::compile(
        "deep.arch",
        nested_parallel(256).as_bytes(),
        &MemoryLoader::new(),
    );
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}

#[test]
fn parallel_nesting_past_the_limit_is_an_error() {
    let c = kendall::compile(
        "deep.arch",
        nested_parallel(257).as_bytes(),
        &MemoryLoader::new(),
    );
    let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.id).collect();
    assert_eq!(codes, ["E0107"]);
}

#[test]
fn absurd_nesting_is_an_error_not_a_stack_overflow() {
    let c = kendall::compile(
        "deep.arch",
        "{".repeat(1_000_000).as_bytes(),
        &MemoryLoader::new(),
    );
    assert_eq!(
        c.diagnostics.iter().map(|d| d.code.id).collect::<Vec<_>>(),
        ["E0107"]
    );
    let c = kendall::compile(
        "deep.arch",
        nested_parallel(100_000).as_bytes(),
        &MemoryLoader::new(),
    );
    assert_eq!(
        c.diagnostics.iter().map(|d| d.code.id).collect::<Vec<_>>(),
        ["E0107"]
    );
}

/// Every number in an example replaced by another, a design that still checks is predicted
/// without a panic, and every figure is finite and ordered.
fn scale_numbers(text: &str, factors: &[f64]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut k = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let c = bytes[i];
        let starts_number = c.is_ascii_digit()
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'-'
                    || bytes[i - 1] == b'.'));
        if starts_number {
            let end = (i..bytes.len())
                .find(|&j| !(bytes[j].is_ascii_digit() || bytes[j] == b'.'))
                .unwrap_or(bytes.len());
            let n: f64 = text[i..end].trim_end_matches('.').parse().unwrap_or(1.0);
            let f = factors[k % factors.len()];
            k += 1;
            let v = (n * f).max(0.001);
            if text[i..end].contains('.') {
                out.push_str(&format!("{v:.3}"));
            } else {
                out.push_str(&format!("{}", v.round().max(1.0) as u64));
            }
            i = end;
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

proptest! {
    // About one rescaled design in five still checks (ratios above 100%, p50 ≥ p99, …).
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn predict_never_panics_on_rescaled_examples(
        which in 0usize..4,
        factors in prop::collection::vec(prop::sample::select(&[0.1, 0.5, 1.0, 1.0, 2.0, 10.0][..]), 1..12),
        load in prop::sample::select(&[0.5, 1.0, 3.0][..]),
    ) {
        let all = examples();
        let text = String::from_utf8(all[which % all.len()].clone()).unwrap();
        let changed = scale_numbers(&text, &factors);
        let c = kendall::compile("x.arch", changed.as_bytes(), &MemoryLoader::new());
        if let Some(model) = &c.model {
            let options = kendall::queueing::Options { load, ..Default::default() };
            if let Ok(p) = kendall::queueing::predict(model, &options) {
                for w in &p.workloads {
                    if let Some(l) = &w.latency {
                        prop_assert!(l.mean_s.is_finite() && l.mean_s >= 0.0);
                        prop_assert!(l.p50_s <= l.p95_s && l.p95_s <= l.p99_s && l.p99_s <= l.p999_s, "{:?}", l);
                    }
                }
                for s in &p.services {
                    if let Some(u) = s.utilization {
                        prop_assert!(u.is_finite() && u >= 0.0);
                    }
                }
                let _ = kendall::queueing::report::to_json(&p);
                let _ = kendall::queueing::report::diagnostics(model, &p);
            }
        }
    }
}

/// The case CI's proptest found (session 2): recsys with its numbers rescaled, at half load,
/// gave a NaN mean.
#[test]
fn rescaled_recsys_regression_has_finite_latency() {
    // recsys as it was then: the factors rescale its numbers by position.
    let path = support::root().join("tests/fixtures/robustness/recsys_session2.arch");
    let text = std::fs::read_to_string(path).unwrap();
    let factors = [0.1, 10.0, 0.1, 0.5, 1.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    let changed = scale_numbers(&text, &factors);
    let c = kendall::compile("x.arch", changed.as_bytes(), &MemoryLoader::new());
    let model = c.model.expect("the rescaled design checks");
    let options = kendall::queueing::Options {
        load: 0.5,
        ..Default::default()
    };
    let p = kendall::queueing::predict(&model, &options).expect("it predicts");
    for w in &p.workloads {
        if let Some(l) = &w.latency {
            assert!(l.mean_s.is_finite() && l.mean_s >= 0.0, "{}: {l:?}", w.name);
        }
    }
}
