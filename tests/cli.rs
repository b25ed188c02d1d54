//! The `kendall` binary: exit codes, output formats, `explain`.

mod support;

use std::process::Output;

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str, bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("kendall-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

const WARNS: &[u8] = b"system s {\n  workload w { entry api rate 5 rps }\n  service api { time exp(1ms) }\n  service lonely { time exp(1ms) }\n}\n";

#[test]
fn clean_design_exits_zero() {
    let o = support::kendall(&["check", "examples/recsys.arch"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("checked 1 file: no problems"));
}

#[test]
fn several_files_are_checked_together() {
    let o = support::kendall(&["check", "examples/recsys.arch", "examples/fraud.arch"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("checked 2 files: no problems"));
}

#[test]
fn design_errors_exit_one_and_show_every_error() {
    let f = temp(
        "two.arch",
        b"system s {\n  workload w { entry nope.x rate 5 rps }\n  service api { time 5ms }\n}\n",
    );
    let o = support::kendall(&["check", &f]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("E0302"), "{err}");
    assert!(err.contains("E0506"), "{err}");
    assert!(err.contains("checked 1 file: 2 errors"), "{err}");
}

#[test]
fn empty_and_non_utf8_files_are_design_errors() {
    let empty = temp("empty.arch", b"");
    let o = support::kendall(&["check", &empty]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("E0002"));
    let latin1 = temp("latin1.arch", b"// caf\xe9\nsystem s {}\n");
    let o = support::kendall(&["check", &latin1]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("E0001"));
}

#[test]
fn unreadable_paths_and_usage_errors_exit_two() {
    let o = support::kendall(&["check", "does/not/exist.arch"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cannot read `does/not/exist.arch`: no such file"));
    assert_eq!(code(&support::kendall(&["check"])), 2);
    assert_eq!(
        code(&support::kendall(&[
            "check",
            "--bogus",
            "examples/recsys.arch"
        ])),
        2
    );
    assert_eq!(code(&support::kendall(&["frobnicate"])), 2);
    assert_eq!(
        code(&support::kendall(&[
            "check",
            "--emit",
            "model",
            "examples/recsys.arch",
            "examples/rag.arch"
        ])),
        2
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let f = temp("warns.arch", WARNS);
    let o = support::kendall(&["check", &f]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("W0601"));
    assert!(stderr(&o).contains("1 warning"));
    let o = support::kendall(&["check", "--deny-warnings", &f]);
    assert_eq!(code(&o), 1);
}

#[test]
fn json_diagnostics_have_one_based_positions() {
    let f = temp(
        "json.arch",
        b"system s {\n  service api {\n    time exp(5 rps)\n  }\n}\n",
    );
    let o = support::kendall(&["check", "--format", "json", &f]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is json");
    let d = &v["diagnostics"][0];
    assert_eq!(d["file"], f.as_str());
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 14);
    assert_eq!(d["code"], "E0403");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "`exp` needs a time, found a rate `5 rps`");
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 1);
}

#[test]
fn json_warnings_are_reported_with_severity() {
    let f = temp("jsonw.arch", WARNS);
    let o = support::kendall(&["check", "--format", "json", &f]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["severity"], "warning");
    assert_eq!(v["diagnostics"][0]["code"], "W0601");
    assert_eq!(v["diagnostics"][0]["line"], 4);
}

#[test]
fn emit_model_prints_the_model_json() {
    let o = support::kendall(&["check", "--emit", "model", "examples/recsys.arch"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is json");
    assert_eq!(m["system"], "recsys");
    let api = m["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "api")
        .unwrap();
    assert_eq!(api["replicas"]["min"], 2);
    assert_eq!(api["replicas"]["max"], 40);
    assert_eq!(api["cpu_cores"], 0.5);
    assert_eq!(api["endpoints"][0]["time"]["mean_s"], 0.0012);
    let homepage = &m["workloads"][0];
    assert_eq!(homepage["rate_rps"], 2400.0);
    assert_eq!(homepage["slos"][0]["target_s"], 0.12);
    assert_eq!(homepage["slos"][0]["quantile"], 0.99);
}

#[test]
fn output_is_deterministic() {
    let a = support::kendall(&["check", "--emit", "model", "examples/rag.arch"]);
    let b = support::kendall(&["check", "--emit", "model", "examples/rag.arch"]);
    assert_eq!(a.stdout, b.stdout);
    let f = temp(
        "det.arch",
        b"system s {\n  service a { time 5ms call b }\n  service b { time 5ms call a }\n}\n",
    );
    let a = support::kendall(&["check", &f]);
    let b = support::kendall(&["check", &f]);
    assert_eq!(a.stderr, b.stderr);
}

#[test]
fn explain_prints_the_page() {
    let o = support::kendall(&["explain", "E0302"]);
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("# E0302: unknown service"));
    let o = support::kendall(&["explain", "e0302"]);
    assert_eq!(code(&o), 0);
    let o = support::kendall(&["explain", "E9999"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no diagnostic code `E9999`"));
}

#[test]
fn predict_reports_unstable_stations_and_exits_one() {
    let o = support::kendall(&["predict", "--color", "never", "examples/recsys.arch"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("E0801"), "{err}");
    assert!(err.contains("service `retrieval` is overloaded"), "{err}");
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("homepage"), "{table}");
    assert!(table.contains("unstable"), "{table}");
}

#[test]
fn predict_with_replicas_meets_the_slos() {
    let o = support::kendall(&[
        "predict",
        "--format",
        "json",
        "--replicas",
        "retrieval=6,events=2",
        "examples/recsys.arch",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let w = &v["workloads"][0];
    assert_eq!(w["name"], "homepage");
    assert_eq!(w["rate_rps"], 2400.0);
    for key in ["mean_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms"] {
        assert!(
            w[key].as_f64().is_some_and(|x| x > 0.0),
            "{key}: {}",
            w[key]
        );
    }
    assert!(w["p50_ms"].as_f64() < w["p99_ms"].as_f64());
    assert_eq!(w["slos"][0]["stat"], "p99");
    assert_eq!(w["slos"][0]["target_ms"], 120.0);
    assert_eq!(w["slos"][0]["met"], true);
    let retrieval = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "retrieval")
        .unwrap();
    assert_eq!(retrieval["replicas"], 6);
    assert_eq!(retrieval["servers"], 24);
    assert_eq!(retrieval["utilization"], 0.6);
    for key in [
        "name",
        "arrival_rps",
        "replicas",
        "servers",
        "utilization",
        "wait_mean_ms",
        "sojourn_mean_ms",
        "sojourn_p99_ms",
        "model",
        "warnings",
    ] {
        assert!(retrieval.get(key).is_some(), "services[].{key} missing");
    }
}

#[test]
fn predict_load_scales_every_workload() {
    let base = support::kendall(&[
        "predict",
        "--format",
        "json",
        "--replicas",
        "retrieval=6,events=2,ranker=2",
        "examples/recsys.arch",
    ]);
    let more = support::kendall(&[
        "predict",
        "--format",
        "json",
        "--load",
        "1.5x",
        "--replicas",
        "retrieval=6,events=2,ranker=2",
        "examples/recsys.arch",
    ]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&base.stdout).unwrap(),
        serde_json::from_slice(&more.stdout).unwrap(),
    );
    assert_eq!(b["workloads"][0]["rate_rps"], 3600.0);
    assert!(b["workloads"][0]["p99_ms"].as_f64() > a["workloads"][0]["p99_ms"].as_f64());
}

#[test]
fn predict_usage_errors_exit_two() {
    let o = support::kendall(&[
        "predict",
        "--replicas",
        "retreival=3",
        "examples/recsys.arch",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no service named `retreival`"));
    assert!(stderr(&o).contains("did you mean `retrieval`?"));
    assert_eq!(
        code(&support::kendall(&[
            "predict",
            "--replicas",
            "api=0",
            "examples/recsys.arch"
        ])),
        2
    );
    assert_eq!(
        code(&support::kendall(&[
            "predict",
            "--replicas",
            "api",
            "examples/recsys.arch"
        ])),
        2
    );
    assert_eq!(
        code(&support::kendall(&[
            "predict",
            "--load",
            "-2x",
            "examples/recsys.arch"
        ])),
        2
    );
    assert_eq!(code(&support::kendall(&["predict", "missing.arch"])), 2);
}

#[test]
fn predict_of_a_broken_design_reports_its_errors() {
    let f = temp(
        "broken.arch",
        b"system s {\n  service api { time 5ms }\n}\n",
    );
    let o = support::kendall(&["predict", "--format", "json", &f]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "E0506");
}

#[test]
fn compare_tabulates_both_designs_and_refuses_bad_ranges() {
    let (a, b) = (
        "examples/paper/monolith.arch",
        "examples/paper/microservices.arch",
    );
    let o = support::kendall(&["compare", a, b, "--load", "1x..2x", "--steps", "2"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(a) && out.contains(b), "{out}");
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with('✓') || l.ends_with('✗'))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with("1x") && rows[1].starts_with("2x"),
        "{out}"
    );
    let json = support::kendall(&["compare", a, b, "--format", "json"]);
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["designs"][0], a);
    for bad in [
        vec!["--load", "0x..2x"],
        vec!["--scale", "170%"],
        vec!["--steps", "0"],
        vec!["--replicas-a", "nosuch=3"],
    ] {
        let mut args = vec!["compare", a, b];
        args.extend(bad.iter().copied());
        let o = support::kendall(&args);
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("error: "), "{bad:?}: {}", stderr(&o));
    }
}
