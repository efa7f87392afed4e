//! Forecasting: a series read from a CSV file (a header naming the columns, one row per time step;
//! one column is a univariate series, several a multivariate one) cut into windows of `window`
//! past steps, each mapped to the next `horizon` values of the forecast column.
//!
//! The last `test_len` steps are held out. Training windows end every step of the rest (their
//! targets never reach into the held-out part); the test forecasts from rolling origins, every
//! `horizon` steps through the held-out part, each reading the `window` actual values before it.
//! Every column is standardised with the training part's mean and standard deviation; the
//! forecast column's statistics standardise the targets too.
//!
//! What a [`Cut`] leaves unset is read from the series by a rule: the held-out part
//! ([`test_len_rule`]), the season ([`detect_season`]) and the window ([`window_rule`]); by
//! default the model corrects the seasonal naive forecast of that season.

use super::{Labelled, Norm, SeqSet, Targets};
use crate::error::{Error, Result};
use crate::metrics::ValueErrors;
use std::path::PathBuf;

mod csv;
mod rules;

pub use csv::{Series, read_csv};
pub use rules::{LONGEST_SEASON, detect_season, test_len_rule, window_rule};

/// How a series is cut for forecasting. Each setting left `None` is chosen by its rule from the
/// series (see [`Forecasting::new`]), so that a series and a horizon alone make a good run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The column to forecast (the first when `None`).
    pub target: Option<String>,
    /// Past steps each forecast reads ([`window_rule`] when `None`).
    pub window: Option<usize>,
    /// Steps forecast at once.
    pub horizon: usize,
    /// Steps held out at the end ([`test_len_rule`] when `None`).
    pub test_len: Option<usize>,
    /// The season m of the seasonal naive forecast: the baseline the forecasts are measured
    /// against and, when the model corrects it, the forecast it corrects. `None`: the season
    /// [`detect_season`] finds in the training part, or 1 (the naive forecast, the last value)
    /// when it finds none.
    pub season: Option<usize>,
    /// Whether the model learns the change from the seasonal naive forecast (which its own
    /// forecast is added to) rather than the values themselves. `None`: it does.
    pub residual: Option<bool>,
}

impl Cut {
    /// A cut forecasting `horizon` steps of the first column with every other setting chosen by
    /// its rule.
    pub fn new(horizon: usize) -> Cut {
        Cut {
            target: None,
            window: None,
            horizon,
            test_len: None,
            season: None,
            residual: None,
        }
    }
}

/// How the season of a forecasting run was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeasonFrom {
    /// Given by the caller.
    Given,
    /// Found in the training part by [`detect_season`].
    Detected,
    /// None found: the naive forecast (season 1).
    NoneFound,
}

/// A series cut for forecasting: the windows that train and test, and what the forecasts are
/// measured against.
#[derive(Debug, Clone)]
pub struct Forecasting {
    /// The file.
    pub path: PathBuf,
    /// The columns the model reads.
    pub columns: Vec<String>,
    /// The forecast column.
    pub target: usize,
    /// Past steps each forecast reads.
    pub window: usize,
    /// Steps forecast at once.
    pub horizon: usize,
    /// Steps held out at the end.
    pub test_len: usize,
    /// The season of the seasonal naive forecast the forecasts are measured against (1: the
    /// naive forecast).
    pub season: usize,
    /// How the season was decided.
    pub season_from: SeasonFrom,
    /// The season of the seasonal naive forecast the model corrects, if it does.
    pub seasonal: Option<usize>,
    /// The forecast column's values, every step.
    pub y: Vec<f64>,
    /// The training windows (every origin of the training part) and the test windows (rolling
    /// origins every `horizon` steps through the held-out part), standardised.
    pub sets: Labelled,
    /// The test windows' origins: the index of each one's first forecast step.
    pub origins: Vec<usize>,
}

/// The seasonal naive forecast (season `m`) of step `h` ahead of origin `o` of `y`:
/// `y[o + h − m·⌈(h + 1)/m⌉]`, the value one season before it (or several, beyond one season).
fn seasonal_naive_at(y: &[f64], o: usize, h: usize, m: usize) -> f64 {
    y[o + h - m * (h / m + 1)]
}

/// A [`Cut`] with every setting chosen and checked against its series, and the series' forecast
/// column.
struct Settled {
    target: usize,
    horizon: usize,
    test_len: usize,
    season: usize,
    season_from: SeasonFrom,
    seasonal: Option<usize>,
    window: usize,
    y: Vec<f64>,
}

