//! `kendall plan`: optimality against brute force, infeasibility explanations, plan.json,
//! every example's plan (snapshots) and its simulation.

mod support;

use kendall::model::Model;
use kendall::plan::{self, PlanOptions, Reason};
use kendall::resolve::MemoryLoader;

fn model(design: &str) -> Model {
    let compiled = kendall::compile("t.arch", design.as_bytes(), &MemoryLoader::new());
    assert!(
        !compiled.diagnostics.has_errors(),
        "{}",
        support::render_all(&compiled)
    );
    compiled.model.expect("the design compiles")
}

fn assert_optimal(design: &str, options: &PlanOptions) -> plan::Plan {
    let m = model(design);
    let planned = plan::plan(&m, options).expect("a plan exists");
    let (cost, count, replicas) =
        support::brute::brute_force(&m, options).expect("brute force finds a plan");
    assert!(
        (planned.cost_per_hour - cost).abs() < 1e-3,
        "plan costs {} with {:?}, brute force {} with {:?}",
        planned.cost_per_hour,
        planned.replicas(),
        cost,
        replicas
    );
    assert_eq!(
        planned.total_replicas,
        count,
        "{:?} vs {:?}",
        planned.replicas(),
        replicas
    );
    assert!(planned.optimal);
    planned
}

/// A chain whose p99 needs more than the utilisation bounds give, with services of different
/// prices: the cheapest way to buy latency is the question.
const CHAIN: &str = r#"
system chain {
  pricing { cpu $1/h }
  workload w { entry api.handle  rate 150 rps  slo p99 < 60ms  slo p50 < 20ms }
  service api {
    cpu 1  workers 1  balance random  replicas 1..5
    endpoint handle { time exp(2ms)  call mid.work }
  }
  service mid {
    cpu 2  workers 2  balance random  replicas 1..5
    endpoint work { time exp(9ms)  call leaf.get }
  }
  service leaf {
    cpu 3  workers 1  balance shared  replicas 1..5
    endpoint get { time exp(4ms) }
  }
}
"#;

#[test]
fn chain_is_optimal() {
    let options = PlanOptions {
        min_replicas: 1,
        ..PlanOptions::default()
    };
    let p = assert_optimal(CHAIN, &options);
    // Latency, not utilisation, decides: mid's utilisation bound is 1 replica.
    assert!(
        p.services.iter().map(|s| s.replicas).sum::<u32>() > 3,
        "{p:?}"
    );
}

/// Two parallel branches (one a GPU batcher), a pinned service, two zones, and a cluster
/// cap on cpu.
const FORK: &str = r#"
system fork {
  pricing { cpu $0.5/h  gpu nvidia-l4 $0.7/h }
  cluster { cpu 40 }
  workload w { entry front.go  rate 300 rps  slo p99 < 45ms }
  service front {
    cpu 1  workers 4  replicas 1..4
    endpoint go {
      time exp(1ms)
      parallel { call left.a  call right.b }
      call tail.t
    }
  }
  service left {
    cpu 2  workers 2  balance round_robin  replicas 1..4
    endpoint a { time gamma(mean 6ms, cv 0.5) }
  }
  service right {
    cpu 4  gpu nvidia-l4 x 1  workers 1  replicas 1..4
    endpoint b { batch max 8 wait 2ms  time 3ms + 1ms per item }
  }
  service tail {
    cpu 1  workers 1  replicas 3
    endpoint t { time exp(0.5ms) }
  }
  deploy kubernetes { zones 2 }
}
"#;

#[test]
fn fork_with_zones_is_optimal() {
    assert_optimal(FORK, &PlanOptions::default());
}

#[test]
fn fork_without_redundancy_is_optimal() {
    let options = PlanOptions {
        min_replicas: 1,
        zone_loss: false,
        ceiling: 0.7,
        ..PlanOptions::default()
    };
    assert_optimal(FORK, &options);
}

#[test]
fn chain_under_a_budget_at_higher_load_is_optimal() {
    let design = CHAIN.replace(
        "pricing { cpu $1/h }",
        "pricing { cpu $1/h }\n  budget $40/h",
    );
    let options = PlanOptions {
        min_replicas: 1,
        load: 1.5,
        ..PlanOptions::default()
    };
    assert_optimal(&design, &options);
}

#[test]
fn an_slo_below_the_unloaded_latency_is_explained() {
    let design = CHAIN.replace("slo p99 < 60ms", "slo p99 < 20ms");
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    let [
        Reason::Slo {
            workload,
            stat,
            target_ms,
            unloaded_ms,
            path,
            ..
        },
    ] = e.reasons.as_slice()
    else {
        panic!("{e:?}");
    };
    assert_eq!(
        (workload.as_str(), stat.as_str(), *target_ms),
        ("w", "p99", 20.0)
    );
    assert!(*unloaded_ms > 20.0, "{unloaded_ms}");
    assert_eq!(path, &["api", "mid", "leaf"]);
    let message = e.reasons[0].to_string();
    assert!(
        message.contains("the unloaded latency of the critical path api → mid → leaf is"),
        "{message}"
    );
    assert!(message.contains("no replica count helps"), "{message}");
}

