//! The report's charts, drawn as SVG by plotters (no fonts or system libraries: text is left
//! to the browser).

use super::sweep::Point;
use plotters::prelude::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const P50: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const P99: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const MEAN: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const TARGET: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Latency (ms) against load for one workload: mean, p50 and p99 lines, and its SLO targets
/// as dashed horizontal lines. Points past saturation are missing, so the lines stop there.
pub fn latency_chart(title: &str, points: &[Point], targets_s: &[(String, f64)]) -> String {
    let mut svg = String::new();
    draw_latency(&mut svg, title, points, targets_s).expect("drawing into a string cannot fail");
    svg
}

fn draw_latency<'a>(
    svg: &'a mut String,
    title: &str,
    points: &[Point],
    targets_s: &[(String, f64)],
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let ms = |v: Option<f64>| v.map(|s| s * 1e3);
    let x_max = points.iter().map(|p| p.load).fold(0.0, f64::max).max(1.0);
    // The y range: the largest finite p99 and target, but no more than 4× the largest of the
    // p99 at the lightest load and the targets, so that the blow-up near saturation does not
    // flatten everything else.
    let first_p99 = points.iter().find_map(|p| ms(p.p99_s)).unwrap_or(1.0);
    let target_max = targets_s.iter().map(|(_, t)| t * 1e3).fold(0.0, f64::max);
    let cap = 4.0 * first_p99.max(target_max);
    let highest = (points.iter().filter_map(|p| ms(p.p99_s)))
        .chain([target_max])
        .fold(0.0, f64::max);
    let y_max = highest.min(cap).max(1e-3) * 1.08;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max * 1.02, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("load (× the designed rate)")
        .y_desc("latency (ms)")
        .x_label_formatter(&|x| format!("{x:.2}x"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let series = [
        (
            "mean",
            MEAN,
            points.iter().map(|p| ms(p.mean_s)).collect::<Vec<_>>(),
        ),
        ("p50", P50, points.iter().map(|p| ms(p.p50_s)).collect()),
        ("p99", P99, points.iter().map(|p| ms(p.p99_s)).collect()),
    ];
    for (label, color, ys) in series {
        // Only points inside the range: past it the line leaves the chart.
        let line: Vec<(f64, f64)> = (points.iter().zip(ys))
            .map_while(|(p, y)| y.filter(|y| *y <= y_max).map(|y| (p.load, y)))
            .collect();
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    for (stat, t) in targets_s {
        let y = t * 1e3;
        if y <= y_max {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, y), (x_max * 1.02, y)],
                6,
                4,
                TARGET.stroke_width(1),
            ))?;
            chart.draw_series([Text::new(
                format!("slo {stat}"),
                (0.02 * x_max, y),
                ("sans-serif", 12).into_font().color(&TARGET),
            )])?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(TARGET)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Utilisation per service as horizontal bars, with the 85% planning ceiling marked.
pub fn utilization_chart(services: &[(String, f64)]) -> String {
    let mut svg = String::new();
    draw_utilization(&mut svg, services).expect("drawing into a string cannot fail");
    svg
}

fn draw_utilization<'a>(
    svg: &'a mut String,
    services: &[(String, f64)],
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let rows = services.len().max(1);
    let height = 60 + 28 * rows as u32;
    let root = SVGBackend::with_string(svg, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = services.iter().map(|(_, u)| *u).fold(1.0, f64::max) * 1.05;
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..x_max, (0..rows).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_desc("utilisation")
        .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(i) if *i < names.len() => {
                names[names.len() - 1 - *i].to_string()
            }
            _ => String::new(),
        })
        .draw()?;
    // The first service on the top row.
    let row = |i: usize| rows - 1 - i;
    chart.draw_series(services.iter().enumerate().map(|(i, (_, u))| {
        let color = heat(*u);
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(row(i))),
                (*u, SegmentValue::Exact(row(i) + 1)),
            ],
            color.filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        bar
    }))?;
    chart.draw_series(DashedLineSeries::new(
        [
            (0.85, SegmentValue::Exact(0)),
            (0.85, SegmentValue::Exact(rows)),
        ],
        6,
        4,
        TARGET.stroke_width(1),
    ))?;
    root.present()?;
    Ok(())
}

/// Green below 60%, amber to 85%, red above: the planner's default ceiling is 85%.
pub fn heat(u: f64) -> RGBColor {
    if u < 0.6 {
        RGBColor(0x4c, 0xaf, 0x50)
    } else if u < 0.85 {
        RGBColor(0xff, 0xa0, 0x00)
    } else {
        RGBColor(0xe5, 0x39, 0x35)
    }
}
