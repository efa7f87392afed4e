//! Training metrics: one row per report interval, written as CSV (`--log`) and drawn as SVG
//! curves of loss and accuracy against samples seen (`--plot`). Both files are written atomically.

use crate::checkpoint::write_atomic;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Metrics of one report interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Iterations done.
    pub iteration: usize,
    /// Training samples seen.
    pub samples: usize,
    /// Mean training loss over the interval.
    pub loss: f64,
    /// Training-batch accuracy over the interval (0..1).
    pub batch_accuracy: f64,
    /// Test accuracy at this point, when it was evaluated.
    pub eval_accuracy: Option<f64>,
    /// Training seconds so far (evaluation excluded).
    pub elapsed_seconds: f64,
}

/// The CSV text of `rows`, with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut s =
        String::from("iteration,samples,loss,batch_accuracy,eval_accuracy,elapsed_seconds\n");
    for r in rows {
        let eval = r.eval_accuracy.map(|a| a.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{}",
            r.iteration, r.samples, r.loss, r.batch_accuracy, eval, r.elapsed_seconds
        );
    }
    s
}

/// Writes `rows` as CSV to `path`.
pub fn write_csv(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    write_atomic(path, csv(rows).as_bytes())
}

/// Draws loss (left) and accuracy (right) against samples seen as an SVG file at `path`.
pub fn write_plot(path: &Path, rows: &[Row], title: &str) -> Result<(), String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 18))
            .map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(550);
        let max_x = rows.iter().map(|r| r.samples).max().unwrap_or(1).max(1) as f64;
        let max_loss = rows.iter().map(|r| r.loss).fold(0.0, f64::max).max(1e-3) * 1.05;
        let mut chart = ChartBuilder::on(&left)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .caption("training loss", ("sans-serif", 15))
            .build_cartesian_2d(0.0..max_x, 0.0..max_loss)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("samples seen")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("mean cross-entropy")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (r.samples as f64, r.loss)),
                &RED,
            ))
            .map_err(|e| e.to_string())?;
        let min_acc = rows
            .iter()
            .flat_map(|r| [Some(r.batch_accuracy), r.eval_accuracy])
            .flatten()
            .fold(1.0, f64::min)
            .clamp(0.02, 0.9)
            - 0.02;
        let mut chart = ChartBuilder::on(&right)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .caption("accuracy", ("sans-serif", 15))
            .build_cartesian_2d(0.0..max_x, min_acc..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("samples seen")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("accuracy")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (r.samples as f64, r.batch_accuracy)),
                &BLUE,
            ))
            .map_err(|e| e.to_string())?
            .label("training batches")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
        let evals: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|r| r.eval_accuracy.map(|a| (r.samples as f64, a)))
            .collect();
        if !evals.is_empty() {
            chart
                .draw_series(LineSeries::new(evals, &GREEN))
                .map_err(|e| e.to_string())?
                .label("test set")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREEN));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    write_atomic(path, svg.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let rows = vec![
            Row {
                iteration: 100,
                samples: 10000,
                loss: 0.5,
                batch_accuracy: 0.8,
                eval_accuracy: None,
                elapsed_seconds: 1.5,
            },
            Row {
                iteration: 200,
                samples: 20000,
                loss: 0.25,
                batch_accuracy: 0.9,
                eval_accuracy: Some(0.92),
                elapsed_seconds: 3.0,
            },
        ];
        let text = csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "iteration,samples,loss,batch_accuracy,eval_accuracy,elapsed_seconds"
        );
        assert_eq!(lines[1], "100,10000,0.5,0.8,,1.5");
        assert_eq!(lines[2], "200,20000,0.25,0.9,0.92,3");
    }
}
