//! From flags to a [`TrainConfig`]: each setting from the command line, else (on `--resume`) the
//! saved run's, else the library's default for the kind of data. What only a command line can
//! get wrong — a flag for the other task, a flag that contradicts the model being resumed — is
//! refused here; the library checks the values themselves.

use super::TrainArgs;
use anyhow::{Result, bail};
use blasrnn::TrainConfig;
use blasrnn::checkpoint::Checkpoint;
use blasrnn::data::DataInfo;
use blasrnn::data::{Dataset, Kind, Targets};
use blasrnn::network::Task;
use blasrnn::nn::head::Readout;
use blasrnn::train::{default_dtype, default_init, default_lr};
use clap::ArgMatches;
use clap::parser::ValueSource;

/// Whether `id` was given on the command line.
pub fn given(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
}

/// On `--resume`, the saved model fixes the task, cell, sizes, readout, pixels and dtype: flags
/// that contradict it are refused; the others take the file's values.
pub fn resume_into(a: &mut TrainArgs, m: &ArgMatches, ck: &Checkpoint) -> Result<()> {
    let c = &ck.config;
    let path = ck.path.display().to_string();
    let clash = |flag: &str, file: String, asked: String| {
        anyhow::anyhow!(
            "--resume {path}: the saved model has {flag} {file}, but {flag} {asked} was given"
        )
    };
    match (&ck.data, &a.text) {
        (DataInfo::Text(_), None) => {
            bail!(
                "--resume {path}: the saved model is a language model; give the text it trains on with --text FILE"
            )
        }
        (DataInfo::Classes { .. }, Some(_)) => {
            bail!("--resume {path}: the saved model is a classifier; --text trains language models")
        }
        _ => {}
    }
    if let Some(cell) = a.cell.filter(|&k| k != c.cell) {
        return Err(clash("--cell", c.cell.name().into(), cell.name().into()));
    }
    if let Some(h) = a.hidden.filter(|&h| h as usize != c.hidden) {
        return Err(clash("--hidden", c.hidden.to_string(), h.to_string()));
    }
    if let Some(l) = a.layers.filter(|&l| l as usize != c.layers) {
        return Err(clash("--layers", c.layers.to_string(), l.to_string()));
    }
    let readout = match c.task {
        Task::Classify { readout, .. } | Task::Regress { readout, .. } => Some(readout),
        Task::Tag { .. } => Some(Readout::Step),
        Task::NextToken => None,
    };
    if let Some(readout) = readout {
        if let Some(r) = a.readout.filter(|&r| r != readout) {
            return Err(clash("--readout", readout.name().into(), r.name().into()));
        }
        a.readout = Some(readout);
    }
    // The validation part is carved from the seed and the fraction; another would not continue
    // the saved run's early stopping.
    let saved_validation = ck.training.as_ref().map_or(0.0, |t| t.validation);
    if let Some(v) = a.validation.filter(|&v| v != saved_validation) {
        return Err(clash(
            "--validation",
            saved_validation.to_string(),
            v.to_string(),
        ));
    }
    if let Some(p) = a.patch.filter(|&p| p as usize != c.patch) {
        return Err(clash("--patch", c.patch.to_string(), p.to_string()));
    }
    a.patch = Some(c.patch as u32);
    if a.bidirectional && !c.bidirectional {
        return Err(clash("--bidirectional", "off".into(), "on".into()));
    }
    a.bidirectional = c.bidirectional;
    if let DataInfo::Classes {
        norm, images: true, ..
    } = &ck.data
    {
        let raw = norm.scale.first() == Some(&1.0);
        if given(m, "raw_pixels") && a.raw_pixels != raw {
            return Err(clash(
                "--raw-pixels",
                raw.to_string(),
                a.raw_pixels.to_string(),
            ));
        }
        a.raw_pixels = raw;
    }
    if let Some(d) = a.dtype.filter(|&d| d != ck.dtype) {
        return Err(clash("--dtype", ck.dtype.name().into(), d.name().into()));
    }
    (a.cell, a.hidden, a.layers, a.dtype) = (
        Some(c.cell),
        Some(c.hidden as u32),
        Some(c.layers as u32),
        Some(ck.dtype),
    );
    Ok(())
}

