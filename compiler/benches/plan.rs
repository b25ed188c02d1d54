//! The planner on generated designs of 10, 100 and 1,000 services (a binary call tree, one
//! workload; tests/support/design.rs), to record how planning time grows with the number of
//! services (docs/planning.md). Release, on the 2-core reference machine.

use criterion::{Criterion, criterion_group, criterion_main};
use kendall::plan::{PlanOptions, plan};
use kendall::resolve::MemoryLoader;
use std::hint::black_box;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/support/design.rs"]
mod design;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for n in [10, 100, 1000] {
        let text = design::design(n);
        let model = kendall::compile("big.arch", text.as_bytes(), &MemoryLoader::new())
            .model
            .expect("the generated design is clean");
        let options = PlanOptions::default();
        let p = plan(&model, &options).expect("the generated design has a plan");
        eprintln!(
            "{n} services: ${:.2}/h, {} replicas, {} predictions, optimal {}",
            p.cost_per_hour, p.total_replicas, p.predictions, p.optimal
        );
        group.bench_function(format!("plan_{n}_services"), |b| {
            b.iter(|| plan(black_box(&model), black_box(&options)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
