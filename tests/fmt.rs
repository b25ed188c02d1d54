//! `kendall fmt`: every design in the repository formats idempotently, to a model identical to
//! the one it had, with every comment kept; the examples' formatted text is snapshotted; a
//! messy design formats to an exact text; random re-spacings of the examples format alike.

mod support;

use kendall::source::FileId;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use support::DirLoader;

fn fmt(text: &str) -> String {
    kendall::format::format(FileId(0), text).unwrap_or_else(|e| {
        panic!(
            "formatting failed: {:?}",
            e.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })
}

fn arch_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            arch_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "arch") {
            out.push(p);
        }
    }
}

/// Every design of the repository: examples, the stdlib, the accuracy suite, the fixtures.
fn designs() -> Vec<PathBuf> {
    let root = support::root();
    let mut out = Vec::new();
    for dir in ["examples", "stdlib", "tests/accuracy", "tests/fixtures"] {
        arch_files(&root.join(dir), &mut out);
    }
    out
}

fn examples() -> Vec<(String, String)> {
    let root = support::root();
    let mut files = Vec::new();
    arch_files(&root.join("examples"), &mut files);
    files
        .iter()
        .map(|p| {
            let name = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

/// What compiling `text` as `dir/name` means: the model as JSON, and every diagnostic without
/// its place (formatting moves places, never meanings).
fn meaning(dir: &Path, name: &str, text: &str) -> (serde_json::Value, Vec<String>) {
    let compiled = kendall::compile(name, text.as_bytes(), &DirLoader(dir.to_path_buf()));
    let model = serde_json::to_value(&compiled.model).unwrap();
    let diagnostics = compiled
        .diagnostics
        .iter()
        .map(|d| format!("{} {} / {:?}", d.code.id, d.message, d.help))
        .collect();
    (model, diagnostics)
}

fn comment_texts(text: &str) -> Vec<String> {
    let mut texts: Vec<String> = kendall::format::scan_comments(text)
        .into_iter()
        .map(|c| c.text)
        .collect();
    texts.sort();
    texts
}

#[test]
fn every_design_round_trips() {
    let (mut formatted, mut skipped) = (0, Vec::new());
    for path in designs() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let shown = path.strip_prefix(support::root()).unwrap().display();
        if kendall::syntax::parse(FileId(0), &text).is_err() {
            skipped.push(shown.to_string());
            continue;
        }
        let once = fmt(&text);
        let twice = fmt(&once);
        assert_eq!(once, twice, "{shown}: formatting twice differs from once");
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(
            meaning(dir, &name, &text),
            meaning(dir, &name, &once),
            "{shown}: formatting changed the model or the diagnostics"
        );
        assert_eq!(
            comment_texts(&text),
            comment_texts(&once),
            "{shown}: a comment was lost or changed"
        );
        formatted += 1;
    }
    // The fixtures of syntax errors are the only designs that do not parse.
    assert!(formatted >= 90, "only {formatted} designs formatted");
    assert!(
        skipped
            .iter()
            .all(|s| s.starts_with("tests/fixtures/errors/")),
        "{skipped:?}"
    );
}

#[test]
fn examples_formatted() {
    for (name, text) in examples() {
        let snapshot = name.trim_end_matches(".arch").replace('/', "__");
        insta::assert_snapshot!(snapshot, fmt(&text));
    }
}

#[test]
fn a_messy_design_formats_exactly() {
    let messy = "\u{FEFF}// header\n\n\n\
use std.ml . { gateway ,model_server, }   ;\
system shop{workload browse{entry web.page  rate 120\trpm   slo p99<200ms}// browse\n\
\n\n\
  // the front\n\
        service web   extends gateway{ replicas 2 .. 8 ; cpu 500m memory 512Mi // sizes\n\
endpoint page{time exp( 4ms )   call db times 3 parallel\n\
        timeout 1s /* slow */ parallel{call db\n\
call  cache.get async}}\n\
   }\n\
service db { /* inner */ time lognormal( mean 2ms ,cv 1.5 ) }\
service cache{endpoint get{time 1ms}}\
      deploy compose { }\n\n\n\
}\n\
// trailing words\n\n\n";
    let expected = "\
// header

use std.ml.{gateway, model_server}
system shop {
  workload browse {
    entry web.page
    rate 120 rpm
    slo p99 < 200ms
  }  // browse

  // the front
  service web extends gateway {
    replicas 2..8
    cpu 500m
    memory 512Mi  // sizes
    endpoint page {
      time exp(4ms)
      call db times 3 parallel timeout 1s  /* slow */
      parallel {
        call db
        call cache.get async
      }
    }
  }
  service db {  /* inner */
    time lognormal(mean 2ms, cv 1.5)
  }
  service cache {
    endpoint get { time 1ms }
  }
  deploy compose {}
}
// trailing words
";
    assert_eq!(fmt(messy), expected);
    assert_eq!(fmt(expected), expected);
}

#[test]
fn a_long_one_statement_block_is_not_folded() {
    let long = format!(
        "system s {{ service x {{ image \"{}\" }} }}\n",
        "a".repeat(90)
    );
    let out = fmt(&long);
    assert_eq!(
        out,
        format!(
            "system s {{\n  service x {{\n    image \"{}\"\n  }}\n}}\n",
            "a".repeat(90)
        )
    );
}

#[test]
fn trailing_comments_align_by_run() {
    let text = "system s {\n  pricing {\n    cpu $1/h // a\n    gpu nvidia-l4 $2/h // b\n    memory $3/h\n    memory $4/h // c\n  }\n}\n";
    assert_eq!(
        fmt(text),
        "system s {\n  pricing {\n    cpu $1/h            // a\n    gpu nvidia-l4 $2/h  // b\n    memory $3/h\n    memory $4/h  // c\n  }\n}\n"
    );
}

#[test]
fn a_syntax_error_is_refused_with_the_parser_diagnostic() {
    let errors = kendall::format::format(FileId(0), "system s { service x { cpu } }").unwrap_err();
    let parsed = kendall::syntax::parse(FileId(0), "system s { service x { cpu } }").unwrap_err();
    assert_eq!(errors, parsed);
    assert_eq!(errors[0].code.id, "E0101");
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt(" \n\n"), "");
    assert_eq!(
        fmt("\n\n// a\n\n\n/* b */  // c\n"),
        "// a\n\n/* b */\n// c\n"
    );
}

// ------------------------------------------------------------------- the command

fn kendall(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kendall"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kendall-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const UNFORMATTED: &str = "system s { service api { time exp(1ms) } // api\n}\n";
const FORMATTED: &str = "system s {\n  service api { time exp(1ms) }  // api\n}\n";

#[test]
fn check_prints_a_diff_and_exits_one_changing_nothing() {
    let path = scratch("check.arch", UNFORMATTED);
    let p = path.to_str().unwrap();
    let o = kendall(&["fmt", "--check", p], b"");
    assert_eq!(o.status.code(), Some(1));
    let diff = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        diff,
        format!(
            "--- {p}\n+++ {p} (formatted)\n@@ -1,2 +1,3 @@\n\
             -system s {{ service api {{ time exp(1ms) }} // api\n\
             +system s {{\n\
             +  service api {{ time exp(1ms) }}  // api\n \
             }}\n"
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "1 file would be reformatted\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), UNFORMATTED);
}

#[test]
fn fmt_rewrites_in_place_and_then_has_nothing_to_do() {
    let path = scratch("rewrite.arch", UNFORMATTED);
    let p = path.to_str().unwrap();
    let o = kendall(&["fmt", p], b"");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FORMATTED);
    let o = kendall(&["fmt", "--check", p], b"");
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn a_file_with_a_syntax_error_is_left_alone() {
    let broken = "system s { service api { cpu } }\n";
    let path = scratch("broken.arch", broken);
    let o = kendall(&["fmt", path.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("E0101"), "{err}");
    assert!(err.contains("has syntax errors: not formatted"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn stdin_is_formatted_to_stdout() {
    let o = kendall(&["fmt", "-"], UNFORMATTED.as_bytes());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), FORMATTED);
    let o = kendall(&["fmt", "--check", "-"], FORMATTED.as_bytes());
    assert_eq!(o.status.code(), Some(0));
    let o = kendall(&["fmt", "-", "x.arch"], b"");
    assert_eq!(o.status.code(), Some(2));
}

// ------------------------------------------------------------------- re-spacing property

/// Where whitespace sits between two tokens, and what a re-spacing may put there instead
/// without changing what the design says or which line a comment belongs to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Gap {
    /// At least one blank line: stays at least one.
    Blank,
    /// Before a comment or after a `//` comment: keeps whether it has a newline.
    Newline(bool),
    /// Between a number and its spaced unit (`2400 rps`): spaces and tabs only.
    Unit,
    /// Anything without a blank line; may vanish next to punctuation.
    Free { may_vanish: bool },
}

const SPACED_UNITS: [&str; 10] = [
    "rps",
    "rpm",
    "rph",
    "gpu-hours",
    "cpu-hours",
    "ms",
    "us",
    "min",
    "s",
    "h",
];

/// The whitespace runs of `text` outside strings and comments, and empty spots next to
/// punctuation where whitespace may be inserted, as `(start, end, gap)`.
fn gaps(text: &str) -> Vec<(usize, usize, Gap)> {
    let b = text.as_bytes();
    let comments = kendall::format::scan_comments(text);
    let in_comment = |i: usize| comments.iter().any(|c| c.start <= i && i < c.end);
    let comment_at = |i: usize| comments.iter().any(|c| c.start == i);
    let line_comment_ends_at = |i: usize| {
        comments
            .iter()
            .any(|c| c.end == i && c.text.starts_with("//"))
    };
    let punct = |c: u8| matches!(c, b'(' | b')' | b',' | b'{' | b'}');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if in_comment(i) {
            i += 1;
            continue;
        }
        if b[i] == b'"' {
            i += 1;
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if b[i].is_ascii_whitespace() {
            let start = i;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let run = &text[start..i];
            let word: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            let gap = if run.matches('\n').count() >= 2 {
                Gap::Blank
            } else if comment_at(i) || line_comment_ends_at(start) {
                Gap::Newline(run.contains('\n'))
            } else if start > 0
                && b[start - 1].is_ascii_digit()
                && SPACED_UNITS.contains(&word.as_str())
            {
                Gap::Unit
            } else {
                let vanish = (start > 0 && punct(b[start - 1]) && !line_comment_ends_at(start))
                    || (i < b.len() && punct(b[i]));
                Gap::Free { may_vanish: vanish }
            };
            out.push((start, i, gap));
            continue;
        }
        // An empty spot after punctuation, where a space may appear.
        if punct(b[i]) && i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() && !comment_at(i + 1) {
            out.push((i + 1, i + 1, Gap::Free { may_vanish: true }));
        }
        i += 1;
    }
    out
}

/// A replacement for a gap, chosen by `pick`.
fn respace(gap: Gap, pick: &mut impl FnMut() -> u8) -> String {
    let spaces = |pick: &mut dyn FnMut() -> u8| -> String {
        (0..1 + pick() % 3)
            .map(|_| if pick() % 4 == 0 { '\t' } else { ' ' })
            .collect()
    };
    match gap {
        Gap::Blank => {
            format!("{}\n\n{}", spaces(pick), spaces(pick)).repeat(1 + (pick() % 2) as usize)
        }
        Gap::Newline(true) => format!("{}\n{}", spaces(pick), spaces(pick)),
        Gap::Newline(false) | Gap::Unit => spaces(pick),
        Gap::Free { may_vanish } => match pick() % 4 {
            0 if may_vanish => String::new(),
            1 => format!("{}\n{}", spaces(pick), spaces(pick)),
            _ => spaces(pick),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn respaced_examples_format_alike(which in 0usize..64, choices in proptest::collection::vec(any::<u8>(), 1..512)) {
        let all = examples();
        let (name, text) = &all[which % all.len()];
        let mut at = 0;
        let mut pick = || {
            at += 1;
            choices[at % choices.len()].wrapping_add((at / choices.len()) as u8)
        };
        let mut respaced = String::new();
        let mut last = 0;
        for (start, end, gap) in gaps(text) {
            respaced.push_str(&text[last..start]);
            respaced.push_str(&respace(gap, &mut pick));
            last = end;
        }
        respaced.push_str(&text[last..]);
        prop_assert_ne!(&respaced, text);
        let got = kendall::format::format(FileId(0), &respaced);
        prop_assert!(got.is_ok(), "{name} re-spaced does not parse:\n{respaced}");
        prop_assert_eq!(got.unwrap(), fmt(text), "{} re-spaced:\n{}", name, respaced);
    }
}
