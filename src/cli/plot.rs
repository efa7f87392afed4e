//! `--plot`: loss (training, evaluation) and accuracy against samples (or characters) seen, as
//! an SVG file, written atomically.

use blasrnn::checkpoint::write_atomic;
use blasrnn::report::Report;
use plotters::prelude::*;
use std::path::Path;

/// Draws loss (left: training and evaluation) and accuracy (right) against `unit`s seen
/// ("samples", "characters") as an SVG file at `path`.
pub fn write_plot(path: &Path, rows: &[Report], title: &str, unit: &str) -> std::io::Result<()> {
    let svg = plot_svg(rows, title, unit).map_err(std::io::Error::other)?;
    write_atomic(path, svg.as_bytes())
}

/// One curve: its legend, colour and points.
type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

fn plot_svg(rows: &[Report], title: &str, unit: &str) -> Result<String, String> {
    let x_desc = format!("{unit} seen");
    let max_x = rows.iter().map(|r| r.samples).max().unwrap_or(1).max(1) as f64;
    let series = |f: fn(&Report) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| f(r).map(|v| (r.samples as f64, v)))
            .collect()
    };
    let losses = [
        ("training", RED, series(|r| Some(r.loss))),
        ("evaluation", GREEN, series(|r| r.eval_loss)),
    ];
    let accuracies = [
        ("training batches", BLUE, series(|r| r.batch_accuracy)),
        ("evaluation", GREEN, series(|r| r.eval_accuracy)),
    ];
    let all = |s: &[Series]| -> Vec<f64> {
        s.iter()
            .flat_map(|(_, _, v)| v.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .collect()
    };
    let max_loss = all(&losses).into_iter().fold(0.0, f64::max).max(1e-3) * 1.05;
    let min_acc = all(&accuracies)
        .into_iter()
        .fold(1.0, f64::min)
        .clamp(0.02, 0.9)
        - 0.02;
    let mut svg = String::new();
    {
        let e = |x: DrawingAreaErrorKind<std::io::Error>| x.to_string();
        let root = SVGBackend::with_string(&mut svg, (1100, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(e)?;
        let (left, right) = root.split_horizontally(550);
        let axes = (&x_desc, max_x);
        panel(
            &left,
            "loss",
            "mean cross-entropy (nats)",
            axes,
            0.0..max_loss,
            &losses,
            true,
        )?;
        panel(
            &right,
            "accuracy",
            "accuracy",
            axes,
            min_acc..1.0,
            &accuracies,
            false,
        )?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

/// One chart of `plot_svg`: the non-empty `series` (label, colour, points) against the x axis
/// (`axes`: its description and largest value), with a legend at the top (`top`) or the bottom.
fn panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    (x_desc, max_x): (&String, f64),
    y: std::ops::Range<f64>,
    series: &[Series],
    top: bool,
) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<std::io::Error>| x.to_string();
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .caption(caption, ("sans-serif", 15))
        .build_cartesian_2d(0.0..max_x, y)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(x_desc.as_str())
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc(y_desc)
        .draw()
        .map_err(e)?;
    for (label, colour, points) in series.iter().filter(|s| !s.2.is_empty()) {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), &colour))
            .map_err(e)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(if top {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .draw()
        .map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_draws_both_panels() {
        let r = Report {
            iteration: 100,
            last: 200,
            samples: 10000,
            loss: 0.5,
            batch_accuracy: Some(0.8),
            eval_loss: Some(0.6),
            eval_accuracy: Some(0.7),
            validation_loss: None,
            elapsed_seconds: 1.5,
            grad_norm: 0.25,
            lr: 0.001,
            rate: 6666.7,
            unit: "samples",
        };
        let svg = plot_svg(
            &[
                r.clone(),
                Report {
                    iteration: 200,
                    samples: 20000,
                    ..r
                },
            ],
            "t",
            "samples",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("evaluation") && svg.contains("accuracy"));
    }
}
