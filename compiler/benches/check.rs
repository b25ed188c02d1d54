//! Front end: parse + resolve + check a generated design of 10,000 services (1.7 MB); goal
//! (issue 2) under 200 ms. Predictor: a generated 1,000-service design; goal (issue 3) under
//! 50 ms. Both in release on the 2-core reference machine.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kendall::resolve::MemoryLoader;
use std::hint::black_box;
use std::time::Duration;

// The allocator the `kendall` binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/support/design.rs"]
mod design;

fn bench(c: &mut Criterion) {
    let text = design::design(10_000);
    let loader = MemoryLoader::new();
    let check = kendall::compile("big.arch", text.as_bytes(), &loader);
    assert!(
        check.diagnostics.is_empty() && check.model.is_some(),
        "the generated design must be clean"
    );
    let mut group = c.benchmark_group("front_end");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15));
    // The binary exits without freeing the result, so dropping it is not timed.
    group.bench_function("check_10k_services", |b| {
        b.iter_batched(
            || (),
            |()| kendall::compile("big.arch", black_box(text.as_bytes()), &loader),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench_predict(c: &mut Criterion) {
    let text = design::design(1_000);
    let compiled = kendall::compile("big.arch", text.as_bytes(), &MemoryLoader::new());
    let model = compiled.model.expect("the generated design is clean");
    let options = kendall::queueing::Options {
        load: 1.0,
        ..Default::default()
    };
    let prediction = kendall::queueing::predict(&model, &options).expect("traffic settles");
    assert!(
        prediction.workloads[0].latency.is_some(),
        "every station is stable"
    );
    let mut group = c.benchmark_group("predictor");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.bench_function("predict_1k_services", |b| {
        b.iter(|| kendall::queueing::predict(black_box(&model), &options))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_predict);
criterion_main!(benches);
