//! A generated design of any size, for benchmarks and scale tests.

/// A binary call tree of `n` services over a mix of stdlib templates, with one workload at the
/// root: every service is reachable, every call resolves, and no warning is raised.
pub fn design(n: usize) -> String {
    let mut s =
        String::from("use std.ml.{gateway, feature_store, model_server, cache}\n\nsystem big {\n");
    s.push_str("  pricing { cpu $0.031/h  memory $0.004/h  gpu nvidia-l4 $0.71/h }\n");
    s.push_str(
        "  workload main { entry s0.handle  rate 100 rps  slo p99 < 500ms  slo mean < 80ms }\n",
    );
    let templates = ["gateway", "feature_store", "model_server", "cache"];
    for i in 0..n {
        let t = templates[i % templates.len()];
        s.push_str(&format!(
            "  service s{i} extends {t} {{\n    replicas 1..8\n    endpoint handle {{\n      time lognormal(mean 2ms, cv 0.8)\n"
        ));
        let (a, b) = (2 * i + 1, 2 * i + 2);
        match (a < n, b < n) {
            (true, true) => s.push_str(&format!(
                "      parallel {{\n        call s{a}.handle\n        call s{b}.handle when 30%\n      }}\n"
            )),
            (true, false) => s.push_str(&format!("      call s{a}.handle timeout 50ms retries 1\n")),
            _ => {}
        }
        s.push_str("    }\n  }\n");
    }
    s.push_str("}\n");
    s
}
