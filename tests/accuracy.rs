//! The accuracy suite: every analytic model of `kendall predict` against the simulator, on the
//! designs in `tests/accuracy/` (QUEUEING.md §5; results in `docs/models.md`).
//!
//! Each case predicts a design at one load and simulates it with a fixed seed, then compares
//! every workload's mean and p99. A case passes when |error| ≤ goal + the simulator's own
//! relative 95% half-width. Models that miss their goal are listed in [`KNOWN_MISSES`] with
//! the error measured today, so the test fails if they get worse (and when they get better,
//! so the entry is removed): a miss is never hidden behind a wider tolerance.
//!
//! A prediction of a retry storm (E0803: the callee unstable, no latency) is checked the other
//! way round: it passes when the simulator fails at least 99% of the workload's timed calls,
//! i.e. the simulated callee is in the storm too.
//!
//! Regenerate the table in `docs/models.md` with
//! `KENDALL_WRITE_ACCURACY=1 cargo test --release --test accuracy`.

mod support;

use kendall::queueing::{self, Options};
use kendall::resolve::FsLoader;
use kendall::simulate;
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Goal {
    /// M/M/c: exact, so within the simulator's interval.
    Exact,
    /// Chains and DAGs of exponential stations: mean 2%, p99 5%.
    Network,
    /// Fan-out and fork-join: mean 5%, p99 8%.
    ForkJoin,
    /// General service times: mean 5%, p99 10%.
    General,
    /// Dynamic batching: mean 5%, p99 15%.
    Batching,
    /// Models QUEUEING.md sets no goal for (balance policies, blocking, retries): measured
    /// and published, held to the network goal.
    Other,
}

impl Goal {
    fn limits(self) -> (f64, f64) {
        match self {
            Goal::Exact => (0.0, 0.0),
            Goal::Network | Goal::Other => (0.02, 0.05),
            Goal::ForkJoin => (0.05, 0.08),
            Goal::General => (0.05, 0.10),
            Goal::Batching => (0.05, 0.15),
        }
    }
    fn label(self) -> &'static str {
        match self {
            Goal::Exact => "exact",
            Goal::Network => "network 2% / 5%",
            Goal::ForkJoin => "fork-join 5% / 8%",
            Goal::General => "general 5% / 10%",
            Goal::Batching => "batching 5% / 15%",
            Goal::Other => "(none) 2% / 5%",
        }
    }
}

const CASES: &[(&str, &[f64], Goal)] = &[
    ("mm1", &[1.0, 1.6, 1.9], Goal::Exact),
    ("mmc", &[1.0, 1.6, 1.9], Goal::Exact),
    ("chain", &[1.0, 1.6], Goal::Network),
    ("dag", &[1.0, 1.6], Goal::Network),
    ("shards2", &[1.0, 1.6], Goal::ForkJoin),
    ("shards4", &[1.0, 1.6], Goal::ForkJoin),
    ("shards8", &[1.0, 1.6], Goal::ForkJoin),
    ("shards32", &[1.0, 1.6], Goal::ForkJoin),
    ("fanout", &[1.0, 1.6], Goal::ForkJoin),
    ("general", &[1.0, 1.6], Goal::General),
    ("balance", &[1.0, 1.6], Goal::Other),
    ("blocking", &[1.0, 1.5], Goal::Other),
    ("batching", &[1.0, 2.0], Goal::Batching),
    ("retries", &[1.0, 1.4], Goal::Other),
    ("retries2", &[0.6, 0.8, 1.0], Goal::Other),
];

/// (design, load, workload, statistic) whose error misses its goal today, with the measured
/// error (prediction − simulation) / simulation. The test fails if the error moves more than
/// 2 percentage points either way from this figure.
const KNOWN_MISSES: &[(&str, f64, &str, &str, f64)] = &[
    // Two retries at 0.8x (96% with every attempt, W0802 "retry storm risk"): the simulator
    // fails 14% of calls in long congested spells; the correlated-attempts model
    // (queueing/retry_queue.rs) finds no steady state (W0802), so the figures are those of
    // independent attempts. (One retry at 1x and two at 0.6x are met by that model; at 1.4x
    // and 1x respectively the retry storm is predicted, E0803, and simulated.)
    ("retries2", 0.8, "w", "mean", -0.604),
    ("retries2", 0.8, "w", "p99", -0.604),
];

struct Row {
    design: &'static str,
    load: f64,
    workload: String,
    models: String,
    goal: Goal,
    predicted: [f64; 2],
    simulated: [f64; 2],
    ci: [f64; 2],
    /// The prediction is a retry storm: the fraction of timed calls the simulator failed.
    storm: Option<f64>,
}

impl Row {
    fn error(&self, i: usize) -> f64 {
        (self.predicted[i] - self.simulated[i]) / self.simulated[i]
    }
    fn ci_relative(&self, i: usize) -> f64 {
        self.ci[i] / self.simulated[i]
    }
    fn within_goal(&self, i: usize) -> bool {
        if let Some(failed) = self.storm {
            return failed >= 0.99;
        }
        let limit = [self.goal.limits().0, self.goal.limits().1][i];
        self.error(i).abs() <= limit + self.ci_relative(i)
    }
}

const SIMULATION: simulate::Options = simulate::Options {
    requests: 100_000,
    replications: 8,
    seed: 7,
    load: 1.0,
    replicas: std::collections::BTreeMap::new(),
    traces: std::collections::BTreeMap::new(),
    threads: 0,
};

