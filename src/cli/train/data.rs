//! What `train` trains on: a text (`--text`), a series cut into windows (`--series`), or labelled
//! sequences (`--data`: MNIST, a `.ts` pair, an `.npz`); on `--resume`, read as the saved run
//! read it.

use super::{Loaded, TrainArgs};
use anyhow::{Result, bail};
use blasrnn::checkpoint::{Checkpoint, DataInfo};
use blasrnn::data::series::{Cut, Forecasting, read_csv};
use blasrnn::data::text::Corpus;
use blasrnn::data::{Dataset, Source};

/// Default past steps of a forecast.
pub const WINDOW: usize = 48;

/// Reads the data the arguments name.
pub fn load(a: &TrainArgs, resume: Option<&Checkpoint>) -> Result<Loaded> {
    if !(a.val_frac > 0.0 && a.val_frac < 1.0) {
        bail!("--val-frac must be between 0 and 1, got {}", a.val_frac);
    }
    if let Some(path) = &a.text {
        let vocab = match resume.map(|c| &c.data) {
            Some(DataInfo::Text(v)) => Some(v),
            _ => None,
        };
        return Ok(Loaded {
            data: Dataset::Text(Corpus::load(path, a.val_frac, vocab)?),
            flag: format!("--text {}", path.display()),
            path: path.clone(),
        });
    }
    if let Some(path) = &a.series {
        return series(a, path, resume);
    }
    let source = Source::find(&a.data)?;
    if a.raw_pixels && !source.images() {
        bail!(
            "--raw-pixels applies to MNIST's images only; {} is standardised",
            a.data.display()
        );
    }
    let scale = if a.raw_pixels { 1.0 } else { 1.0 / 255.0 };
    let regression = a.task.as_deref() == Some("regression")
        || matches!(resume.map(|c| &c.data), Some(DataInfo::Values { .. }));
    let mut data = source.load_as(scale, regression)?;
    // A resumed run keeps the normalisation (and class order) it was trained with.
    match resume.map(|c| &c.data) {
        Some(DataInfo::Classes { norm, names, .. }) => {
            if *names != data.train.classes {
                bail!(
                    "--resume: the saved model's classes ({}) are not those of {} ({})",
                    names.join(" ").escape_debug(),
                    a.data.display(),
                    data.train.classes.join(" ").escape_debug()
                );
            }
            data.train.norm = norm.clone();
            data.test.norm = norm.clone();
        }
        Some(DataInfo::Values { norm, targets, .. }) => {
            data.train.norm = norm.clone();
            data.test.norm = norm.clone();
            data.train.standardise_targets(targets);
            data.test.standardise_targets(targets);
        }
        _ => {}
    }
    Ok(Loaded {
        data: Dataset::Labelled(data),
        flag: format!("--data {}", a.data.display()),
        path: a.data.clone(),
    })
}

/// A series cut into windows as the flags (or the resumed model) say.
fn series(a: &TrainArgs, path: &std::path::Path, resume: Option<&Checkpoint>) -> Result<Loaded> {
    let s = read_csv(path)?;
    let saved = match resume.map(|c| (&c.data, c.config.task)) {
        Some((
            DataInfo::Series {
                columns,
                target,
                window,
                test_len,
                seasonal,
                ..
            },
            blasrnn::network::Task::Regress { targets, .. },
        )) => {
            if a.residual && seasonal.is_none() {
                bail!(
                    "--resume: the saved forecaster learns the values themselves; --residual was given"
                );
            }
            Some((
                columns[*target].clone(),
                *window,
                targets,
                *test_len,
                *seasonal,
            ))
        }
        Some(_) => bail!(
            "--resume {}: the saved model is not a forecaster; --series trains forecasters",
            resume.map_or(String::new(), |c| c.path.display().to_string())
        ),
        None => None,
    };
    let target = a.target.clone().or(saved.as_ref().map(|s| s.0.clone()));
    let window = a
        .window
        .map(|w| w as usize)
        .or(saved.as_ref().map(|s| s.1))
        .unwrap_or(WINDOW);
    let horizon = a
        .horizon
        .map(|h| h as usize)
        .or(saved.as_ref().map(|s| s.2))
        .unwrap_or(1);
    let test_len = a
        .test_len
        .map(|t| t as usize)
        .or(saved.as_ref().map(|s| s.3));
    let seasonal = match &saved {
        Some(s) => s.4,
        None => a.residual.then(|| a.season.unwrap_or(1) as usize),
    };
    let cut = Cut {
        target,
        window,
        horizon,
        test_len,
        seasonal,
    };
    let f = Forecasting::new(&s, &cut)?;
    let flag = format!(
        "--series {} --target {:?} --window {window} --horizon {horizon} --test-len {}",
        path.display(),
        f.columns[f.target],
        f.test_len
    );
    Ok(Loaded {
        data: Dataset::Series(f),
        flag,
        path: path.to_path_buf(),
    })
}