#[test]
fn an_slo_that_needs_more_than_the_range_is_explained() {
    // Unloaded the chain's p99 is 49ms; at 150 rps with one replica each, 89ms.
    let design = CHAIN
        .replace("slo p99 < 60ms", "slo p99 < 70ms")
        .replace("replicas 1..5", "replicas 1");
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    let Reason::Slo {
        unloaded_ms,
        best_ms,
        help,
        ..
    } = &e.reasons[0]
    else {
        panic!("{e:?}");
    };
    assert!(*unloaded_ms < 70.0 && *best_ms > 70.0, "{e:?}");
    assert!(
        help.contains("pinned at 1 replicas: give it a range"),
        "{help}"
    );
}

#[test]
fn a_small_cluster_is_explained() {
    let design = FORK.replace("cluster { cpu 40 }", "cluster { cpu 12 }");
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    let [
        Reason::Cluster {
            resource,
            needed,
            available,
            floor,
        },
    ] = e.reasons.as_slice()
    else {
        panic!("{e:?}");
    };
    // Floors: front 2, left 2 × 2, right 2 × 4, tail 3 (pinned): 17 cores.
    assert_eq!(
        (resource.as_str(), *needed, *available, *floor),
        ("cpu", 17.0, 12.0, true)
    );
    assert!(e.reasons[0].to_string().contains("short by 5.0"));
}

#[test]
fn a_small_budget_is_explained() {
    let design = CHAIN.replace(
        "pricing { cpu $1/h }",
        "pricing { cpu $1/h }\n  budget $5/h",
    );
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    let [
        Reason::Budget {
            needed_per_hour,
            available_per_hour,
            floor: true,
        },
    ] = e.reasons.as_slice()
    else {
        panic!("{e:?}");
    };
    // Two replicas each at $1 + $2 + $3 per replica.
    assert_eq!((*needed_per_hour, *available_per_hour), (12.0, 5.0));
}

#[test]
fn a_pinned_service_over_the_ceiling_is_explained() {
    let design = CHAIN.replace(
        "cpu 3  workers 1  balance shared  replicas 1..5",
        "cpu 3  workers 1  balance shared  replicas 1",
    );
    // leaf: 150 rps × 4ms = 0.6 busy servers on 1; at 2x, 120%: unstable.
    let options = PlanOptions {
        load: 2.0,
        ..PlanOptions::default()
    };
    let e = plan::plan(&model(&design), &options).unwrap_err();
    let [
        Reason::Capacity {
            service,
            replicas: 1,
            replicas_needed: 2,
            pinned: true,
            ..
        },
    ] = e.reasons.as_slice()
    else {
        panic!("{e:?}");
    };
    assert_eq!(service, "leaf");
}

#[test]
fn a_job_is_sized_to_its_deadline() {
    let design = r#"
system nightly {
  pricing { cpu $0.05/h  gpu nvidia-a100 $2.50/h }
  workload train { entry trainer.fit  every 24h  work 100 gpu-hours  deadline 5h }
  workload ping { entry api  rate 1 rps  slo p99 < 100ms }
  service api { cpu 1  time exp(1ms) }
  service trainer {
    kind job  cpu 10  gpu nvidia-a100 x 4
    endpoint fit { }
  }
}
"#;
    let p = plan::plan(&model(design), &PlanOptions::default()).unwrap();
    let job = &p.jobs[0];
    // 100 GPU-hours on 4 GPUs a replica in 5h: 5 replicas (4 would take 6.25h).
    assert_eq!((job.replicas, job.run_hours), (5, 5.0));
    // A replica costs 4 × $2.50 + 10 × $0.05 = $10.50/h; a run 5 × 10.5 × 5h.
    assert_eq!(job.cost_per_run, 262.5);
    assert_eq!(job.cost_per_hour, 10.9375);
    // The api's two replicas at $0.05 plus the job.
    assert_eq!(p.cost_per_hour, 0.1 + 10.9375);
    let pinned = design.replace("kind job  cpu 10", "kind job  replicas 4  cpu 10");
    let e = plan::plan(&model(&pinned), &PlanOptions::default()).unwrap_err();
    assert_eq!(
        e.reasons[0].to_string(),
        "job `train` needs 5 replicas of `trainer` to finish within its deadline, which is pinned at 4; raise the pin or extend the deadline"
    );
}

#[test]
fn plan_json_round_trips() {
    let p = plan::plan(&model(CHAIN), &PlanOptions::default()).unwrap();
    let text = plan::to_json_string(&p);
    assert_eq!(plan::from_json(&text).unwrap(), p);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "feasible",
        "cost_per_hour",
        "services",
        "workloads",
        "headroom",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(plan::from_json("{}").unwrap_err().starts_with("not a plan"));
}