fn measure() -> Vec<Row> {
    let mut rows = Vec::new();
    for &(design, loads, goal) in CASES {
        let path = format!(
            "{}/../tests/accuracy/{design}.arch",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).expect("accuracy design");
        let compiled = kendall::compile(&path, &bytes, &FsLoader);
        assert!(
            !compiled.diagnostics.has_errors(),
            "{}",
            support::render_all(&compiled)
        );
        let model = compiled.model.expect("a model");
        for &load in loads {
            let prediction = queueing::predict(
                &model,
                &Options {
                    load,
                    ..Default::default()
                },
            )
            .expect("no divergence");
            let simulation = simulate::simulate(
                &model,
                &simulate::Options {
                    load,
                    ..SIMULATION.clone()
                },
            )
            .expect("simulates");
            for (p, s) in prediction.workloads.iter().zip(&simulation.workloads) {
                assert_eq!(p.name, s.name);
                // A predicted retry storm has no latency; the simulator must be in it too.
                let storm = p.latency.is_none().then(|| {
                    assert!(
                        !prediction.retry_storms.is_empty(),
                        "{design} at {load}x: the prediction is unstable; lower the load"
                    );
                    s.calls.failed as f64 / s.calls.timed.max(1) as f64
                });
                let latency = p.latency.as_ref();
                let models: Vec<&str> = prediction
                    .services
                    .iter()
                    .map(|s| s.model)
                    .filter(|m| *m != "idle")
                    .collect();
                let mut models = models;
                models.dedup();
                rows.push(Row {
                    design,
                    load,
                    workload: p.name.clone(),
                    models: models.join(", "),
                    goal,
                    predicted: latency.map_or([f64::NAN; 2], |l| [l.mean_s, l.p99_s]),
                    simulated: [s.mean_s.mean, s.p99_s.mean],
                    ci: [s.mean_s.ci95.unwrap_or(0.0), s.p99_s.ci95.unwrap_or(0.0)],
                    storm,
                });
            }
        }
    }
    rows
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| design | load | workload | models | mean: predicted / simulated ± 95% | error | p99: predicted / simulated ± 95% | error | goal |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let verdict = |i: usize| {
            if r.within_goal(i) { "" } else { " **miss**" }
        };
        // A predicted storm has no latency: the simulated figures, and the share of calls the
        // simulator failed.
        let cell = |i: usize| match r.storm {
            Some(failed) => format!(
                "storm (E0803) / {:.3} ± {:.3} ms | simulated: {:.1}% of calls fail{}",
                r.simulated[i] * 1e3,
                r.ci[i] * 1e3,
                failed * 100.0,
                verdict(i)
            ),
            None => format!(
                "{:.3} / {:.3} ± {:.3} ms | {:+.1}%{}",
                r.predicted[i] * 1e3,
                r.simulated[i] * 1e3,
                r.ci[i] * 1e3,
                r.error(i) * 100.0,
                verdict(i)
            ),
        };
        writeln!(
            out,
            "| {} | {}x | {} | {} | {} | {} | {} |",
            r.design,
            r.load,
            r.workload,
            r.models,
            cell(0),
            cell(1),
            r.goal.label(),
        )
        .unwrap();
    }
    out
}

const BEGIN: &str = "<!-- accuracy table: generated by tests/accuracy.rs -->\n";
const END: &str = "<!-- end of accuracy table -->\n";

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "simulates ~40 designs: run in release (`cargo test --release --test accuracy`)"
)]
fn every_model_against_the_simulator() {
    let rows = measure();
    let text = table(&rows);
    println!("{text}");
    if std::env::var_os("KENDALL_WRITE_ACCURACY").is_some() {
        let path = format!("{}/../docs/models.md", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(&path).expect("docs/models.md");
        let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/models.md has no accuracy table markers");
        };
        let updated = format!("{}{BEGIN}{text}{}", &doc[..a], &doc[b..]);
        std::fs::write(&path, updated).expect("write docs/models.md");
    }
    let mut failures = Vec::new();
    for r in &rows {
        for (i, stat) in ["mean", "p99"].iter().enumerate() {
            let known = KNOWN_MISSES
                .iter()
                .find(|k| k.0 == r.design && k.1 == r.load && k.2 == r.workload && k.3 == *stat);
            match (r.within_goal(i), known) {
                (true, None) => {}
                (true, Some(_)) => failures.push(format!(
                    "{} {}x {} {stat}: now within its goal ({:+.1}%): remove it from KNOWN_MISSES",
                    r.design,
                    r.load,
                    r.workload,
                    r.error(i) * 100.0
                )),
                (false, None) => failures.push(format!(
                    "{} {}x {} {stat}: error {:+.1}% misses the {} goal (simulator ± {:.1}%)",
                    r.design,
                    r.load,
                    r.workload,
                    r.error(i) * 100.0,
                    r.goal.label(),
                    r.ci_relative(i) * 100.0
                )),
                (false, Some(k)) => {
                    if (r.error(i) - k.4).abs() > 0.02 {
                        failures.push(format!(
                            "{} {}x {} {stat}: error {:+.1}%, recorded as {:+.1}%",
                            r.design,
                            r.load,
                            r.workload,
                            r.error(i) * 100.0,
                            k.4 * 100.0
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
