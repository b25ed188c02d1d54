//! `kendall generate`: every example's files (snapshots), hostile strings, and the safety of
//! the user's files (no-clobber, `--check`, `--force`) through the binary.

mod support;

use kendall::generate::{self, Allocation, Target};
use std::process::Output;

const EXAMPLES: &[&str] = &[
    "examples/fraud.arch",
    "examples/rag.arch",
    "examples/recsys.arch",
    "examples/training.arch",
    "examples/paper/microservices.arch",
    "examples/paper/monolith.arch",
    "tests/fixtures/generate/hostile.arch",
    "tests/fixtures/generate/hostile_rejected.arch",
    "tests/fixtures/generate/rust_names.arch",
];

/// Every file, each under a header with its path; or the diagnostics when it cannot be
/// generated.
fn generated(path: &str, target: Target) -> String {
    let root = support::root();
    let (dir, name) = path.rsplit_once('/').unwrap();
    let compiled = support::compile_in(&root.join(dir), name);
    let model = compiled.model.as_ref().expect("the design checks");
    match generate::generate(model, &Allocation::from_design(model), target) {
        Ok(files) => files
            .iter()
            .map(|f| format!("=== {}\n{}", f.path, String::from_utf8_lossy(&f.bytes)))
            .collect(),
        Err(diagnostics) => {
            let mut c = compiled;
            c.diagnostics.extend(diagnostics);
            format!("=== refused\n{}", support::render_all(&c))
        }
    }
}

#[test]
fn every_example_generates_the_same_files() {
    for path in EXAMPLES {
        let stem = path.trim_end_matches(".arch").replace('/', "_");
        for (target, name) in [
            (Target::Kubernetes, "kubernetes"),
            (Target::Compose, "compose"),
            (Target::Rust, "rust"),
        ] {
            let text = generated(path, target);
            assert_eq!(text, generated(path, target), "{path}: not deterministic");
            insta::assert_snapshot!(format!("{stem}_{name}"), text);
        }
    }
}

/// The files of a design that generates, by path.
fn files(path: &str, target: Target) -> Vec<generate::File> {
    let root = support::root();
    let (dir, name) = path.rsplit_once('/').unwrap();
    let compiled = support::compile_in(&root.join(dir), name);
    let model = compiled.model.as_ref().expect("the design checks");
    generate::generate(model, &Allocation::from_design(model), target).expect("it generates")
}

/// Every string literal in a Rust file, decoded.
fn literals(file: &syn::File) -> Vec<String> {
    struct Strings(Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for Strings {
        fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
            self.0.push(l.value());
        }
        // Macro bodies (`json!`, `format!`, `tracing::warn!`) are token streams: read their
        // string literals too.
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            collect(m.tokens.clone(), &mut self.0);
        }
    }
    fn collect(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Group(g) => collect(g.stream(), out),
                proc_macro2::TokenTree::Literal(l) => {
                    if let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                        out.push(s.value());
                    }
                }
                _ => {}
            }
        }
    }
    let mut v = Strings(Vec::new());
    syn::visit::Visit::visit_file(&mut v, file);
    v.0
}

#[test]
fn every_generated_rust_file_parses() {
    for path in EXAMPLES
        .iter()
        .filter(|p| !p.ends_with("recsys.arch") && !p.ends_with("hostile_rejected.arch"))
    {
        let files = files(path, Target::Rust);
        let rs: Vec<_> = files.iter().filter(|f| f.path.ends_with(".rs")).collect();
        // Six sources per crate, and a crate per `kind service`.
        assert!(
            !rs.is_empty() && rs.len() % 6 == 0,
            "{path}: {} files",
            rs.len()
        );
        for f in rs {
            let text = std::str::from_utf8(&f.bytes).unwrap();
            if let Err(e) = syn::parse_file(text) {
                panic!("{path}: {} does not parse: {e}", f.path);
            }
        }
        let members = files.iter().find(|f| f.path == "Cargo.toml").unwrap();
        let crates = files
            .iter()
            .filter(|f| f.path.starts_with("crates/") && f.path.ends_with("/Cargo.toml"))
            .count();
        let text = std::str::from_utf8(&members.bytes).unwrap();
        assert_eq!(text.matches("    \"crates/").count(), crates, "{path}");
    }
}

#[test]
fn hostile_strings_reach_rust_only_as_equal_string_literals() {
    let files = files("tests/fixtures/generate/hostile.arch", Target::Rust);
    let config = files
        .iter()
        .find(|f| f.path == "crates/api/src/config.rs")
        .unwrap();
    let parsed = syn::parse_file(std::str::from_utf8(&config.bytes).unwrap()).unwrap();
    let strings = literals(&parsed);
    for expected in [
        "yes",
        "22:22",
        "&a *a",
        "<<",
        "{{ system }}",
        "it's \"quoted\"",
        "line1\nline2: x",
        "a\u{2028}b\u{85}c",
        "$HOME ${X:?boom}",
        "$(HOME)",
        "0755",
        "~",
        "# not a comment",
        "TOKEN",
    ] {
        assert!(
            strings.iter().any(|s| s == expected),
            "{expected:?} is not a literal of config.rs"
        );
    }
    // The design's health path is served by comparing text: `{{y}}` is never route syntax.
    let handlers = files
        .iter()
        .find(|f| f.path == "crates/api/src/handlers.rs")
        .unwrap();
    let parsed = syn::parse_file(std::str::from_utf8(&handlers.bytes).unwrap()).unwrap();
    assert!(literals(&parsed).iter().any(|s| s == "/health"));
    // The call's declared policy.
    let text = std::str::from_utf8(&handlers.bytes).unwrap();
    assert!(text.contains(
        "state.clients.on_client.call_get(&body, crate::clients::Policy { timeout: Some(Duration::from_millis(50)), retries: 2 })"
    ), "{text}");
    // `on` speaks tcp: its client connects rather than posting.
    let clients = files
        .iter()
        .find(|f| f.path == "crates/api/src/clients.rs")
        .unwrap();
    let text = std::str::from_utf8(&clients.bytes).unwrap();
    assert!(text.contains("connect(self.addresses.pick(body)?, policy).await.map(drop)"));
    assert!(text.contains("addresses: Addresses::new(\"ON_URL\", config.on_client.clone()),"));
}

