//! Predicts the benchmark's generated design (`tests/support/design.rs`) once, for profilers:
//! `valgrind --tool=callgrind --toggle-collect='kendall::queueing::predict::predict'
//! target/release/examples/predict_once [services]` counts the prediction only.

// The allocator the `kendall` binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/support/design.rs"]
mod design;

fn main() {
    let services = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let text = design::design(services);
    let loader = kendall::resolve::MemoryLoader::new();
    let model = kendall::compile("big.arch", text.as_bytes(), &loader)
        .model
        .expect("the generated design is clean");
    let options = kendall::queueing::Options {
        load: 1.0,
        ..Default::default()
    };
    let prediction = kendall::queueing::predict(&model, &options).expect("traffic settles");
    let latency = prediction.workloads[0].latency.as_ref().expect("stable");
    println!("mean {:e} s, p99 {:e} s", latency.mean_s, latency.p99_s);
}