impl Cut {
    /// The settings of [`Forecasting::new`] for `series`: those given, the rest by their rules;
    /// its errors.
    fn settle(&self, series: &Series) -> Result<Settled> {
        let cut = self;
        series.check()?;
        let n = series.len();
        let target = cut.target.as_deref().map_or(Ok(0), |t| series.find(t))?;
        let horizon = cut.horizon;
        for (name, v) in [
            ("window", cut.window),
            ("horizon", Some(horizon)),
            ("season", cut.season),
        ] {
            if v == Some(0) {
                return Err(Error::config(format!("`{name}` must be at least 1, got 0")));
            }
        }
        let test_len = cut.test_len.unwrap_or_else(|| test_len_rule(n, horizon));
        if test_len < horizon {
            return Err(Error::config(format!(
                "`test_len` {test_len} holds no forecast of `horizon` {horizon} steps"
            )));
        }
        if test_len >= n {
            return Err(Error::config(format!(
                "{}: `test_len` {test_len} leaves nothing of a series of {n} steps to train on",
                series.path.display()
            )));
        }
        let y = series.column(target);
        let (season, season_from) = match cut.season {
            Some(m) => (m, SeasonFrom::Given),
            None => match detect_season(&y[..n - test_len]) {
                Some(m) => (m, SeasonFrom::Detected),
                None => (1, SeasonFrom::NoneFound),
            },
        };
        let residual = cut.residual.unwrap_or(true);
        let seasonal = residual.then_some(season);
        let window = cut
            .window
            .unwrap_or_else(|| window_rule(n, horizon, test_len, season, residual));
        if let Some(m) = seasonal
            && m > window
        {
            return Err(Error::config(format!(
                "the seasonal naive forecast of `season` {m} needs a `window` of at least {m} \
                 steps, got {window}"
            )));
        }
        // A model correcting the seasonal naive forecast also reads the forecast column's change
        // over the season, which the first season of the series does not have.
        let lead = seasonal.unwrap_or(0);
        let needed = [window, lead, horizon, test_len]
            .iter()
            .fold(0usize, |a, &b| a.saturating_add(b));
        if n < needed {
            let season = if lead > 0 {
                format!(" + `season` {lead}")
            } else {
                String::new()
            };
            return Err(Error::config(format!(
                "{}: a series of {n} steps is too short for `window` {window}{season} + `horizon` \
                 {horizon} + `test_len` {test_len} = {} steps",
                series.path.display(),
                needed
            )));
        }
        Ok(Settled {
            target,
            horizon,
            test_len,
            season,
            season_from,
            seasonal,
            window,
            y,
        })
    }
}

impl Forecasting {
    /// Cuts `series` as `cut` says, each setting it leaves `None` chosen by its rule: the last
    /// [`test_len_rule`] steps held out, the season [`detect_season`] finds in the rest (else
    /// the naive forecast's 1), the model correcting that season's seasonal naive forecast,
    /// and [`window_rule`]'s window.
    ///
    /// # Errors
    /// [`Error::Config`] for a window, horizon or season of 0, a held-out part too short for one
    /// forecast, a season longer than the window, or a series (named) too short for `window +
    /// horizon + test_len` steps; [`Error::Format`] naming the file when the target is not one
    /// of its columns.
    pub fn new(series: &Series, cut: &Cut) -> Result<Forecasting> {
        let Settled {
            target,
            horizon,
            test_len,
            season,
            season_from,
            seasonal,
            window,
            y,
        } = cut.settle(series)?;
        let n = series.len();
        let lead = seasonal.unwrap_or(0);
        let c = series.columns.len();
        let train_end = n - test_len;
        let (table, width) = inputs(series, c, &y, seasonal);
        let norm = Norm::of_columns(&table[lead * width..train_end * width], width);
        let train_origins: Vec<usize> = (window + lead..=train_end - horizon).collect();
        let origins: Vec<usize> = (train_end..=n - horizon).step_by(horizon).collect();
        // What the model learns: the values, or their change from the seasonal naive forecast.
        let learned = |o: usize, h: usize| match seasonal {
            Some(m) => y[o + h] - seasonal_naive_at(&y, o, h, m),
            None => y[o + h],
        };
        let windows = |origins: &[usize]| -> Result<SeqSet> {
            let mut x = Vec::with_capacity(origins.len() * window * width);
            let mut t = Vec::with_capacity(origins.len() * horizon);
            for &o in origins {
                x.extend_from_slice(&table[(o - window) * width..o * width]);
                t.extend((0..horizon).map(|h| learned(o, h)));
            }
            let names = (1..=horizon).map(|h| format!("t+{h}")).collect();
            SeqSet::from_arrays(&x, [origins.len(), window, width], None, None)?
                .with_values(t, horizon, names)
        };
        let mut train = windows(&train_origins)?;
        let mut test = windows(&origins)?;
        // Every step ahead standardised alike: with the column's statistics, or the changes'.
        let (shift, scale) = match seasonal {
            None => (norm.shift[target], norm.scale[target]),
            Some(_) => {
                let Some(Targets::Values { y: changes, .. }) = Some(&train.targets) else {
                    unreachable!("windows have values as targets")
                };
                let stats = Norm::of_columns(changes, 1);
                (stats.shift[0], stats.scale[0])
            }
        };
        let target_norm = Norm {
            shift: vec![shift; horizon],
            scale: vec![scale; horizon],
        };
        train.norm = norm.clone();
        test.norm = norm;
        train.standardise_targets(&target_norm);
        test.standardise_targets(&target_norm);
        Ok(Forecasting {
            path: series.path.clone(),
            columns: series.columns.clone(),
            target,
            window,
            horizon,
            test_len,
            season,
            season_from,
            seasonal,
            y,
            sets: Labelled {
                train,
                test,
                images: false,
                notes: Vec::new(),
            },
            origins,
        })
    }

