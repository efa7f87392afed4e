//! What a training run reports: one [`Report`] per interval, shown as a progress line and written
//! as a CSV row (`iteration,samples,loss,batch_accuracy,eval_loss,eval_accuracy,elapsed_seconds,
//! validation_loss`).
//! Files are written atomically.

use crate::checkpoint::write_atomic;
use std::fmt::Write as _;
use std::path::Path;

/// The metrics of one report interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Iterations done.
    pub iteration: usize,
    /// The iteration the run stops at (its schedule's length, or where it was asked to stop).
    pub last: usize,
    /// Training samples (sequences, or characters for text) seen.
    pub samples: usize,
    /// Mean training loss over the interval.
    pub loss: f64,
    /// Training accuracy over the interval (0..1); none for a regression.
    pub batch_accuracy: Option<f64>,
    /// Loss on the evaluation data at this point, when it was evaluated.
    pub eval_loss: Option<f64>,
    /// Accuracy on the evaluation data at this point, when it was evaluated.
    pub eval_accuracy: Option<f64>,
    /// Loss on the validation part at its last evaluation within the interval (see
    /// [`crate::TrainConfig::validation`]), if there was one.
    pub validation_loss: Option<f64>,
    /// Training seconds so far (evaluation excluded).
    pub elapsed_seconds: f64,
    /// Gradient norm of the interval's last step, before clipping.
    pub grad_norm: f64,
    /// Learning rate of the interval's last step.
    pub lr: f64,
    /// Samples (or characters) a second over the interval.
    pub rate: f64,
    /// What a sample is: "samples" or "chars".
    pub unit: &'static str,
}

impl Report {
    /// The losses and accuracies, as the progress line and bar show them:
    /// `loss 0.1234  acc 0.9600[  eval loss …  eval acc …]` (no accuracy for a regression).
    pub fn metrics(&self) -> String {
        let mut s = format!("loss {:.4}", self.loss);
        if let Some(a) = self.batch_accuracy {
            let _ = write!(s, "  acc {a:.4}");
        }
        if let Some(l) = self.validation_loss {
            let _ = write!(s, "  val loss {l:.4}");
        }
        if let Some(l) = self.eval_loss {
            let _ = write!(s, "  eval loss {l:.4}");
        }
        if let Some(a) = self.eval_accuracy {
            let _ = write!(s, "  eval acc {a:.4}");
        }
        s
    }
}

impl std::fmt::Display for Report {
    /// The progress line: `iter    100/2500  loss …  acc …  |g| …  lr …  … samples/s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "iter {:>6}/{}  {}  |g| {:.3}  lr {:.2e}  {:.0} {}/s",
            self.iteration,
            self.last,
            self.metrics(),
            self.grad_norm,
            self.lr,
            self.rate,
            self.unit
        )
    }
}

/// The CSV text of `reports`, with a header line.
pub fn csv(reports: &[Report]) -> String {
    let mut s = String::from(
        "iteration,samples,loss,batch_accuracy,eval_loss,eval_accuracy,elapsed_seconds,\
         validation_loss\n",
    );
    let opt = |v: Option<f64>| v.map(|a| a.to_string()).unwrap_or_default();
    for r in reports {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{}",
            r.iteration,
            r.samples,
            r.loss,
            opt(r.batch_accuracy),
            opt(r.eval_loss),
            opt(r.eval_accuracy),
            r.elapsed_seconds,
            opt(r.validation_loss)
        );
    }
    s
}

/// Writes `reports` as CSV to `path`, atomically.
///
/// # Errors
/// When the file cannot be written.
pub fn write_csv(path: &Path, reports: &[Report]) -> crate::Result<()> {
    write_atomic(path, csv(reports).as_bytes()).map_err(crate::Error::io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn reports() -> Vec<Report> {
        let r = Report {
            iteration: 100,
            last: 200,
            samples: 10000,
            loss: 0.5,
            batch_accuracy: Some(0.8),
            eval_loss: None,
            eval_accuracy: None,
            validation_loss: None,
            elapsed_seconds: 1.5,
            grad_norm: 0.25,
            lr: 0.001,
            rate: 6666.7,
            unit: "samples",
        };
        vec![
            r.clone(),
            Report {
                iteration: 200,
                samples: 20000,
                loss: 0.25,
                batch_accuracy: Some(0.9),
                eval_loss: Some(0.3),
                eval_accuracy: Some(0.92),
                validation_loss: Some(0.35),
                elapsed_seconds: 3.0,
                ..r
            },
        ]
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_report() {
        let text = csv(&reports());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "iteration,samples,loss,batch_accuracy,eval_loss,eval_accuracy,elapsed_seconds,\
             validation_loss"
        );
        assert_eq!(lines[1], "100,10000,0.5,0.8,,,1.5,");
        assert_eq!(lines[2], "200,20000,0.25,0.9,0.3,0.92,3,0.35");
    }

    #[test]
    fn a_report_shows_as_the_progress_line() {
        let r = reports();
        assert_eq!(
            r[0].to_string(),
            "iter    100/200  loss 0.5000  acc 0.8000  |g| 0.250  lr 1.00e-3  6667 samples/s"
        );
        assert_eq!(
            r[1].metrics(),
            "loss 0.2500  acc 0.9000  val loss 0.3500  eval loss 0.3000  eval acc 0.9200"
        );
    }
}
