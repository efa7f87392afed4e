//! [`Training`]: a run of a [`TrainConfig`] over a [`Dataset`], in the configuration's number
//! type — started fresh or resumed from a checkpoint, run (and run on) with a callback, evaluated,
//! saved with everything resuming needs, and turned into a [`Model`](crate::Model)
//! ([`Training::model`]). [`fit`](crate::fit) is all of it in one call.

use super::TrainConfig;
use super::eval::Evaluation;
use super::run::{Control, Event, Outcome, RunOptions, run};
use super::trainer::Trainer;
use super::validation;
use crate::checkpoint::Best;
use crate::checkpoint::{self, Checkpoint, Snapshot};
use crate::data::DataInfo;
use crate::data::{Data, Dataset, SeqSet};
use crate::error::{Error, Result};
use crate::network::NetworkConfig;
use crate::real::{ByDtype, Dtype, Real, by_dtype};
use std::path::Path;

/// A training run over `data`, in the configuration's number type.
///
/// ```
/// # fn main() -> blasrnn::Result<()> {
/// use blasrnn::{Control, Event, RunOptions, Training};
/// # let x: Vec<f32> = (0..40 * 5).map(|i| ((i * 7919) % 23) as f32 / 23.0).collect();
/// # let y: Vec<usize> = (0..40).map(|i| i % 2).collect();
/// # let train = blasrnn::SeqSet::from_arrays(&x, [40, 5, 1], None, Some(&y))?;
/// # let test = train.clone();
/// let data = blasrnn::Dataset::Labelled(blasrnn::data::Labelled::new(train, test)?);
/// let mut cfg = blasrnn::TrainConfig::for_data(&data);
/// (cfg.hidden, cfg.iters, cfg.batch, cfg.threads) = (8, 30, 10, 1);
/// let mut run = Training::new(&cfg, &data)?;
/// let options = RunOptions { log_every: 10, ..RunOptions::default() };
/// let outcome = run.run(&options, |event| match event {
///     Event::Report(r) if r.loss < 0.01 => Control::Stop,
///     _ => Control::Continue,
/// })?;
/// assert_eq!(outcome.reports.len(), 3);
/// let accuracy = run.evaluate().accuracy;
/// # let _ = accuracy;
/// # Ok(()) }
/// ```
pub struct Training<'d> {
    pub(crate) trainer: ByDtype<Trainer<f32>, Trainer<f64>>,
    data: &'d Dataset,
    /// With a validation part: the sequences that train, and the validation part, carved from
    /// the data's training part (see [`super::validation`]).
    carved: Option<(SeqSet, SeqSet)>,
    pub(crate) info: DataInfo,
    /// Iterations done.
    pub(crate) done: usize,
}