/// The run's configuration: each setting from the command line, else (on `--resume`) the saved
/// run's, else the default for the kind of data.
pub fn resolve(a: &TrainArgs, data: &Dataset, resume: Option<&Checkpoint>) -> Result<TrainConfig> {
    let kind = data.kind();
    let text = kind == Kind::Text;
    if !text && a.seq_len.is_some() {
        bail!("--seq-len applies to language models (--text) only");
    }
    if text && a.readout.is_some() {
        bail!("--readout applies to classifiers only; a language model predicts at every step");
    }
    let regression = matches!(
        data.sets().map(|s| &s.train.targets),
        Some(Targets::Values { .. })
    );
    if a.loss.is_some() && !regression {
        bail!("--loss applies to regression and forecasting (real-valued targets) only");
    }
    if a.task.is_some() && !matches!(data, Dataset::Labelled(_)) {
        bail!("--task regression applies to labelled sequences (--data) only");
    }
    let saved = resume.and_then(|c| c.training.as_ref());
    let base = match a.preset {
        Some(p) if p.kind() != kind => bail!(
            "--preset {p} is a recipe for {}, not for this data",
            if p.kind() == Kind::Text {
                "--text"
            } else {
                "another kind of data"
            }
        ),
        Some(p) => p.config(),
        None => TrainConfig::for_data(data),
    };
    macro_rules! pick {
        ($arg:expr, $field:ident) => {
            $arg.or(saved.map(|s| s.$field)).unwrap_or(base.$field)
        };
    }
    let cell = pick!(a.cell, cell);
    let optimizer = pick!(a.optimizer, optimizer);
    let lr =
        a.lr.or(saved.filter(|s| s.optimizer == optimizer).map(|s| s.lr))
            .unwrap_or(if optimizer == base.optimizer {
                base.lr
            } else {
                default_lr(optimizer, kind)
            });
    let clip = match a.clip {
        // 0 turns clipping off; the library checks the rest.
        Some(0.0) => None,
        Some(c) => Some(c),
        None => saved.map_or(base.clip, |s| s.clip),
    };
    let batch = pick!(a.batch.map(|b| b as usize), batch);
    let mut config = TrainConfig {
        cell,
        hidden: pick!(a.hidden.map(|h| h as usize), hidden),
        layers: pick!(a.layers.map(|l| l as usize), layers),
        bidirectional: a.bidirectional || saved.is_some_and(|s| s.bidirectional),
        patch: pick!(a.patch.map(|p| p as usize), patch),
        readout: pick!(a.readout, readout),
        loss: pick!(a.loss, loss),
        iters: base.iters,
        batch,
        seq_len: pick!(a.seq_len.map(|s| s as usize), seq_len),
        optimizer,
        lr,
        lr_schedule: pick!(a.lr_schedule, lr_schedule),
        warmup: pick!(a.warmup.map(|w| w as usize), warmup),
        clip,
        init: a
            .init
            .or(saved.map(|s| s.init))
            .unwrap_or(if a.preset.is_some() {
                base.init
            } else {
                default_init(cell, kind)
            }),
        forget_bias: a
            .forget_bias
            .or(saved.map_or(base.forget_bias, |s| s.forget_bias)),
        dropout: pick!(a.dropout, dropout),
        output_dropout: pick!(a.output_dropout, output_dropout),
        seed: pick!(a.seed, seed),
        validation: pick!(a.validation, validation),
        threads: pick!(a.threads.map(|t| t as usize), threads),
        time_budget: None,
        step_threads: a
            .step_threads
            .map(|t| t as usize)
            .or(saved.and_then(|s| s.step_threads)),
        dtype: a.dtype.unwrap_or(default_dtype(cell, kind)),
        keep_subnormals: a.keep_subnormals || saved.is_some_and(|s| s.keep_subnormals),
    };
    // The default batch follows the sequences that train, which the validation part decides.
    if (a.batch, saved, a.preset) == (None, None, None) {
        config.batch = config.batch_for(data);
    }
    config.iters = match (a.epochs, a.iters) {
        (Some(e), _) => e as usize * config.iters_per_epoch(data),
        (None, Some(i)) => i as usize,
        // Sequence sets and series come in every size: a number of passes, not of batches.
        (None, None) if matches!(kind, Kind::Sequences | Kind::Series) && saved.is_none() => {
            config.iters_for(data)
        }
        (None, None) => pick!(None::<usize>, iters),
    };
    match (a.time_budget, saved) {
        (Some(_), Some(_)) => bail!(
            "--time-budget with --resume: a resumed run continues the saved run's schedule;              give --iters to lengthen it"
        ),
        (Some(seconds), None) => config.set_time_budget(seconds),
        // A saved run on a budget keeps it: the length it fixed (then in `iters`), or, stopped
        // before it measured its speed, the measurement still to make.
        (None, Some(s)) if a.iters.is_none() && a.epochs.is_none() => {
            config.time_budget = s.time_budget
        }
        // A preset's budget, unless a length is given.
        (None, None) if a.iters.is_none() && a.epochs.is_none() => {
            if let Some(b) = base.time_budget {
                config.set_time_budget(b.seconds)
            }
        }
        _ => {}
    }
    Ok(config)
}