    /// How the targets are standardised.
    pub fn target_norm(&self) -> &Norm {
        match &self.sets.train.targets {
            Targets::Values { norm, .. } => norm,
            _ => unreachable!("forecasting windows have values as targets"),
        }
    }

    /// The seasonal naive forecast of the test origins with season `m` (1: the naive forecast,
    /// the last value), `[origins][horizon]`.
    pub fn seasonal_naive(&self, m: usize) -> Vec<f64> {
        let m = m.max(1);
        self.origins
            .iter()
            .flat_map(|&o| (0..self.horizon).map(move |h| seasonal_naive_at(&self.y, o, h, m)))
            .collect()
    }

    /// The test windows' values, `[origins][horizon]`.
    pub fn actuals(&self) -> Vec<f64> {
        self.origins
            .iter()
            .flat_map(|&o| self.y[o..o + self.horizon].iter().copied())
            .collect()
    }

    /// A model's forecasts of the test origins from what it predicts (`[origins][horizon]`):
    /// the values themselves, or, for a model that corrects the seasonal naive forecast, that
    /// forecast plus the correction.
    pub fn forecasts(&self, predicted: &[f64]) -> Vec<f64> {
        match self.seasonal {
            None => predicted.to_vec(),
            Some(m) => predicted
                .iter()
                .zip(self.seasonal_naive(m))
                .map(|(p, b)| p + b)
                .collect(),
        }
    }

    /// The errors of forecasts of the test origins (`[origins][horizon]`) against the values.
    pub fn errors(&self, forecasts: &[f64]) -> ValueErrors {
        let train = &self.y[..self.y.len() - self.test_len];
        let mean = train.iter().sum::<f64>() / train.len() as f64;
        ValueErrors::of(forecasts, &self.actuals(), &vec![mean; self.horizon])
    }

    /// The scale of the mean absolute scaled error with season `m`: the mean absolute difference
    /// between each step of the training part and the step a season before it (Hyndman and
    /// Koehler, 2006).
    pub fn mase_scale(&self, m: usize) -> f64 {
        let m = m.max(1);
        let train = &self.y[..self.y.len() - self.test_len];
        let diffs: Vec<f64> = train.windows(m + 1).map(|w| (w[m] - w[0]).abs()).collect();
        diffs.iter().sum::<f64>() / diffs.len().max(1) as f64
    }
}

/// The last steps of `series` a forecaster reads — its `columns` (by name; `target` the forecast
/// one) and, when it corrects the seasonal naive forecast of season `seasonal`, the forecast
/// column's change over the season — `[window][width]`, and the seasonal naive forecast of the
/// `horizon` steps after the series' end (zeros for a model of the values themselves).
///
/// # Errors
/// [`Error::Format`] naming the file when a column is missing or the series is too short.
pub fn last_window(
    series: &Series,
    columns: &[String],
    target: usize,
    window: usize,
    (horizon, seasonal): (usize, Option<usize>),
) -> Result<(Vec<f64>, Vec<f64>)> {
    series.check()?;
    let picks: Vec<usize> = columns
        .iter()
        .map(|c| series.find(c))
        .collect::<Result<_>>()?;
    let n = series.len();
    let lead = seasonal.unwrap_or(0);
    if n < window + lead {
        return Err(Error::format(
            &series.path,
            format!(
                "holds {n} steps; the model reads the last {}",
                window + lead
            ),
        ));
    }
    let c = series.columns.len();
    let chosen = Series {
        path: series.path.clone(),
        columns: columns.to_vec(),
        values: (0..n)
            .flat_map(|row| picks.iter().map(move |&j| series.values[row * c + j]))
            .collect(),
    };
    let y = chosen.column(target);
    let (table, width) = inputs(&chosen, columns.len(), &y, seasonal);
    let x = table[(n - window) * width..].to_vec();
    let base = match seasonal {
        Some(m) => (0..horizon)
            .map(|h| seasonal_naive_at(&y, n, h, m))
            .collect(),
        None => vec![0.0; horizon],
    };
    Ok((x, base))
}

