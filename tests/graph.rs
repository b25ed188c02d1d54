//! `kendall graph`: every example drawn in DOT, Mermaid and SVG (snapshotted), each output
//! read back by a parser of its own kind and checked against the model: one node per
//! service and workload, one edge per call site and workload entry, every label intact.

mod support;

use kendall::draw::{Drawing, EdgeStyle, dot, mermaid, svg};
use kendall::model::Model;
use kendall::model::graph::CallGraph;
use std::path::PathBuf;

fn examples() -> Vec<(String, Model)> {
    let root = support::root();
    let mut out = Vec::new();
    for dir in ["examples", "examples/paper"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "arch"))
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let compiled = support::compile_in(&root.join(dir), &name);
            let label = format!("{dir}/{name}")
                .trim_start_matches("examples/")
                .trim_end_matches(".arch")
                .replace('/', "__");
            out.push((label, compiled.model.expect("examples compile")));
        }
    }
    assert_eq!(out.len(), 6);
    out
}

/// Node and edge counts the drawing must have: services + workloads, call sites + entries.
fn expected_counts(model: &Model) -> (usize, usize) {
    let calls = CallGraph::new(model).graph.edge_count();
    (
        model.services.len() + model.workloads.len(),
        calls + model.workloads.len(),
    )
}

#[test]
fn dot_snapshots() {
    for (name, model) in examples() {
        insta::assert_snapshot!(
            format!("{name}.dot"),
            dot::render(&Drawing::new(&model, None))
        );
    }
}

#[test]
fn mermaid_snapshots() {
    for (name, model) in examples() {
        insta::assert_snapshot!(
            format!("{name}.mermaid"),
            mermaid::render(&Drawing::new(&model, None))
        );
    }
}

#[test]
fn svg_snapshots() {
    for (name, model) in examples() {
        insta::assert_snapshot!(
            format!("{name}.svg"),
            svg::render(&Drawing::new(&model, None)).unwrap()
        );
    }
}

#[test]
fn svg_is_the_same_bytes_every_time() {
    for (name, model) in examples() {
        let drawing = Drawing::new(&model, None);
        let first = svg::render(&drawing).unwrap();
        for _ in 0..4 {
            assert_eq!(svg::render(&drawing).unwrap(), first, "{name}");
        }
    }
}

#[test]
fn heat_snapshots() {
    // The predictor's replicas and utilisation at the design's lower bounds.
    for (name, model) in examples() {
        let prediction = kendall::queueing::predict(&model, &Default::default()).unwrap();
        insta::assert_snapshot!(
            format!("{name}.heat.dot"),
            dot::render(&Drawing::new(&model, Some(&prediction)))
        );
    }
}

/// Parses DOT with layout-rs's parser (a reader written apart from our writer).
fn parse_dot(text: &str) -> layout::gv::parser::ast::Graph {
    let mut parser = layout::gv::DotParser::new(text);
    parser
        .process()
        .unwrap_or_else(|e| panic!("not DOT: {e}\n{text}"))
}

#[test]
fn dot_parses_with_a_node_per_service_and_an_edge_per_call() {
    use layout::gv::parser::ast::Stmt;
    for (name, model) in examples() {
        let drawing = Drawing::new(&model, None);
        let graph = parse_dot(&dot::render(&drawing));
        assert_eq!(graph.name, model.system.clone().unwrap());
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for stmt in &graph.list.list {
            match stmt {
                Stmt::Node(n) => nodes.push(n),
                Stmt::Edge(e) => edges.push(e),
                _ => {}
            }
        }
        let (want_nodes, want_edges) = expected_counts(&model);
        assert_eq!(nodes.len(), want_nodes, "{name}");
        assert_eq!(edges.len(), want_edges, "{name}");
        // Every label reads back as it was drawn.
        for (n, drawn) in nodes.iter().zip(&drawing.nodes) {
            assert_eq!(n.id.name, drawn.id);
            let label = n.list.list.iter().find(|(k, _)| k == "label").unwrap();
            assert_eq!(label.1, drawn.lines.join("\n"), "{name}");
        }
        for s in &model.services {
            assert!(nodes.iter().any(|n| n.id.name == format!("s:{}", s.name)));
        }
        // Async calls are dashed, entries bold, the rest plain.
        for (e, drawn) in edges.iter().zip(&drawing.edges) {
            let style = e
                .list
                .list
                .iter()
                .find(|(k, _)| k == "style")
                .map(|s| s.1.as_str());
            let want = match drawn.style {
                EdgeStyle::Sync => None,
                EdgeStyle::Async => Some("dashed"),
                EdgeStyle::Entry => Some("bold"),
            };
            assert_eq!(style, want, "{name}");
            assert_eq!(e.from.name, drawing.nodes[drawn.from].id);
            assert_eq!(e.to[0].0.name, drawing.nodes[drawn.to].id);
        }
    }
}

