//! What a run shows and leaves behind: lines on the console (and a progress bar on a terminal),
//! one metrics row per report interval, written as CSV (`--log`) and drawn as SVG curves of loss
//! and accuracy (`--plot`). Files are written atomically.

use crate::checkpoint::write_atomic;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;

/// Where human-readable lines go: stdout, or stderr when stdout carries JSON; above the progress
/// bar when one shows.
pub struct Console {
    json: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl Console {
    /// A console for a command run with `--json` / `--quiet` as given.
    pub fn new(json: bool, quiet: bool) -> Console {
        Console {
            json,
            quiet,
            bar: None,
        }
    }

    /// Whether stdout carries JSON (the lines go to stderr).
    pub fn json(&self) -> bool {
        self.json
    }

    /// Prints one line.
    pub fn say(&self, line: std::fmt::Arguments) {
        match &self.bar {
            Some(bar) => bar.println(line.to_string()),
            None if self.json => eprintln!("{line}"),
            None => {
                println!("{line}");
                let _ = std::io::stdout().flush();
            }
        }
    }

    /// Prints a progress line unless `--quiet` (under `--json` they go to stderr).
    pub fn progress_line(&self, line: std::fmt::Arguments) {
        if !self.quiet || self.json {
            self.say(line);
        }
    }

    /// Shows a progress bar of `total` iterations at `pos` when stdout is a terminal and neither
    /// `--quiet` nor `--json` was given.
    pub fn start_bar(&mut self, total: usize, pos: usize) {
        if self.quiet || self.json || !std::io::stdout().is_terminal() {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} iters  ETA {eta}  {msg}")
                .expect("valid template"),
        );
        bar.set_position(pos as u64);
        self.bar = Some(bar);
    }

    /// Advances the bar by one and shows `msg` beside it (when it shows).
    pub fn tick(&self, msg: Option<&str>) {
        if let Some(bar) = &self.bar {
            if let Some(m) = msg {
                bar.set_message(m.to_string());
            }
            bar.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Metrics of one report interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Iterations done.
    pub iteration: usize,
    /// Training samples (sequences, or characters for text) seen.
    pub samples: usize,
    /// Mean training loss over the interval.
    pub loss: f64,
    /// Training accuracy over the interval (0..1).
    pub batch_accuracy: f64,
    /// Loss on the evaluation set at this point, when it was evaluated.
    pub eval_loss: Option<f64>,
    /// Accuracy on the evaluation set at this point, when it was evaluated.
    pub eval_accuracy: Option<f64>,
    /// Training seconds so far (evaluation excluded).
    pub elapsed_seconds: f64,
}

/// The CSV text of `rows`, with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "iteration,samples,loss,batch_accuracy,eval_loss,eval_accuracy,elapsed_seconds\n",
    );
    let opt = |v: Option<f64>| v.map(|a| a.to_string()).unwrap_or_default();
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            r.iteration,
            r.samples,
            r.loss,
            r.batch_accuracy,
            opt(r.eval_loss),
            opt(r.eval_accuracy),
            r.elapsed_seconds
        );
    }
    s
}

/// Writes `rows` as CSV to `path`.
pub fn write_csv(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    write_atomic(path, csv(rows).as_bytes())
}

/// Draws loss (left: training and evaluation) and accuracy (right) against `unit`s seen
/// ("samples", "characters") as an SVG file at `path`.
pub fn write_plot(path: &Path, rows: &[Row], title: &str, unit: &str) -> std::io::Result<()> {
    let svg = plot_svg(rows, title, unit).map_err(std::io::Error::other)?;
    write_atomic(path, svg.as_bytes())
}

/// One curve: its legend, colour and points.
type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

fn plot_svg(rows: &[Row], title: &str, unit: &str) -> Result<String, String> {
    let x_desc = format!("{unit} seen");
    let max_x = rows.iter().map(|r| r.samples).max().unwrap_or(1).max(1) as f64;
    let series = |f: fn(&Row) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| f(r).map(|v| (r.samples as f64, v)))
            .collect()
    };
    let losses = [
        ("training", RED, series(|r| Some(r.loss))),
        ("evaluation", GREEN, series(|r| r.eval_loss)),
    ];
    let accuracies = [
        ("training batches", BLUE, series(|r| Some(r.batch_accuracy))),
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
    fn csv_has_a_header_and_one_line_per_row() {
        let rows = vec![
            Row {
                iteration: 100,
                samples: 10000,
                loss: 0.5,
                batch_accuracy: 0.8,
                eval_loss: None,
                eval_accuracy: None,
                elapsed_seconds: 1.5,
            },
            Row {
                iteration: 200,
                samples: 20000,
                loss: 0.25,
                batch_accuracy: 0.9,
                eval_loss: Some(0.3),
                eval_accuracy: Some(0.92),
                elapsed_seconds: 3.0,
            },
        ];
        let text = csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "iteration,samples,loss,batch_accuracy,eval_loss,eval_accuracy,elapsed_seconds"
        );
        assert_eq!(lines[1], "100,10000,0.5,0.8,,,1.5");
        assert_eq!(lines[2], "200,20000,0.25,0.9,0.3,0.92,3");
        let svg = plot_svg(&rows, "t", "samples").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("evaluation"));
    }
}
