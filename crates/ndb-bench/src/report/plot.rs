//! The recall–QPS plot of an `ef` sweep: x = recall@k, y = QPS (log scale), one curve per
//! engine, written as SVG with `plotters` (SVG backend only, so no font or image libraries).

use std::path::Path;

use plotters::prelude::*;

use crate::sweep::SweepPoint;

/// One engine's curve.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Legend label.
    pub name: String,
    /// The sweep, in any order (drawn in increasing `ef`).
    pub points: Vec<SweepPoint>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),  // red: nDB
    RGBColor(31, 119, 180), // blue
    RGBColor(44, 160, 44),  // green
    RGBColor(255, 127, 14), // orange
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Write the recall–QPS plot of `curves` to `path` (SVG). `k` labels the x axis; the recall
/// targets are drawn as dotted vertical lines.
pub fn recall_qps_svg(
    path: &Path,
    title: &str,
    k: usize,
    curves: &[Curve],
    targets: &[f64],
) -> Result<(), String> {
    let pts: Vec<&SweepPoint> = curves
        .iter()
        .flat_map(|c| c.points.iter())
        .filter(|p| p.recall.is_finite() && p.qps.is_finite() && p.qps > 0.0)
        .collect();
    if pts.is_empty() {
        return Err("nothing to plot".into());
    }
    let r_min = pts.iter().map(|p| p.recall).fold(f64::INFINITY, f64::min);
    let q_min = pts.iter().map(|p| p.qps).fold(f64::INFINITY, f64::min);
    let q_max = pts.iter().map(|p| p.qps).fold(0.0, f64::max);
    // x from a round value below the lowest recall to 1.0.
    let x_lo = ((r_min - 0.01).max(0.0) * 50.0).floor() / 50.0;
    let x_hi = 1.0 + (1.0 - x_lo) * 0.02;
    let y_lo = q_min / 1.5;
    let y_hi = q_max * 1.5;

    // Labelled QPS values: 1, 2, 5 x 10^e inside the range.
    let mut ticks = Vec::new();
    let mut e = 10f64.powf(y_lo.log10().floor());
    while e <= y_hi {
        for m in [1.0, 2.0, 5.0] {
            let v = m * e;
            if v >= y_lo && v <= y_hi {
                ticks.push(v);
            }
        }
        e *= 10.0;
    }

    let mut svg = String::new();
    draw(
        &mut svg,
        title,
        k,
        curves,
        targets,
        (x_lo, x_hi, y_lo, y_hi),
        &ticks,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    crate::report::write_file(path, svg.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Draw the plot into `svg`.
fn draw(
    svg: &mut String,
    title: &str,
    k: usize,
    curves: &[Curve],
    targets: &[f64],
    (x_lo, x_hi, y_lo, y_hi): (f64, f64, f64, f64),
    ticks: &[f64],
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (960, 640)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(
            x_lo..x_hi,
            (y_lo..y_hi).log_scale().with_key_points(ticks.to_vec()),
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(format!("recall@{k}"))
        .y_desc("queries per second (1 thread, one query at a time; log scale)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| {
            if *y >= 1000.0 {
                format!("{:.0}k", y / 1000.0)
            } else {
                format!("{y:.0}")
            }
        })
        .max_light_lines(4)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| err(&e))?;
    for &t in targets {
        if t > x_lo && t < x_hi {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(t, y_lo), (t, y_hi)],
                    4,
                    4,
                    RGBColor(160, 160, 160).stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
        }
    }
    for (i, c) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut p: Vec<&SweepPoint> = c
            .points
            .iter()
            .filter(|p| p.recall.is_finite() && p.qps > 0.0)
            .collect();
        p.sort_by_key(|p| p.ef);
        let line: Vec<(f64, f64)> = p.iter().map(|p| (p.recall, p.qps)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(c.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                line.iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
            )
            .map_err(|e| err(&e))?;
        // ef labels on the first curve only, to keep the plot readable.
        if i == 0 {
            chart
                .draw_series(p.iter().map(|pt| {
                    Text::new(
                        format!("ef {}", pt.ef),
                        (pt.recall, pt.qps * 1.12),
                        ("sans-serif", 12).into_font().color(&color),
                    )
                }))
                .map_err(|e| err(&e))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg() {
        let dir = std::env::temp_dir().join(format!("ndb-bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("recall-qps.svg");
        let pt = SweepPoint::bare;
        let curves = vec![
            Curve {
                name: "nDB".into(),
                points: vec![
                    pt(16, 0.85, 9000.0),
                    pt(64, 0.97, 3000.0),
                    pt(256, 0.995, 900.0),
                ],
            },
            Curve {
                name: "hnswlib".into(),
                points: vec![pt(16, 0.84, 8000.0), pt(64, 0.96, 2500.0)],
            },
        ];
        recall_qps_svg(&path, "test", 10, &curves, &[0.9, 0.95, 0.99]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("hnswlib") && svg.contains("recall@10"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
