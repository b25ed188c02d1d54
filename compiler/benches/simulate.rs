//! The simulator's speed in station visits per second (goal: 2 million on one core, in
//! release): one replication of 50,000 measured requests through the generated 31-service
//! design of `tests/support/design.rs` (a binary call tree of lognormal endpoints with
//! `parallel` groups, `when`, timeouts and retries), on one thread.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kendall::resolve::MemoryLoader;
use kendall::simulate::{Options, simulate};
use std::hint::black_box;
use std::time::Duration;

// The allocator the `kendall` binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/support/design.rs"]
mod design;

fn bench(c: &mut Criterion) {
    let text = design::design(31);
    let compiled = kendall::compile("big.arch", text.as_bytes(), &MemoryLoader::new());
    let model = compiled.model.expect("the generated design is clean");
    let options = Options {
        requests: 50_000,
        replications: 1,
        threads: 1,
        ..Options::default()
    };
    let once = simulate(&model, &options).expect("the design simulates");
    assert!(
        once.services.iter().all(|s| !s.saturated),
        "every station is stable"
    );
    let mut group = c.benchmark_group("simulate");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(once.visits));
    group.bench_function("visits_31_services", |b| {
        b.iter(|| simulate(black_box(&model), &options))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
