//! `kendall test`: scenarios judged on known answers, their report, their JUnit XML, and
//! the simulator as the judge.

mod support;

use kendall::resolve::MemoryLoader;
use kendall::scenario::{Engine, Outcome, run};
use std::collections::BTreeMap;

fn outcomes(file: &str, engine: &Engine) -> Vec<Outcome> {
    let path = support::root().join(file);
    let bytes = std::fs::read(&path).unwrap();
    let c = kendall::compile(file, &bytes, &MemoryLoader::new());
    let model = c.model.expect("the fixture checks");
    run(&model, &BTreeMap::new(), engine)
}

fn value(o: &Outcome, what: &str) -> f64 {
    let c = (o.checks.iter())
        .find(|c| c.what == what)
        .unwrap_or_else(|| panic!("{}: no check `{what}` in {:?}", o.name, o.checks));
    c.value
        .unwrap_or_else(|| panic!("`{what}` has no figure: {:?}", c.note))
}

fn close(a: f64, b: f64) {
    // Latencies come from the 4,096-point lattice: exact to about 2e-6 here.
    assert!((a - b).abs() <= 1e-5 * b.abs(), "{a} vs {b}");
}

/// M/M/c answers worked by hand in the fixture's comments.
#[test]
fn scenarios_are_judged_on_exact_figures() {
    let o = outcomes("tests/scenarios/pass.arch", &Engine::Predict);
    assert!(o.iter().all(Outcome::passed), "{o:#?}");
    // M/M/2, ρ = 0.25: Erlang C = 0.1, T = 10ms + 0.1 / 150/s.
    close(value(&o[0], "orders.mean < 12.0ms"), 0.010 + 0.1 / 150.0);
    close(value(&o[0], "api.utilization < 30.0%"), 0.25);
    close(value(&o[0], "cost <= $0.10/h"), 0.10);
    // λ = 80/s: a = 0.8, C = (0.32 / 0.6) / (1.8 + 0.32 / 0.6).
    let c = (0.32 / 0.6) / (1.8 + 0.32 / 0.6);
    close(value(&o[1], "orders.mean < 12.0ms"), 0.010 + c / 120.0);
    // One replica with two workers is M/M/2 again.
    close(value(&o[2], "orders.mean < 11.0ms"), 0.010 + 0.1 / 150.0);
    assert_eq!(o[2].changes, ["fail 1 of 2 zones", "set api.workers 2"]);
}

#[test]
fn failing_scenarios_name_their_reason() {
    let o = outcomes("tests/scenarios/fail.arch", &Engine::Predict);
    assert!(o.iter().all(|o| !o.passed()), "{o:#?}");
    let note = |o: &Outcome| o.checks[0].note.clone().unwrap_or_default();
    assert_eq!(
        note(&o[0]),
        "`api` is overloaded (100% of capacity; needs 3 replicas)"
    );
    // M/M/1 at ρ = 0.5: the sojourn is exponential with mean 20ms.
    let p99 = 0.020 * 100f64.ln();
    assert!((value(&o[1], "orders.p99 < 60.0ms") - p99).abs() < 2e-5 * p99);
    assert!((value(&o[2], "orders.p99 < 100ms") - p99).abs() < 2e-5 * p99);
    close(value(&o[2], "api.utilization < 40.0%"), 0.5);
    assert!(
        o[2].checks
            .iter()
            .find(|c| c.what.starts_with("orders"))
            .unwrap()
            .passed
    );
    assert_eq!(note(&o[3]), "`api` has no replica left");
    // P(T > t) = e^{−100t}·(1 + 0.2·(1 − e^{−50t})) = 0.001 at t = 70.85ms.
    let t = value(&o[4], "orders.p99.9 < 80.0ms");
    let tail = (-100.0 * t).exp() * (1.0 + 0.2 * (1.0 - (-50.0 * t).exp()));
    assert!((tail - 0.001).abs() < 2e-5, "P(T > {t}) = {tail}");
    close(value(&o[4], "cost < $0.08/h"), 0.10);
}

#[test]
fn the_simulator_agrees_within_its_confidence_interval() {
    let options = kendall::simulate::Options {
        requests: 40_000,
        replications: 6,
        seed: 7,
        ..Default::default()
    };
    let o = outcomes("tests/scenarios/pass.arch", &Engine::Simulate(options));
    let check = |o: &Outcome, what: &str, exact: f64| {
        let c = o.checks.iter().find(|c| c.what == what).unwrap();
        let (v, h) = (
            c.value.unwrap(),
            c.ci95.expect("a simulated figure has an interval"),
        );
        assert!(
            (v - exact).abs() <= h.max(0.01 * exact),
            "{what}: {v} ± {h} vs {exact}"
        );
    };
    check(&o[0], "orders.mean < 12.0ms", 0.010 + 0.1 / 150.0);
    check(&o[0], "api.utilization < 30.0%", 0.25);
    check(&o[2], "orders.mean < 11.0ms", 0.010 + 0.1 / 150.0);
}

#[test]
fn the_report_has_one_line_per_scenario_and_the_exit_code_says_whether_all_held() {
    let pass = support::kendall(&["test", "tests/scenarios/pass.arch"]);
    assert_eq!(pass.status.code(), Some(0));
    let both = support::kendall(&[
        "test",
        "tests/scenarios/pass.arch",
        "tests/scenarios/fail.arch",
    ]);
    assert_eq!(both.status.code(), Some(1));
    insta::assert_snapshot!("report", String::from_utf8_lossy(&both.stdout).into_owned());
}

#[test]
fn junit_xml_names_every_scenario_and_its_failures() {
    let dir = std::env::temp_dir().join(format!("kendall-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml = dir.join("report.xml");
    let o = support::kendall(&[
        "test",
        "tests/scenarios/pass.arch",
        "tests/scenarios/fail.arch",
        "--junit",
        xml.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&xml).unwrap();
    insta::assert_snapshot!("junit", text);
    // Read back by a JUnit reader: the counts a CI system shows.
    let report = quick_junit::Report::deserialize_from_str(&text).expect("valid JUnit");
    assert_eq!((report.tests, report.failures, report.errors), (8, 5, 0));
}

#[test]
fn unreadable_files_and_broken_designs_fail_cleanly() {
    let missing = support::kendall(&["test", "tests/scenarios/nope.arch"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read `tests/scenarios/nope.arch`")
    );
    let broken = support::kendall(&[
        "test",
        "tests/fixtures/errors/unknown_workload_in_scenario.arch",
        "--color",
        "never",
    ]);
    assert_eq!(broken.status.code(), Some(1));
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("E0"), "{err}");
    let bad_flag = support::kendall(&[
        "test",
        "tests/scenarios/pass.arch",
        "--simulate",
        "--requests",
        "0",
    ]);
    assert_eq!(bad_flag.status.code(), Some(2));
}