/// What a forecaster reads of `series` (`c` columns, the forecast one `y`): every step's columns
/// and, when it corrects the seasonal naive forecast of season m, the forecast column's change
/// over the season (`y[t] − y[t − m]`, 0 in the first season); `[n][width]` and the width.
fn inputs(series: &Series, c: usize, y: &[f64], seasonal: Option<usize>) -> (Vec<f64>, usize) {
    let Some(m) = seasonal else {
        return (series.values.clone(), c);
    };
    let mut table = Vec::with_capacity(y.len() * (c + 1));
    for (t, row) in series.values.chunks_exact(c).enumerate() {
        table.extend_from_slice(row);
        table.push(if t >= m { y[t] - y[t - m] } else { 0.0 });
    }
    (table, c + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64], c: usize) -> Series {
        Series {
            path: "s.csv".into(),
            columns: (0..c).map(|i| format!("c{i}")).collect(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn windows_origins_and_baselines() {
        let y: Vec<f64> = (0..30).map(f64::from).collect();
        let cut = Cut {
            window: Some(4),
            test_len: Some(9),
            season: Some(1),
            residual: Some(false),
            ..Cut::new(3)
        };
        let f = Forecasting::new(&series(&y, 1), &cut).unwrap();
        // Training origins 4..=18 (targets end at 20 = 30 − 9 − 1); test origins 21, 24, 27.
        assert_eq!(f.sets.train.len(), 15);
        assert_eq!(f.origins, vec![21, 24, 27]);
        assert_eq!(f.actuals()[..3], [21.0, 22.0, 23.0]);
        // Naive: the last value for every step ahead; season 2: a season back, then two.
        assert_eq!(f.seasonal_naive(1)[..3], [20.0, 20.0, 20.0]);
        assert_eq!(f.seasonal_naive(2)[..3], [19.0, 20.0, 19.0]);
        assert_eq!(f.mase_scale(1), 1.0);
        assert_eq!(f.mase_scale(3), 3.0);
        let Targets::Values { y: t, k: 3, .. } = &f.sets.test.targets else {
            panic!("values")
        };
        assert_eq!(t[..3], [21.0, 22.0, 23.0]);
        assert_eq!(f.forecasts(&[1.0, 2.0]), [1.0, 2.0]);
        // Correcting the seasonal naive forecast: the targets are the changes from it, which the
        // forecasts add back.
        let seasonal = Cut {
            season: Some(2),
            residual: Some(true),
            ..cut
        };
        let g = Forecasting::new(&series(&y, 1), &seasonal).unwrap();
        // It reads the change over the season too, from the end of the first season on.
        assert_eq!((g.sets.train.dims, g.sets.train.len()), (2, 13));
        let Targets::Values { y: t, .. } = &g.sets.test.targets else {
            panic!("values")
        };
        assert_eq!(t[..3], [2.0, 2.0, 4.0]);
        assert_eq!(g.forecasts(&t[..3])[..3], [21.0, 22.0, 23.0]);
        assert_eq!(g.errors(&g.forecasts(t)).rmse, 0.0);
    }

    #[test]
    fn too_short_and_empty_settings_are_refused() {
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let s = series(&y, 1);
        let cut = |window, horizon, test_len| Cut {
            window: Some(window),
            test_len: Some(test_len),
            residual: Some(false),
            ..Cut::new(horizon)
        };
        let e = Forecasting::new(&s, &cut(4, 3, 4)).unwrap_err();
        assert!(e.to_string().contains("too short for `window` 4"), "{e}");
        assert!(Forecasting::new(&s, &cut(4, 0, 4)).is_err());
        let e = Forecasting::new(&s, &cut(2, 3, 2)).unwrap_err();
        assert!(
            e.to_string().contains("`test_len` 2 holds no forecast"),
            "{e}"
        );
        let named = Cut {
            target: Some("z".into()),
            ..cut(2, 1, 2)
        };
        let e = Forecasting::new(&s, &named).unwrap_err();
        assert!(e.to_string().contains("no column \"z\""), "{e}");
        // Sizes past any series are errors, not overflows.
        for huge in [
            cut(usize::MAX, 1, 2),
            cut(2, usize::MAX, 2),
            cut(2, 1, usize::MAX),
            Cut::new(usize::MAX),
        ] {
            assert!(Forecasting::new(&s, &huge).is_err(), "{huge:?}");
        }
        let long_season = Cut {
            season: Some(3),
            residual: Some(true),
            ..cut(2, 1, 2)
        };
        assert!(Forecasting::new(&s, &long_season).is_err());
    }
}
