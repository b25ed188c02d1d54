//! `kendall plan` with choices — `gpu one_of(…)` and `batch max A..B`: the planner picks the
//! cheaper GPU when it suffices and the faster one when the SLO needs it, the batch max, and
//! its choice is the brute force's over types × batch max × replicas; the choice flows
//! through plan.json into `predict --plan`.

mod support;

use kendall::model::Model;
use kendall::plan::{self, PlanOptions};
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

/// One GPU service, 3x faster on the A100, which costs 5.2x as much.
const PICK: &str = r#"
system pick {
  pricing { gpu nvidia-l4 $0.71/h  gpu nvidia-a100 $3.67/h }
  workload w { entry scorer.score  rate 100 rps  slo p99 < 80ms }
  service scorer {
    gpu one_of(nvidia-l4, nvidia-a100) x 1
    replicas 1..6
    endpoint score {
      time gamma(mean 12ms, cv 0.3)
      time on nvidia-a100 gamma(mean 4ms, cv 0.3)
    }
  }
}
"#;

#[test]
fn the_cheaper_gpu_when_it_suffices() {
    let p = plan::plan(&model(PICK), &PlanOptions::default()).unwrap();
    let s = &p.services[0];
    assert_eq!(s.gpu.as_deref(), Some("nvidia-l4"));
    assert_eq!(s.gpu_choices, ["nvidia-l4", "nvidia-a100"]);
    // 100 rps × 12ms = 1.2 busy GPUs: 2 replicas at 60%.
    assert_eq!((s.replicas, s.utilization), (2, 0.6));
    assert_eq!(p.cost_per_hour, 1.42);
    assert!(p.optimal);
    let table = plan::to_table(&p);
    assert!(
        table.contains("gpu nvidia-l4 (chosen from nvidia-l4, nvidia-a100)"),
        "{table}"
    );
}

#[test]
fn the_faster_gpu_when_the_slo_needs_it() {
    // The L4's unloaded p99 (about 21ms) is above 20ms: no L4 replica count meets it.
    let design = PICK.replace("p99 < 80ms", "p99 < 20ms");
    let p = plan::plan(&model(&design), &PlanOptions::default()).unwrap();
    let s = &p.services[0];
    assert_eq!(s.gpu.as_deref(), Some("nvidia-a100"));
    assert_eq!((s.replicas, s.utilization), (2, 0.2));
    assert_eq!(p.cost_per_hour, 7.34);
    assert_eq!(p.workloads[0].p99_ms, 9.064);
    assert!(p.optimal);
}

#[test]
fn an_slo_no_gpu_meets_is_explained_on_the_fastest() {
    let design = PICK.replace("p99 < 80ms", "p99 < 5ms");
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    assert_eq!(e.choices.len(), 1);
    assert_eq!(e.choices[0].gpu.as_deref(), Some("nvidia-a100"));
    assert_eq!(
        e.note().unwrap(),
        "even with `scorer` on nvidia-a100 (the options closest to a plan):"
    );
    let json = e.to_json();
    assert_eq!(json["choices"][0]["gpu"], "nvidia-a100");
}

#[test]
fn every_type_needs_a_price() {
    let design = PICK.replace("gpu nvidia-a100 $3.67/h", "");
    let e = plan::plan(&model(&design), &PlanOptions::default()).unwrap_err();
    assert_eq!(
        e.reasons[0].to_string(),
        "service `scorer` uses gpu nvidia-a100, which `pricing` gives no price for: add `gpu nvidia-a100 $X/h` to `pricing` or give the service a `cost`"
    );
}

/// A batching model server behind an API: the batch max decides how many requests a GPU
/// serves per second (5ms + 1ms per item on the L4: 286 rps at batch 2, 615 at 8, 864 at
/// 32).
const BATCHER: &str = r#"
system batcher {
  pricing { cpu $0.05/h  gpu nvidia-l4 $0.71/h  gpu nvidia-a100 $3.67/h }
  cluster { gpu nvidia-l4 4 }
  workload w { entry api.go  rate 900 rps  slo p99 < 60ms }
  service api {
    cpu 1  workers 8  replicas 1..3
    endpoint go { time exp(1ms)  call model.infer }
  }
  service model {
    gpu one_of(nvidia-l4, nvidia-a100) x 1
    replicas 1..4
    endpoint infer {
      batch max 2..32 wait 2ms
      time 5ms + 1ms per item
      time on nvidia-a100 2ms + 0.35ms per item
    }
  }
}
"#;