impl<'d> Training<'d> {
    /// A fresh run of `config` on `data`: the configuration checked against the data, the
    /// parameters drawn from its seed, the worker threads started.
    ///
    /// # Errors
    /// [`Error::Config`] for a setting out of range or at odds with the data;
    /// [`Error::Threads`] when the worker threads cannot start.
    pub fn new(config: &TrainConfig, data: &'d Dataset) -> Result<Training<'d>> {
        config.check(data)?;
        let carved = match data.sets() {
            Some(sets) if config.validation > 0.0 => {
                let latest = matches!(data, Dataset::Series(_));
                let idx = validation::carve(&sets.train, config.validation, config.seed, latest);
                Some(validation::split(&sets.train, &idx))
            }
            _ => None,
        };
        let net = config.network(data);
        let trainer = match config.dtype {
            Dtype::F32 => ByDtype::F32(Trainer::new(config.clone(), net)?),
            Dtype::F64 => ByDtype::F64(Trainer::new(config.clone(), net)?),
        };
        Ok(Training {
            trainer,
            data,
            carved,
            info: DataInfo::of(data),
            done: 0,
        })
    }

    /// The run a checkpoint (saved by [`Training::save`]) left off, continued with `config`
    /// (whose model must be the saved one) on `data` (read as the saved run read it): its
    /// parameters, the optimizer's state when it was saved by the same kind of optimizer, the
    /// text streams' state, its iteration. With the saved settings and thread count it ends with
    /// the very weights of the uninterrupted run.
    ///
    /// # Errors
    /// As [`Training::new`]; [`Error::Format`] naming the file when it holds another model,
    /// data of other classes or normalisation, or a state of other sizes; [`Error::Config`] when
    /// it has done `iters` iterations already.
    pub fn resume(
        config: &TrainConfig,
        data: &'d Dataset,
        ck: &Checkpoint,
    ) -> Result<Training<'d>> {
        let mut t = Training::new(config, data)?;
        let bad = |problem: String| Error::format(&ck.path, problem);
        if ck.config != t.network_config() {
            return Err(bad(format!(
                "the saved model is {:?}, this run builds {:?}",
                ck.config,
                t.network_config()
            )));
        }
        if ck.data != t.info {
            return Err(bad(
                "the saved model read other data (other classes, normalisation or vocabulary)"
                    .into(),
            ));
        }
        if ck.iteration >= config.iters {
            return Err(Error::config(format!(
                "{}: the saved run has done {} iterations already; a larger `iters` continues it",
                ck.path.display(),
                ck.iteration
            )));
        }
        by_dtype!(&mut t.trainer, tr => restore(tr, ck))?;
        t.done = ck.iteration;
        Ok(t)
    }

    /// Trains from where the run is to the end of its schedule (or `options.stop_at`), telling
    /// `on` of every step, report and checkpoint; `on` answers [`Control::Stop`] to end the run
    /// after the step in progress. A later call continues where this one stopped.
    ///
    /// # Errors
    /// When a checkpoint cannot be written. A diverging run is not an error here: see
    /// [`Outcome::ending`].
    pub fn run(
        &mut self,
        options: &RunOptions,
        mut on: impl FnMut(&Event) -> Control + Send,
    ) -> Result<Outcome> {
        let (info, data, first) = (&self.info, self.data, self.done);
        let (train, validation) = match &self.carved {
            Some((train, validation)) => (Data::Labelled(train), Some(Data::Labelled(validation))),
            None => (data.train(), None),
        };
        let outcome = by_dtype!(&mut self.trainer, tr => {
            let save = |tr: &mut _, it, path: &Path| save(tr, info, it, path);
            run(tr, (train, data.eval(), validation), first, options, &save, &mut on)?
        });
        self.done = outcome.done;
        Ok(outcome)
    }

    /// Iterations done.
    pub fn iteration(&self) -> usize {
        self.done
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        by_dtype!(&self.trainer, tr => &tr.config)
    }

    /// The network it trains.
    pub fn network_config(&self) -> NetworkConfig {
        by_dtype!(&self.trainer, tr => tr.net.config)
    }

    /// Trains as one of `ranks` (see [`Trainer::set_ranks`]): every rank runs its shards of
    /// each batch and holds the same weights after every step; checkpoints are written by
    /// rank 0 alone. Every rank must call it with the same settings and data, and at the same
    /// iteration, before running.
    ///
    /// # Errors
    /// [`Error::Config`] when a rank's settings, data or iteration differ from rank 0's (each
    /// rank's digest of them is compared).
    pub fn set_ranks(&mut self, ranks: std::sync::Arc<dyn crate::ranks::Ranks>) -> Result<()> {
        let digest = self.digest();
        let p = ranks.size();
        let all = crate::ranks::gather_one(&*ranks, f64::from_bits(digest));
        if let Some(r) = all.iter().position(|d| d.to_bits() != all[0].to_bits()) {
            return Err(Error::config(format!(
                "rank {r} of {p} was started with settings, data or a resumed iteration that \
                 differ from rank 0's: every rank must run the same command on the same files"
            )));
        }
        by_dtype!(&mut self.trainer, tr => tr.set_ranks(ranks));
        Ok(())
    }