/// Every example's plan: its cost, replicas and latencies as a reviewed snapshot; and,
/// simulated, it meets its SLOs — no simulated percentile above its target by more than the
/// 95% confidence half-width, no station saturated. (One test, so each example is planned
/// once.)
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "plans and simulates every example (~10 min in debug): run in release (`cargo test --release --test plan`)"
)]
fn examples() {
    let dir = support::root().join("examples").canonicalize().unwrap();
    insta::glob!("..", "examples/**/*.arch", |path| {
        let rel = path.canonicalize().unwrap();
        let rel = rel
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let m = support::compile_in(&dir, &rel)
            .model
            .expect("examples compile");
        let p = plan::plan(&m, &PlanOptions::default()).expect("every example has a plan");
        insta::assert_json_snapshot!("plan", plan::to_json(&p));
        let options = kendall::simulate::Options {
            requests: 40_000,
            replications: 4,
            seed: 3,
            load: p.load,
            replicas: p.replicas(),
            ..Default::default()
        };
        let s = kendall::simulate::simulate(&m.with_choices(&p.choices()), &options).unwrap();
        for w in &s.workloads {
            for slo in &w.slos {
                let e = slo.simulated_s;
                assert!(
                    e.mean - e.ci95.unwrap_or(0.0) <= slo.target_s,
                    "{rel}: {} {} simulated {:?} > {}",
                    w.name,
                    slo.stat,
                    e,
                    slo.target_s
                );
            }
        }
        assert!(s.services.iter().all(|x| !x.saturated), "{rel}");
    });
}

/// The binary: `plan --out`, then `predict --plan` and `simulate --plan` read it; `sweep`
/// writes CSV; an infeasible design exits 1 with its reason.
#[test]
fn cli_plan_predict_simulate_sweep() {
    let run = support::kendall;
    let dir = std::env::temp_dir().join(format!("kendall-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("plan.json").to_string_lossy().into_owned();
    let design = "examples/paper/monolith.arch";
    let o = run(&["plan", design, "--out", &out]);
    assert_eq!(o.status.code(), Some(0));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.contains("cost: $3.84/h, $2803/month; 4 replicas"),
        "{table}"
    );
    let o = run(&["predict", design, "--plan", &out, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["services"][0]["replicas"], 4);
    let o = run(&[
        "simulate",
        design,
        "--plan",
        &out,
        "--requests",
        "2000",
        "--replications",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&[
        "predict",
        "examples/paper/microservices.arch",
        "--plan",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "sweep", design, "--load", "0.5x..2x", "--steps", "4", "--format", "csv",
    ]);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "load,feasible,cost_per_hour,total_replicas,replicas_app,p99_ms_homepage\n\
         0.5,true,3.84,4,4,25.117\n1,true,3.84,4,4,25.45\n1.5,true,4.8,5,5,25.941\n\
         2,true,5.76,6,6,26.725\n"
    );
    let o = run(&["plan", design, "--load", "40x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("error: no plan for `monolith` at 40x load"),
        "{err}"
    );
}

/// The plan is what `generate`, `report` and `graph` deploy and draw: the same replicas, the
/// autoscaler's ceiling from the peak, its target from the planned utilisation.
#[test]
fn the_plan_flows_into_generate_report_and_graph() {
    let dir = support::root().join("examples").join("paper");
    let m = support::compile_in(&dir, "monolith.arch").model.unwrap();
    let p = plan::plan(&m, &PlanOptions::default()).unwrap();
    let app = &p.services[0];
    assert_eq!((app.name.as_str(), app.replicas), ("app", 4));
    let a = kendall::generate::Allocation::from_plan(&m, &p);
    let placed = &a.services["app"];
    assert_eq!(placed.replicas, 4);
    assert_eq!(placed.max_replicas, app.max_replicas.max(4));
    assert_eq!(placed.target_utilization, app.utilization.clamp(0.2, 0.9));
    let html = kendall::report::render(
        &m,
        &kendall::report::Inputs {
            file: "monolith.arch".into(),
            replicas: p.replicas(),
            loads: vec![1.0],
            plan: Some(p.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        html.contains("$3.84/h ($2803/month) for 4 replicas"),
        "{html}"
    );
    assert!(html.contains("<tr><td>app</td><td>4</td>"));
    // `graph --plan` reads the plan file.
    let dir = std::env::temp_dir().join(format!("kendall-plan-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    std::fs::write(&path, plan::to_json_string(&p)).unwrap();
    let o = support::kendall(&[
        "graph",
        "examples/paper/monolith.arch",
        "--plan",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dot = String::from_utf8(o.stdout).unwrap();
    assert!(dot.contains("4 replicas"), "{dot}");
}
