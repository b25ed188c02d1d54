//! The drawing as SVG, laid out by the pure-Rust `layout-rs` crate (no Graphviz needed).
//! layout-rs draws boxes, circles and records only, so kinds are told apart by the label's
//! second line, the corner rounding and the outline colour rather than by shape; it escapes
//! the text it writes into the SVG.

use super::{Drawing, EdgeStyle, Shape};
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

const FONT: usize = 12;

/// The most layout elements (see [`layout_size`]) the SVG is laid out for. layout-rs's
/// placement grows steeply with them, more so when ranks are wide: in a release build about
/// 0.2 s at 120 elements, 1 s at 200 to 250 and 4 to 5 s at 330 to 380, far longer beyond.
/// Larger designs should render the DOT with Graphviz.
pub const MAX_LAYOUT: usize = 250;

/// A drawing too large for the in-process layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    pub size: usize,
}

/// An estimate of what layout-rs lays out: every node, plus one element per rank an edge
/// crosses (it splits long edges into chains of connectors). Ranks are longest-path layers
/// after dropping the edges that close cycles, as a layered layout ranks them.
pub fn layout_size(d: &Drawing) -> usize {
    let n = d.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in d.edges.iter().filter(|e| e.from != e.to) {
        out[e.from].push(e.to);
    }
    // Depth-first, in node order: an edge to a node still on the stack closes a cycle.
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = out[v].get(*next) {
                *next += 1;
                match state[w] {
                    0 => {
                        forward[v].push(w);
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    2 => forward[v].push(w),
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    // Longest-path ranks over the forward edges (a DAG), in topological order.
    let mut indegree = vec![0usize; n];
    for ws in &forward {
        for &w in ws {
            indegree[w] += 1;
        }
    }
    let mut rank = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(v) = ready.pop() {
        for &w in &forward[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    n + d
        .edges
        .iter()
        .map(|e| rank[e.from].abs_diff(rank[e.to]).max(1))
        .sum::<usize>()
}

/// The SVG of a drawing, or [`TooLarge`] past [`MAX_LAYOUT`].
pub fn render(d: &Drawing) -> Result<String, TooLarge> {
    let size = layout_size(d);
    if size > MAX_LAYOUT {
        return Err(TooLarge { size });
    }
    Ok(render_unchecked(d))
}

fn render_unchecked(d: &Drawing) -> String {
    let dir = Orientation::LeftToRight;
    let mut graph = VisualGraph::new(dir);
    let handles: Vec<_> = d
        .nodes
        .iter()
        .map(|n| {
            let shape = ShapeKind::Box(n.lines.join("\n"));
            let (outline, rounded, fill) = match n.shape {
                Shape::Workload => ("#1e88e5", 20, "#e3f2fd"),
                Shape::External => ("#9e9e9e", 0, "#ffffff"),
                Shape::Service => ("#000000", 8, "#ffffff"),
                Shape::Queue | Shape::Database | Shape::Job => ("#000000", 0, "#ffffff"),
            };
            let look = StyleAttr::new(
                Color::fast(outline),
                1,
                Some(Color::fast(n.fill.unwrap_or(fill))),
                rounded,
                FONT,
            );
            // Turned like the graph: layout-rs lays records out across the rank direction.
            let size = get_shape_size(dir.flip(), &shape, FONT, false);
            graph.add_node(Element::create(shape, look, dir.flip(), size))
        })
        .collect();
    for e in &d.edges {
        let (style, width) = match e.style {
            EdgeStyle::Sync => (LineStyleKind::Normal, 1),
            EdgeStyle::Async => (LineStyleKind::Dashed, 1),
            EdgeStyle::Entry => (LineStyleKind::Normal, 2),
        };
        let look = StyleAttr::new(Color::fast("#000000"), width, None, 0, FONT - 2);
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            &e.label,
            &look,
            &None,
            &None,
        );
        graph.add_edge(arrow, handles[e.from], handles[e.to]);
    }
    let mut svg = SVGWriter::new();
    if !d.nodes.is_empty() {
        graph.do_it(false, false, false, &mut svg);
    }
    let mut out = sorted_styles(svg.finalize());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// layout-rs writes its font classes from a `HashMap`, in an order that changes from run to
/// run; sorting the `<style>` block's lines makes the output the same bytes every time.
fn sorted_styles(svg: String) -> String {
    let (Some(open), Some(close)) = (svg.find("<style>\n"), svg.find("</style>")) else {
        return svg;
    };
    let body = open + "<style>\n".len();
    if close < body {
        return svg;
    }
    let mut lines: Vec<&str> = svg[body..close].lines().collect();
    lines.sort_unstable();
    let mut out = String::with_capacity(svg.len());
    out.push_str(&svg[..body]);
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&svg[close..]);
    out
}
