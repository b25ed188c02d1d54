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

pub fn render(d: &Drawing) -> String {
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
