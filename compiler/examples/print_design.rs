//! Prints a generated design, to time or profile the `kendall` binary on it:
//!
//! - `print_design [N]`: the benchmarks' design (`tests/support/design.rs`) of N services
//!   (1,000 by default): `cargo run --release --example print_design 1000 > big.arch &&
//!   kendall plan big.arch`;
//! - `print_design star [N]`: N workloads, each entering its own one-server lognormal
//!   service, so that every station is `M/G/1 exact` (docs/models.md, Performance).

#[path = "../../tests/support/design.rs"]
mod design;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let star = args.first().is_some_and(|a| a == "star");
    let services = args
        .get(usize::from(star))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if star { 200 } else { 1_000 });
    if star {
        print!("{}", star_design(services));
    } else {
        print!("{}", design::design(services));
    }
}

/// `n` independent Poisson workloads at 100 rps, each into its own `replicas 1 workers 1`
/// service of `lognormal(mean 2ms, cv 0.8)`.
fn star_design(n: usize) -> String {
    let mut out = String::from("system star {\n");
    for i in 0..n {
        out.push_str(&format!(
            "  workload w{i} {{ entry s{i}.handle  rate 100 rps }}\n  service s{i} {{\n    image \"x/s{i}:1\"\n    port 8080\n    replicas 1\n    workers 1\n    endpoint handle {{\n      time lognormal(mean 2ms, cv 0.8)\n    }}\n  }}\n"
        ));
    }
    out.push_str("}\n");
    out
}