/// A duration on the command line: a positive number and a unit, `s`, `m` or `h` (`90s`, `30m`,
/// `1.5h`), in seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let bad =
        || format!("`{s}` is not a duration: give a positive number and s, m or h (90s, 30m, 2h)");
    let t = s.trim();
    let (num, unit) = t.split_at(t.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && !num.starts_with('+') => Ok(v * scale),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blasrnn::SeqSet;
    use blasrnn::config::Overrides;
    use blasrnn::data::Labelled;
    use clap::{FromArgMatches, Parser};

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        train: TrainArgs,
    }

    /// `blasrnn train` with `flags` (each setting also as the library's [`Overrides`]).
    fn parse(flags: &[&str]) -> TrainArgs {
        let m = <Flags as clap::CommandFactory>::command()
            .try_get_matches_from(std::iter::once("train").chain(flags.iter().copied()))
            .expect("flags parse");
        Flags::from_arg_matches(&m).expect("flags parse").train
    }

    fn overrides(a: &TrainArgs) -> Overrides {
        let size = |v: Option<u32>| v.map(|v| v as usize);
        Overrides {
            cell: a.cell,
            hidden: size(a.hidden),
            layers: size(a.layers),
            bidirectional: a.bidirectional,
            patch: size(a.patch),
            readout: a.readout,
            loss: a.loss,
            epochs: size(a.epochs),
            iters: a.iters.map(|v| v as usize),
            time_budget: a.time_budget,
            batch: size(a.batch),
            seq_len: size(a.seq_len),
            optimizer: a.optimizer,
            lr: a.lr,
            warmup: a.warmup.map(|v| v as usize),
            dropout: a.dropout,
            output_dropout: a.output_dropout,
            validation: a.validation,
            seed: a.seed,
            threads: size(a.threads),
            dtype: a.dtype,
        }
    }

    /// The command line's fresh run and the library's [`TrainConfig::with_overrides`] agree, so
    /// that a program (and the Python package) gets the run `blasrnn train` makes.
    #[test]
    fn flags_and_overrides_make_the_same_run() {
        let (n, t) = (60, 150);
        let x: Vec<f64> = (0..n * t)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 5.0)
            .collect();
        let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let set = SeqSet::from_arrays(&x, [n, t, 1], None, Some(&y)).unwrap();
        let classes = Dataset::Labelled(Labelled::new(set.clone(), set.clone()).unwrap());
        let v: Vec<f64> = (0..n).map(|i| i as f64 / 7.0).collect();
        let values = set.with_values(v, 1, vec!["v".into()]).unwrap();
        let numbers = Dataset::Labelled(Labelled::new(values.clone(), values).unwrap());
        let text = Dataset::from_text(&"to be or not to be ".repeat(200), 0.1).unwrap();
        let runs: [(&Dataset, &[&str]); 9] = [
            (&classes, &[]),
            (&classes, &["--cell", "lstm", "--epochs", "3"]),
            (
                &classes,
                &["--optimizer", "sgd", "--hidden", "16", "--layers", "1"],
            ),
            (
                &classes,
                &["--batch", "8", "--patch", "3", "--readout", "mean"],
            ),
            (
                &classes,
                &["--time-budget", "30s", "--bidirectional", "--dtype", "f64"],
            ),
            (&numbers, &[]),
            (
                &numbers,
                &["--validation", "0.3", "--seed", "7", "--threads", "1"],
            ),
            (
                &text,
                &["--seq-len", "20", "--iters", "50", "--dropout", "0.1"],
            ),
            (&text, &["--cell", "tanh", "--lr", "0.01", "--warmup", "5"]),
        ];
        for (data, flags) in runs {
            let a = parse(flags);
            let cli = resolve(&a, data, None).unwrap();
            let library = TrainConfig::with_overrides(data, &overrides(&a)).unwrap();
            assert_eq!(cli, library, "{flags:?}");
        }
    }
}