#[test]
fn user_text_is_escaped_in_every_format() {
    // Names are identifiers, but labels carry arbitrary text: draw one with every character
    // that DOT, Mermaid or XML could read as syntax.
    let model = &examples()[0].1;
    let mut drawing = Drawing::new(model, None);
    let nasty = r#"a "quoted" \ <b>&amp; |pipe| [x] {y} #1 `z`"#;
    drawing.nodes[0].lines.push(nasty.to_string());
    drawing.edges[0].label = nasty.to_string();

    let graph = parse_dot(&dot::render(&drawing));
    let layout::gv::parser::ast::Stmt::Node(n) = &graph.list.list[3] else {
        panic!("the first node follows three attribute statements")
    };
    let label = &n.list.list.iter().find(|(k, _)| k == "label").unwrap().1;
    assert!(label.ends_with(nasty), "{label}");

    let m = mermaid::render(&drawing);
    let line = m.lines().nth(1).unwrap();
    assert!(
        line.ends_with(
            "<br/>a #quot;quoted#quot; #92; #60;b#62;#38;amp; #124;pipe#124; #91;x#93; #123;y#125; #35;1 #96;z#96;\"])"
        ),
        "{line}"
    );

    let s = svg::render(&drawing).unwrap();
    let doc = roxmltree::Document::parse(&s).expect("well-formed xml");
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains(nasty), "the svg's text reads back as written");
}

#[test]
fn mermaid_has_a_node_per_service_and_an_edge_per_call() {
    for (name, model) in examples() {
        let drawing = Drawing::new(&model, None);
        let text = mermaid::render(&drawing);
        let (want_nodes, want_edges) = expected_counts(&model);
        let body: Vec<&str> = text.lines().skip(1).collect();
        let nodes = body
            .iter()
            .filter(|l| {
                // `  s3("…")`: an id, then straight away a shape's opening bracket.
                let l = l.trim_start();
                let id = l.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
                l.starts_with(['w', 's']) && id.starts_with(['(', '[', '>'])
            })
            .count();
        let count = |arrow: &str| body.iter().filter(|l| l.contains(arrow)).count();
        assert_eq!(nodes, want_nodes, "{name}");
        assert_eq!(
            count(" --> ") + count(" -->|") + count(" -.->") + count(" ==>"),
            want_edges,
            "{name}"
        );
        let asyncs = drawing
            .edges
            .iter()
            .filter(|e| e.style == EdgeStyle::Async)
            .count();
        assert_eq!(count(" -.->"), asyncs, "{name}");
        assert_eq!(count(" ==>"), model.workloads.len(), "{name}");
    }
}

#[test]
fn svg_is_xml_with_a_shape_per_node_and_a_path_per_edge() {
    for (name, model) in examples() {
        let drawing = Drawing::new(&model, None);
        let text = svg::render(&drawing).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let count = |tag: &str| {
            doc.descendants()
                .filter(|n| n.tag_name().name() == tag)
                .count()
        };
        let (want_nodes, want_edges) = expected_counts(&model);
        assert_eq!(count("rect"), want_nodes, "{name}");
        assert_eq!(count("path"), want_edges, "{name}");
        let text: Vec<&str> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "tspan")
            .filter_map(|n| n.text())
            .collect();
        for s in &model.services {
            assert!(
                text.contains(&s.name.as_str()),
                "{name}: {} not drawn",
                s.name
            );
        }
    }
}