#[test]
fn the_smallest_batch_max_that_suffices() {
    let options = PlanOptions {
        min_replicas: 1,
        ..PlanOptions::default()
    };
    let p = plan::plan(&model(BATCHER), &options).unwrap();
    let m = &p.services[1];
    assert_eq!(m.gpu.as_deref(), Some("nvidia-l4"));
    assert_eq!(m.batch_max_choices, [2, 4, 8, 16, 32]);
    // Batch 4 serves 444 rps a GPU: 3 GPUs; batch 8 serves 615: 2 GPUs (73%) — batch 16
    // and 32 cost the same, and the smaller batch waits less.
    assert_eq!((m.replicas, m.batch_max), (2, Some(8)));
    assert_eq!(p.cost_per_hour, 1.47);
    assert!(p.optimal);
}

#[test]
fn the_choice_is_the_brute_force_optimum() {
    for (options, design) in [
        (
            PlanOptions {
                min_replicas: 1,
                ..PlanOptions::default()
            },
            BATCHER.to_string(),
        ),
        // Tighter: the A100 or a fuller L4 fleet.
        (
            PlanOptions {
                min_replicas: 1,
                ..PlanOptions::default()
            },
            BATCHER.replace("p99 < 60ms", "p99 < 14ms"),
        ),
        (
            PlanOptions::default(),
            PICK.replace("p99 < 80ms", "p99 < 24ms"),
        ),
    ] {
        let m = model(&design);
        let planned = plan::plan(&m, &options).expect("a plan exists");
        let (cost, count, replicas, choices) =
            support::brute::brute_force_choices(&m, &options).expect("brute force finds a plan");
        assert!(
            (planned.cost_per_hour - cost).abs() < 1e-3,
            "plan costs {} with {:?} {:?}, brute force {cost} with {replicas:?} {choices:?}",
            planned.cost_per_hour,
            planned.replicas(),
            planned.choices(),
        );
        assert_eq!(planned.total_replicas, count);
        assert_eq!(planned.replicas(), replicas);
        for (name, c) in &choices {
            let s = planned.services.iter().find(|s| &s.name == name).unwrap();
            assert_eq!((&s.gpu, s.batch_max), (&c.gpu, c.batch_max), "{name}");
        }
        assert!(planned.optimal);
    }
}

/// Without a plan the design runs on its first type and lowest batch max; `--plan` applies
/// the plan's, and the prediction is the plan's.
#[test]
fn the_choice_flows_through_plan_json_into_predict() {
    let dir = std::env::temp_dir().join(format!("kendall-choices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let design = dir.join("pick.arch");
    std::fs::write(&design, PICK.replace("p99 < 80ms", "p99 < 20ms")).unwrap();
    let design = design.to_string_lossy().into_owned();
    let out = dir.join("plan.json").to_string_lossy().into_owned();
    let run = support::kendall;
    assert_eq!(
        run(&["plan", &design, "--out", &out]).status.code(),
        Some(0)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let p = plan::from_json(&text).unwrap();
    assert_eq!(p.services[0].gpu.as_deref(), Some("nvidia-a100"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["services"][0]["gpu_choices"][1], "nvidia-a100");
    let o = run(&["predict", &design, "--plan", &out, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let predicted: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p99 = predicted["workloads"][0]["p99_ms"].as_f64().unwrap();
    assert!((p99 - p.workloads[0].p99_ms).abs() < 1e-2, "{p99}");
    // Without the plan: one L4 (the first type, the lower bound), which is overloaded.
    let o = run(&["predict", &design, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    // A plan with a type the design does not offer is refused.
    std::fs::write(
        &out,
        text.replace("\"gpu\": \"nvidia-a100\"", "\"gpu\": \"nvidia-h100\""),
    )
    .unwrap();
    let o = run(&["predict", &design, "--plan", &out]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("gives `scorer` gpu `nvidia-h100`, which is not one of its `one_of(nvidia-l4, nvidia-a100)`"), "{err}");
}