    /// A digest of what every rank of a run must share: the settings, the data's description
    /// and size, and the iteration.
    fn digest(&self) -> u64 {
        let config = serde_json::to_string(self.config()).unwrap_or_default();
        let size = match self.data.train() {
            Data::Labelled(set) => set.len(),
            Data::Text(tokens) => tokens.len(),
        };
        let text = format!("{config}|{:?}|{size}|{}", self.info, self.done);
        // FNV-1a: the same on every machine and run.
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        by_dtype!(&self.trainer, tr => tr.net.num_params())
    }

    /// Loss and accuracy (and the confusion matrix) of the model as trained so far (see
    /// [`Training::model`]) on the held-out data: the test split, or the validation text.
    pub fn evaluate(&mut self) -> Evaluation {
        let eval = self.data.eval();
        by_dtype!(&mut self.trainer, tr => tr.in_pool(|tr| tr.evaluate_kept(eval)))
    }

    /// With a validation part ([`TrainConfig::validation`]): the iteration whose parameters the
    /// model keeps, and their loss on it (none before the first evaluation of the part).
    pub fn best(&self) -> Option<Best> {
        by_dtype!(&self.trainer, tr => tr.best().map(|(b, _)| b))
    }

    /// The sequences that train and the validation part, when the run has one.
    pub fn validation_part(&self) -> Option<(&SeqSet, &SeqSet)> {
        self.carved.as_ref().map(|(t, v)| (t, v))
    }

    /// Saves the run (the model, the optimizer's state, the text streams' state, the iteration;
    /// with a validation part, the kept parameters as the model's and the last ones to continue
    /// from), atomically: [`Training::resume`] continues it exactly.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        by_dtype!(&mut self.trainer, tr => save(tr, &self.info, self.done, path))
    }
}

/// Writes `tr`'s run after `iteration` iterations to `path`.
/// Across ranks every rank calls it (the state is gathered) and rank 0 alone writes.
fn save<T: Real>(
    tr: &mut Trainer<T>,
    info: &DataInfo,
    iteration: usize,
    path: &Path,
) -> Result<()> {
    let writes = tr.gather_state();
    let text = matches!(info, DataInfo::Text(_));
    let state = text.then(|| tr.stream_state());
    if !writes {
        return Ok(());
    }
    let (params, resume) = match tr.best() {
        Some((best, kept)) => (kept, Some((&tr.params[..], best))),
        None => (&tr.params[..], None),
    };
    checkpoint::save(
        path,
        &Snapshot {
            model: &tr.net,
            params,
            data: info,
            iteration,
            training: Some(&tr.config),
            optimizer: Some(tr.optimizer()),
            state: state.as_deref(),
            resume,
        },
    )
}

/// Puts a checkpoint's parameters, optimizer state and streams' state into `tr`.
fn restore<T: Real>(tr: &mut Trainer<T>, ck: &Checkpoint) -> Result<()> {
    match &ck.resume {
        // A run continued without its validation part continues from its last parameters.
        Some((current, best)) => {
            crate::real::convert(current, &mut tr.params);
            if tr.config.validation > 0.0 {
                tr.set_best(*best, &ck.params);
            }
        }
        None => crate::real::convert(&ck.params, &mut tr.params),
    }
    if let Some((kind, steps)) = &ck.optimizer
        && kind == tr.config.optimizer.name()
    {
        tr.optimizer_mut()
            .restore(*steps, |name| {
                ck.optimizer_state.get(name).map(Vec::as_slice)
            })
            .map_err(|name| {
                Error::format(
                    &ck.path,
                    format!("optimizer state `{name}` is missing or of the wrong size"),
                )
            })?;
    }
    if let Some(state) = &ck.state {
        tr.set_stream_state(state).map_err(|_| {
            Error::format(
                &ck.path,
                format!(
                    "the saved streams' state is for another `batch` than {}",
                    tr.config.batch
                ),
            )
        })?;
    }
    Ok(())
}