#[test]
fn heat_colours_follow_utilisation() {
    use kendall::draw::heat_colour;
    assert_eq!(heat_colour(None), "#eeeeee");
    assert_eq!(heat_colour(Some(0.0)), "#c8e6c9");
    assert_eq!(heat_colour(Some(0.5)), "#fff59d");
    assert_eq!(heat_colour(Some(0.84)), "#ffcc80");
    assert_eq!(heat_colour(Some(0.85)), "#ef9a9a");
    assert_eq!(heat_colour(Some(1.0)), "#e53935");
    // recsys at its lower bounds: the single ranker replica runs hot.
    let (_, model) = examples().into_iter().find(|(n, _)| n == "recsys").unwrap();
    let p = kendall::queueing::predict(&model, &Default::default()).unwrap();
    let d = Drawing::new(&model, Some(&p));
    let ranker = d.nodes.iter().find(|n| n.id == "s:ranker").unwrap();
    let u = p
        .services
        .iter()
        .find(|s| s.name == "ranker")
        .unwrap()
        .utilization
        .unwrap();
    assert_eq!(ranker.fill, Some(heat_colour(Some(u))));
    assert_eq!(
        ranker.lines.last().unwrap(),
        &format!("{:.0}% busy", u * 100.0)
    );
}

#[test]
fn the_command_draws_and_reports_bad_options() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kendall"))
            .args(args)
            .current_dir(support::root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = run(&["graph", "examples/recsys.arch", "--format", "mermaid"]);
    assert_eq!(o.status.code(), Some(0));
    let model = &examples()
        .into_iter()
        .find(|(n, _)| n == "recsys")
        .unwrap()
        .1;
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        mermaid::render(&Drawing::new(model, None))
    );
    let o = run(&[
        "graph",
        "examples/recsys.arch",
        "--replicas",
        "ranker=2",
        "--load",
        "1.5x",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("\"s:ranker\" [label=\"ranker\\n2 replicas"),
        "{out}"
    );
    let o = run(&["graph", "examples/recsys.arch", "--replicas", "rankr=2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no service named `rankr`"));
    let o = run(&["graph", "stdlib/ml.arch"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn svg_refuses_a_drawing_too_large_to_lay_out_quickly() {
    // A chain of 60 services where each also calls the one 7 further on: long edges span
    // many layers, which layout-rs fills with connectors.
    let mut design = String::from("system big {\n  workload w { entry s0.x rate 1 rps }\n");
    for i in 0..60 {
        let calls: Vec<String> = [i + 1, i + 7]
            .iter()
            .filter(|&&j| j < 60)
            .map(|j| format!("call s{j}.x"))
            .collect();
        design += &format!(
            "  service s{i} {{ endpoint x {{ time exp(1ms) {} }} }}\n",
            calls.join(" ")
        );
    }
    design += "}\n";
    let compiled = kendall::compile(
        "big.arch",
        design.as_bytes(),
        &kendall::resolve::MemoryLoader::new(),
    );
    let model = compiled.model.expect("the chain compiles");
    let drawing = Drawing::new(&model, None);
    // 61 nodes; 59 edges one layer long, 53 seven layers long, the entry one.
    assert_eq!(svg::layout_size(&drawing), 61 + 59 + 53 * 7 + 1);
    assert_eq!(svg::render(&drawing), Err(svg::TooLarge { size: 492 }));
    // The examples are far below the limit.
    for (name, model) in examples() {
        let size = svg::layout_size(&Drawing::new(&model, None));
        assert!(size < svg::MAX_LAYOUT / 4, "{name}: {size}");
    }
}