#[test]
fn autoscaled_services_leave_replicas_to_the_autoscaler() {
    let text = generated("examples/fraud.arch", Target::Kubernetes);
    let edge = text
        .split("=== ")
        .find(|f| f.starts_with("edge.yaml"))
        .unwrap();
    assert!(edge.contains("kind: HorizontalPodAutoscaler"));
    assert!(!edge.contains("\n  replicas:"), "{edge}");
    // A pinned service (the queue: `replicas 3`) keeps its count and has no autoscaler.
    let audit = text
        .split("=== ")
        .find(|f| f.starts_with("audit.yaml"))
        .unwrap();
    assert!(audit.contains("\n  replicas: 3\n"));
    assert!(!audit.contains("HorizontalPodAutoscaler"));
    // The database is a StatefulSet.
    let casedb = text
        .split("=== ")
        .find(|f| f.starts_with("casedb.yaml"))
        .unwrap();
    assert!(casedb.contains("\nkind: StatefulSet\n"));
}

#[test]
fn allocation_from_the_design() {
    let root = support::root();
    let compiled = support::compile_in(&root.join("examples"), "fraud.arch");
    let model = compiled.model.unwrap();
    let alloc = Allocation::from_design(&model);
    // `replicas 2..12` at 3 zones: the lower bound, at least 2.
    let edge = &alloc.services["edge"];
    assert_eq!((edge.replicas, edge.max_replicas), (2, 12));
    // Pinned.
    assert_eq!(alloc.services["audit"].replicas, 3);
    // Not deployed.
    assert!(!alloc.services.contains_key("network"));
    for p in alloc.services.values() {
        assert!((0.2..=0.9).contains(&p.target_utilization), "{p:?}");
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn edited_files_survive_a_rerun_and_check_reports_drift() {
    let dir = std::env::temp_dir().join(format!("kendall-generate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_string_lossy().into_owned();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "examples/fraud.arch",
            "--target",
            "kubernetes",
            "--out",
            &out,
            "--color",
            "never",
        ];
        args.extend_from_slice(extra);
        support::kendall(&args)
    };
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("generated 13 files"),
        "{}",
        stderr(&first)
    );
    let manifest = std::fs::read_to_string(dir.join(".kendall-manifest.json")).unwrap();
    assert!(manifest.contains("\"edge.yaml\""));

    // Up to date: `--check` passes and writes nothing.
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(check.stdout.is_empty());

    // The user edits one file: a re-run keeps it and says so.
    let edge = dir.join("edge.yaml");
    let original = std::fs::read_to_string(&edge).unwrap();
    let edited = original.replace(
        "imagePullPolicy: \"Always\"",
        "imagePullPolicy: \"IfNotPresent\"",
    );
    std::fs::write(&edge, &edited).unwrap();
    let rerun = run(&[]);
    assert_eq!(rerun.status.code(), Some(0));
    assert!(stderr(&rerun).contains("kept"), "{}", stderr(&rerun));
    assert!(stderr(&rerun).contains("edge.yaml"), "{}", stderr(&rerun));
    assert_eq!(std::fs::read_to_string(&edge).unwrap(), edited);

    // `--check` shows the drift as a unified diff and exits 1.
    let check = run(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&check.stdout);
    assert!(
        diff.contains("--- a/edge.yaml\n+++ b/edge.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains(
            "-          imagePullPolicy: \"IfNotPresent\"\n+          imagePullPolicy: \"Always\"\n"
        ),
        "{diff}"
    );

    // A second re-run still keeps it (the manifest remembers kendall's version).
    run(&[]);
    assert_eq!(std::fs::read_to_string(&edge).unwrap(), edited);

    // `--force` overwrites it.
    let forced = run(&["--force"]);
    assert!(stderr(&forced).contains("overwrote"), "{}", stderr(&forced));
    assert_eq!(std::fs::read_to_string(&edge).unwrap(), original);
    assert_eq!(run(&["--check"]).status.code(), Some(0));

    // A file kendall did not write (no manifest entry) is never replaced either.
    std::fs::remove_file(dir.join(".kendall-manifest.json")).unwrap();
    std::fs::write(&edge, "mine\n").unwrap();
    run(&[]);
    assert_eq!(std::fs::read_to_string(&edge).unwrap(), "mine\n");
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".yaml") || n == ".kendall-manifest.json"),
        "{names:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_designs_and_bad_targets_exit_with_codes() {
    let o = support::kendall(&[
        "generate",
        "tests/fixtures/generate/hostile_rejected.arch",
        "--target",
        "compose",
        "--out",
        "/nonexistent/never",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot be generated: 8 errors"),
        "{}",
        stderr(&o)
    );
    let o = support::kendall(&[
        "generate",
        "examples/fraud.arch",
        "--target",
        "helm",
        "--out",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
