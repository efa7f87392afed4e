//! What `train` trains on: a text (`--text`), a series cut into windows (`--series`), or labelled
//! sequences (`--data`: MNIST, a `.ts` pair, an `.npz`); on `--resume`, read as the saved run
//! read it.

use super::{Loaded, TrainArgs};
use anyhow::{Result, bail};
use blasrnn::checkpoint::Checkpoint;
use blasrnn::data::DataInfo;
use blasrnn::data::series::{Cut, Forecasting, read_csv};
use blasrnn::data::text::Corpus;
use blasrnn::data::{Dataset, Source};

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
    let saved = match resume.map(|c| (c.data.cut(None), c)) {
        Some((Some(cut), _)) => {
            if a.residual && cut.residual == Some(false) {
                bail!(
                    "--resume: the saved forecaster learns the values themselves; --residual was given"
                );
            }
            Some(cut)
        }
        Some((None, c)) => bail!(
            "--resume {}: the saved model is not a forecaster; --series trains forecasters",
            c.path.display()
        ),
        None => None,
    };
    let cut = match saved {
        // A resumed forecaster reads the series as it was cut.
        Some(cut) => {
            // Cut with no season of its own: the season is the one the model corrects.
            let seasonal = cut.season;
            for (flag, given) in [
                (
                    "--window",
                    a.window.is_some_and(|w| Some(w as usize) != cut.window),
                ),
                (
                    "--horizon",
                    a.horizon.is_some_and(|h| h as usize != cut.horizon),
                ),
                (
                    "--test-len",
                    a.test_len.is_some_and(|t| Some(t as usize) != cut.test_len),
                ),
                ("--no-residual", a.no_residual && seasonal.is_some()),
                (
                    "--season",
                    seasonal.is_some_and(|m| a.season.is_some_and(|s| s as usize != m)),
                ),
            ] {
                if given {
                    bail!("--resume: the saved forecaster fixes {flag}; leave it out");
                }
            }
            Cut {
                target: a.target.clone().or(cut.target),
                season: cut.season.or(a.season.map(|m| m as usize)),
                ..cut
            }
        }
        None => Cut {
            target: a.target.clone(),
            window: a.window.map(|w| w as usize),
            horizon: a.horizon.map_or(1, |h| h as usize),
            test_len: a.test_len.map(|t| t as usize),
            season: a.season.map(|m| m as usize),
            residual: if a.no_residual { Some(false) } else { None },
        },
    };
    let f = Forecasting::new(&s, &cut)?;
    let residual = if f.seasonal.is_some() {
        ""
    } else {
        " --no-residual"
    };
    let flag = format!(
        "--series {} --target {:?} --window {} --horizon {} --test-len {} --season {}{residual}",
        path.display(),
        f.columns[f.target],
        f.window,
        f.horizon,
        f.test_len,
        f.season
    );
    Ok(Loaded {
        data: Dataset::Series(f),
        flag,
        path: path.to_path_buf(),
    })
}
