//! What a model reached on held-out data, for every task: the lines `train` and `eval` print, and
//! the keys of their `--json` summaries.

use super::console::Console;
use blasrnn::Model;
use blasrnn::data::series::{Forecasting, SeasonFrom};
use blasrnn::network::Task;
use blasrnn::train::Evaluation;
use serde::Serialize;

/// The held-out figures of one task.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Reached {
    /// A language model on the validation text.
    Text {
        val_loss: f64,
        val_bpc: f64,
        val_accuracy: f64,
    },
    /// A class per sequence.
    Classes { test_accuracy: f64, test_loss: f64 },
    /// A class per step.
    Steps {
        test_step_accuracy: f64,
        test_sequence_accuracy: f64,
        test_loss: f64,
    },
    /// Real numbers per sequence.
    Values {
        test_rmse: f64,
        test_mae: f64,
        test_r2: f64,
        mean_baseline_rmse: f64,
        test_loss: f64,
    },
    /// Forecasts from rolling origins through the held-out end of a series, beside the seasonal
    /// naive forecast's.
    Forecast {
        test_rmse: f64,
        test_mae: f64,
        test_mape: f64,
        test_mase: f64,
        baseline_rmse: f64,
        baseline_mae: f64,
        baseline_mape: f64,
        baseline_mase: f64,
        season: usize,
        season_from: SeasonFrom,
        window: usize,
        test_len: usize,
        residual: bool,
        origins: usize,
        horizon: usize,
        test_loss: f64,
    },
}

impl Reached {
    /// The figures of `eval` for a model of `task`.
    pub fn of(eval: &Evaluation, task: &Task) -> Reached {
        match (task, &eval.values) {
            (Task::NextToken, ..) => Reached::Text {
                val_loss: eval.loss,
                val_bpc: eval.bits(),
                val_accuracy: eval.accuracy,
            },
            (Task::Tag { .. }, ..) => Reached::Steps {
                test_step_accuracy: eval.accuracy,
                test_sequence_accuracy: eval.sequence_accuracy.unwrap_or(0.0),
                test_loss: eval.loss,
            },
            (_, Some(v)) => Reached::Values {
                test_rmse: v.rmse,
                test_mae: v.mae,
                test_r2: v.r2,
                mean_baseline_rmse: v.mean_baseline_rmse,
                test_loss: eval.loss,
            },
            _ => Reached::Classes {
                test_accuracy: eval.accuracy,
                test_loss: eval.loss,
            },
        }
    }

    /// A forecaster's figures on `f`'s held-out part (its loss `eval`), measured against the
    /// seasonal naive forecast of `season` (and how that season was decided).
    ///
    /// # Errors
    /// When the model does not fit the series' windows.
    pub fn forecast(
        model: &Model,
        f: &Forecasting,
        eval: &Evaluation,
        (season, season_from): (usize, SeasonFrom),
    ) -> blasrnn::Result<Reached> {
        let predicted: Vec<f64> = model
            .regress_at(&f.sets.test, 0..f.sets.test.len())?
            .concat();
        let v = f.errors(&f.forecasts(&predicted));
        let base = f.errors(&f.seasonal_naive(season));
        let scale = f.mase_scale(season);
        Ok(Reached::Forecast {
            test_rmse: v.rmse,
            test_mae: v.mae,
            test_mape: v.mape,
            test_mase: v.mae / scale,
            baseline_rmse: base.rmse,
            baseline_mae: base.mae,
            baseline_mape: base.mape,
            baseline_mase: base.mae / scale,
            season,
            season_from,
            window: f.window,
            test_len: f.test_len,
            residual: f.seasonal.is_some(),
            origins: f.origins.len(),
            horizon: f.horizon,
            test_loss: eval.loss,
        })
    }

    /// The line (or two) that says it.
    pub fn say(&self, console: &Console, eval: &Evaluation) {
        match *self {
            Reached::Text {
                val_loss,
                val_bpc,
                val_accuracy,
            } => console.say(format_args!(
                "validation loss {val_loss:.4} nats/char = {val_bpc:.4} bits/char, next-char accuracy {:.2}% ({} characters)",
                100.0 * val_accuracy,
                eval.count
            )),
            Reached::Classes {
                test_accuracy,
                test_loss,
            } => console.say(format_args!(
                "test accuracy {:.2}% ({} / {}), test loss {test_loss:.4}",
                100.0 * test_accuracy,
                (test_accuracy * eval.count as f64).round() as usize,
                eval.count,
            )),
            Reached::Steps {
                test_step_accuracy,
                test_sequence_accuracy,
                test_loss,
            } => console.say(format_args!(
                "test accuracy per step {:.2}% ({} / {} steps), whole sequences right {:.2}%, test loss {test_loss:.4}",
                100.0 * test_step_accuracy,
                (test_step_accuracy * eval.count as f64).round() as usize,
                eval.count,
                100.0 * test_sequence_accuracy,
            )),
            Reached::Values {
                test_rmse,
                test_mae,
                test_r2,
                mean_baseline_rmse,
                test_loss,
            } => console.say(format_args!(
                "test RMSE {test_rmse:.6}, MAE {test_mae:.6}, R² {test_r2:.4} ({} sequences; \
                 predicting the training mean: RMSE {mean_baseline_rmse:.6}), test loss {test_loss:.4}",
                eval.count
            )),
            Reached::Forecast {
                test_rmse,
                test_mae,
                test_mape,
                test_mase,
                baseline_rmse,
                baseline_mae,
                baseline_mape,
                baseline_mase,
                season,
                season_from,
                origins,
                horizon,
                ..
            } => {
                let from = match season_from {
                    SeasonFrom::Given => "",
                    SeasonFrom::Detected => ", detected",
                    SeasonFrom::NoneFound => ", none detected",
                };
                console.say(format_args!(
                    "test: {origins} forecasts of {horizon} steps: RMSE {test_rmse:.4}, MAE \
                     {test_mae:.4}, MAPE {test_mape:.3}%, MASE {test_mase:.4} (season {season}{from})"
                ));
                console.say(format_args!(
                    "the seasonal naive forecast (season {season}): RMSE {baseline_rmse:.4}, MAE \
                     {baseline_mae:.4}, MAPE {baseline_mape:.3}%, MASE {baseline_mase:.4}"
                ));
            }
        }
    }
}
