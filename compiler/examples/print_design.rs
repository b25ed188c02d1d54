//! Prints the benchmarks' generated design (`tests/support/design.rs`) of N services (1,000 by
//! default), to time or profile the `kendall` binary on it: `cargo run --release --example
//! print_design 1000 > big.arch && kendall plan big.arch`.

#[path = "../../tests/support/design.rs"]
mod design;

fn main() {
    let services = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    print!("{}", design::design(services));
}
