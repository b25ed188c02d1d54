//! `kendall report`: the latency sweep against known answers, the page's SVG, determinism,
//! and the CLI's care for existing files. (`.ci/run` also renders every example's page in
//! headless Chromium and fails on any console error.)

mod support;

use kendall::report::{Inputs, render, sweep::sweep};
use kendall::resolve::MemoryLoader;
use std::collections::BTreeMap;

fn model(path: &str) -> kendall::model::Model {
    let bytes = std::fs::read(support::root().join(path)).unwrap();
    kendall::compile(path, &bytes, &MemoryLoader::new())
        .model
        .expect("the design checks")
}

/// M/M/1 with μ = 100/s at 50/s × load: the mean sojourn is 10ms / (1 − ρ).
#[test]
fn the_sweep_follows_mm1_and_stops_at_saturation() {
    let m = model("tests/accuracy/mm1.arch");
    let s = sweep(&m, &BTreeMap::new(), &[0.5, 1.0, 1.8, 2.2]);
    let (name, points) = &s.workloads[0];
    assert_eq!(name, "w");
    for (p, rho) in points.iter().zip([0.25, 0.5, 0.9]) {
        let exact = 0.010 / (1.0 - rho);
        let mean = p.mean_s.unwrap();
        assert!(
            (mean - exact).abs() < 1e-4 * exact,
            "ρ {rho}: {mean} vs {exact}"
        );
        // The sojourn is exponential: p99 = mean × ln 100.
        let p99 = p.p99_s.unwrap();
        assert!(
            (p99 - exact * 100f64.ln()).abs() < 1e-3 * exact,
            "ρ {rho}: p99 {p99}"
        );
    }
    assert_eq!(points[3].mean_s, None, "ρ = 1.1 has no steady state");
}

fn inputs(loads: &[f64]) -> Inputs {
    Inputs {
        file: "x.arch".into(),
        replicas_source: "as designed".into(),
        loads: loads.to_vec(),
        ..Default::default()
    }
}

/// Every inline SVG of the page, parsed.
fn svgs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed") + start + "</svg>".len();
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}

#[test]
fn the_page_draws_one_curve_chart_per_workload_and_a_bar_per_service() {
    for path in [
        "examples/recsys.arch",
        "examples/rag.arch",
        "examples/fraud.arch",
    ] {
        let m = model(path);
        let html = render(&m, &inputs(&[0.5, 1.0, 1.5])).unwrap();
        let charts = svgs(&html);
        let requests = m.workloads.iter().filter(|w| w.job.is_none()).count();
        // The call graph, the utilisation chart, then one chart per request workload.
        assert_eq!(charts.len(), 2 + requests, "{path}");
        for svg in &charts {
            roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let bars = roxmltree::Document::parse(&charts[1]).unwrap();
        let deployed_with_load = kendall::queueing::predict(&m, &Default::default())
            .unwrap()
            .services
            .iter()
            .filter(|s| s.utilization.is_some())
            .count();
        // Plotters draws the background and the plot area as rects too; the bars are filled
        // with the three heat colours.
        let filled = (bars.descendants())
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| matches!(n.attribute("fill"), Some("#4CAF50" | "#FFA000" | "#E53935")))
            .count();
        assert_eq!(filled, deployed_with_load, "{path}");
        assert_eq!(
            html,
            render(&m, &inputs(&[0.5, 1.0, 1.5])).unwrap(),
            "{path}: not deterministic"
        );
    }
}

#[test]
fn user_strings_are_escaped() {
    // A file name with markup in it reaches the page as text.
    let m = model("tests/accuracy/mm1.arch");
    let mut i = inputs(&[1.0]);
    i.file = "<script>alert(1)</script>.arch".into();
    let html = render(&m, &i).unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn an_existing_file_kendall_did_not_write_is_kept() {
    let dir = std::env::temp_dir().join(format!("kendall-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.html");
    std::fs::write(&out, "my notes").unwrap();
    let out_s = out.to_str().unwrap();
    let refused = support::kendall(&["report", "tests/accuracy/mm1.arch", "--out", out_s]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("kendall did not write it"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my notes");
    let forced = support::kendall(&[
        "report",
        "tests/accuracy/mm1.arch",
        "--out",
        out_s,
        "--force",
    ]);
    assert_eq!(forced.status.code(), Some(0));
    let first = std::fs::read(&out).unwrap();
    // Its own page it replaces without being asked, with the same bytes.
    let again = support::kendall(&["report", "tests/accuracy/mm1.arch", "--out", out_s]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    let bad = support::kendall(&[
        "report",
        "tests/accuracy/mm1.arch",
        "--out",
        out_s,
        "--load",
        "2x..1x",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}
