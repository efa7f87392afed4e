//! [`Model`]: a trained network with its parameters and what it reads (the normalisation and
//! class names of a classifier, the vocabulary of a language model), in the number type it was
//! trained in. What every command and library caller does with a trained model — save, load,
//! evaluate, classify, sample, stream — starts here.

use crate::blas::{Blas, FlushScope};
use crate::checkpoint::{self, Checkpoint, Snapshot};
use crate::config::TrainConfig;
use crate::data::DataInfo;
use crate::data::Dataset;
use crate::data::npz::Expect;
use crate::data::text::Vocab;
use crate::data::{Data, SeqSet, Source, Targets};
use crate::error::{Error, Result};
use crate::network::{Network, NetworkConfig, Task};
use crate::real::{ByDtype, Dtype, Real, by_dtype};
use crate::sample::{SampleOptions, Sampler, TextSampler};
use crate::train::eval::{Evaluation, Worker, eval_streams, evaluate_set, evaluate_text};
use crate::train::run::{Control, Event, RunOptions};
use crate::train::{Training, threads};
use std::path::Path;
use std::sync::Mutex;

mod predict;

use predict::Forward;
pub use predict::Prediction;

/// A network and its parameters, in one number type.
pub(crate) struct Net<T: Real> {
    pub net: Network<T>,
    pub params: Vec<T>,
    /// The last prediction's network (fitted to its sequences' length) and forward buffers,
    /// kept for the next one of the same length: predicting one sequence at a time then asks
    /// for no memory.
    kept: Mutex<Option<Forward<T>>>,
}

impl<T: Real> Net<T> {
    /// A network of shape `config` holding `params` (rounded to `T`).
    fn of(config: NetworkConfig, params: &[f64]) -> Net<T> {
        let net = Network::new(config);
        let mut p = vec![T::ZERO; net.num_params()];
        crate::real::convert(params, &mut p);
        Net {
            net,
            params: p,
            kept: Mutex::new(None),
        }
    }
}

/// A trained model. Load one with [`Model::load`], or get one from [`crate::fit`].
///
/// ```no_run
/// # fn main() -> blasrnn::Result<()> {
/// let model = blasrnn::Model::load(std::path::Path::new("vowels.safetensors"))?;
/// let data = blasrnn::data::load(std::path::Path::new("data/uea/JapaneseVowels"))?;
/// let blasrnn::data::Dataset::Labelled(sets) = &data else { unreachable!() };
/// for p in model.classify(&sets.test)?.iter().take(3) {
///     println!("{} ({:.2})", p.name, p.probabilities[p.class]);
/// }
/// # Ok(()) }
/// ```
pub struct Model {
    net: ByDtype<Net<f32>, Net<f64>>,
    info: DataInfo,
    iteration: usize,
    training: Option<TrainConfig>,
    /// Whether it computes with subnormal numbers kept (see [`crate::blas::flush`]).
    keep_subnormals: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", self.config())
            .field("dtype", &self.dtype())
            .field("iteration", &self.iteration)
            .field("params", &self.num_params())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Reads a model saved by [`Model::save`] or `blasrnn train --save`: the number type and the
    /// task come from the file.
    ///
    /// # Errors
    /// When the file cannot be read or is not a model: the error names the file and every
    /// problem.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        Ok(Model::from_checkpoint(&checkpoint::load(path)?))
    }

    /// The model a checkpoint holds, in the dtype it was saved in.
    pub fn from_checkpoint(ck: &Checkpoint) -> Model {
        let net = match ck.dtype {
            Dtype::F32 => ByDtype::F32(Net::of(ck.config, &ck.params)),
            Dtype::F64 => ByDtype::F64(Net::of(ck.config, &ck.params)),
        };
        Model {
            net,
            info: ck.data.clone(),
            iteration: ck.iteration,
            training: ck.training.clone(),
            keep_subnormals: ck.training.as_ref().is_some_and(|t| t.keep_subnormals),
        }
    }

    /// A model of a trainer's network and parameters (copied).
    pub(crate) fn of<T: Real>(
        net: &Network<T>,
        params: &[T],
        info: DataInfo,
        iteration: usize,
        training: &TrainConfig,
    ) -> Model {
        let wide: Vec<f64> = params.iter().map(|p| p.to_f64()).collect();
        let net = match T::DTYPE {
            Dtype::F32 => ByDtype::F32(Net::of(net.config, &wide)),
            Dtype::F64 => ByDtype::F64(Net::of(net.config, &wide)),
        };
        Model {
            net,
            info,
            iteration,
            training: Some(training.clone()),
            keep_subnormals: training.keep_subnormals,
        }
    }

    /// Whether the model computes with subnormal numbers kept instead of flushed to zero (see
    /// [`crate::blas::flush`]): as its run was trained ([`TrainConfig::keep_subnormals`]), unless
    /// set with [`Model::set_keep_subnormals`].
    pub fn keep_subnormals(&self) -> bool {
        self.keep_subnormals
    }

    /// Keeps subnormal numbers (IEEE gradual underflow) in every prediction, evaluation, sample
    /// and stream made from now on, or flushes them to zero (the default; see
    /// [`crate::blas::flush`]).
    pub fn set_keep_subnormals(&mut self, keep: bool) {
        self.keep_subnormals = keep;
    }

    /// Saves the model (PyTorch's names, safetensors, in its dtype), atomically.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        by_dtype!(&self.net, n => checkpoint::save(path, &self.snapshot(n)))
    }

    /// The bytes of the file [`Model::save`] writes: a model to keep in memory or send
    /// elsewhere, read back by [`Model::from_bytes`].
    ///
    /// # Errors
    /// [`Error::Format`] when a tensor cannot be encoded.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let name = Path::new("(model)");
        by_dtype!(&self.net, n => checkpoint::encode(&self.snapshot(n), name))
    }

    /// A model from the bytes of a model file (as [`Model::to_bytes`] makes them or
    /// [`Model::save`] writes them), checked as [`Model::load`] checks a file; errors name it
    /// `(model)`.
    ///
    /// # Errors
    /// [`Error::Format`] naming every problem of the contents.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Ok(Model::from_checkpoint(&checkpoint::decode(
            bytes, "(model)",
        )?))
    }

    /// What [`Model::save`] writes of the network `n`.
    fn snapshot<'a, T: Real>(&'a self, n: &'a Net<T>) -> Snapshot<'a, T> {
        Snapshot {
            model: &n.net,
            params: &n.params,
            data: &self.info,
            iteration: self.iteration,
            training: self.training.as_ref(),
            optimizer: None,
            state: None,
            resume: None,
        }
    }

    /// The network's shape.
    pub fn config(&self) -> &NetworkConfig {
        by_dtype!(&self.net, n => &n.net.config)
    }

    /// What it predicts.
    pub fn task(&self) -> Task {
        self.config().task
    }

    /// The number type it computes in.
    pub fn dtype(&self) -> Dtype {
        match self.net {
            ByDtype::F32(_) => Dtype::F32,
            ByDtype::F64(_) => Dtype::F64,
        }
    }

    /// What it reads: a classifier's normalisation and class names, or a vocabulary.
    pub fn info(&self) -> &DataInfo {
        &self.info
    }

    /// The test split of the labelled data at `path` (a directory, `.ts` pair or `.npz`
    /// archive), read as this model reads data: its inputs normalised as the training data's
    /// were, its class names or target standardisation this model's.
    ///
    /// # Errors
    /// When the data cannot be read, or its targets are not what this model predicts (a language
    /// model or forecaster reads no labelled sequences).
    pub fn load_test(&self, path: impl AsRef<Path>) -> Result<SeqSet> {
        let names = self.classes().unwrap_or(&[]);
        let expect = match self.task() {
            Task::Tag { .. } => Expect::Steps(names),
            Task::Regress { targets, .. } => Expect::Values(targets),
            _ => Expect::Classes(names),
        };
        Source::find(path)?.load_test(&self.info, expect)
    }

    /// A classifier's (or tagger's) class names, in output order.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.info {
            DataInfo::Classes { names, .. } => Some(names),
            _ => None,
        }
    }

    /// A language model's vocabulary.
    pub fn vocab(&self) -> Option<&Vocab> {
        match &self.info {
            DataInfo::Text(v) => Some(v),
            _ => None,
        }
    }

    /// Training iterations done.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// The settings it was trained with, when recorded.
    pub fn training(&self) -> Option<&TrainConfig> {
        self.training.as_ref()
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        by_dtype!(&self.net, n => n.net.num_params())
    }

    /// The parameters, widened to `f64`, in the flat layout of [`crate::network::Network`].
    pub fn params(&self) -> Vec<f64> {
        by_dtype!(&self.net, n => n.params.iter().map(|p| p.to_f64()).collect())
    }

    /// Loss and accuracy (and a classifier's confusion matrix) on `data` — a labelled set, its
    /// values normalised as the model's training data were, or a text's tokens — with `threads`
    /// worker threads, in the model's dtype.
    ///
    /// # Errors
    /// When the data do not fit the model ([`Error::Task`], [`Error::Shape`]), or the threads
    /// cannot start.
    pub fn evaluate(&self, data: Data, threads: usize) -> Result<Evaluation> {
        let seq_len = self.training.as_ref().map_or(100, |t| t.seq_len.max(1));
        // A regression's targets standardised as the model's were.
        let restandardised;
        let data = match (data, self.info.target_norm()) {
            (Data::Labelled(set), Some(want)) => match &set.targets {
                Targets::Values { norm, .. } if norm != want => {
                    let mut s = set.clone();
                    s.standardise_targets(want);
                    restandardised = s;
                    Data::Labelled(&restandardised)
                }
                _ => data,
            },
            _ => data,
        };
        let _flush = FlushScope::new(!self.keep_subnormals);
        by_dtype!(&self.net, n => evaluate(n, &self.info, data, threads.max(1), seq_len))
    }

    /// A generator of text, primed with [`TextSampler::start`].
    ///
    /// # Errors
    /// [`Error::Task`] for a classifier, [`Error::Config`] for options out of range.
    pub fn sampler(&self, options: &SampleOptions) -> Result<TextSampler<'_>> {
        let vocab = self.text_vocab()?;
        let options = SampleOptions {
            keep_subnormals: options.keep_subnormals || self.keep_subnormals,
            ..*options
        };
        let inner = match &self.net {
            ByDtype::F32(n) => ByDtype::F32(Sampler::new(&n.net, &n.params, options, 100)?),
            ByDtype::F64(n) => ByDtype::F64(Sampler::new(&n.net, &n.params, options, 100)?),
        };
        Ok(TextSampler::new(inner, vocab))
    }

    /// `length` characters drawn after `prime` (a newline when empty); the prime is not repeated
    /// in the result.
    ///
    /// # Errors
    /// As [`Model::sampler`] and [`TextSampler::start`].
    pub fn sample(&self, prime: &str, length: usize, options: &SampleOptions) -> Result<String> {
        let mut s = self.sampler(options)?;
        s.start(prime)?;
        Ok((0..length).map(|_| s.next_char()).collect())
    }

    /// The network and parameters in either dtype, for [`crate::Stream`].
    pub(crate) fn net(&self) -> &ByDtype<Net<f32>, Net<f64>> {
        &self.net
    }

    /// The vocabulary of a language model, or the error for a classifier.
    fn text_vocab(&self) -> Result<&Vocab> {
        self.vocab().ok_or_else(|| {
            Error::task(format!(
                "a model that predicts {}, which does not generate text: sampling needs a \
                 language model",
                self.task().answers()
            ))
        })
    }
}

/// [`Model::evaluate`], computing in `T`.
fn evaluate<T: Real>(
    n: &Net<T>,
    info: &DataInfo,
    data: Data,
    threads: usize,
    seq_len: usize,
) -> Result<Evaluation> {
    let net = Network::<T>::new(n.net.config.fitted(data)?);
    // Batches of 100 sequences, or the evaluation's streams, cut into shards as training does.
    let batch = match data {
        Data::Labelled(_) => 100usize.max(threads),
        Data::Text(tokens) => eval_streams(tokens.len(), seq_len),
    };
    let (groups, team) = crate::config::layout(threads, batch, &net);
    let crew = threads::Crew::new(groups, team)?;
    crate::blas::set_threads(1);
    let mut workers: Vec<Worker<T>> = match data {
        // Batches of 100 sequences (at least one per worker).
        Data::Labelled(set) => (0..groups)
            .map(|_| Worker::new(&net, batch.div_ceil(groups), set.steps, false))
            .collect(),
        Data::Text(_) => (0..groups)
            .map(|_| Worker::new(&net, batch.div_ceil(groups), seq_len, false))
            .collect(),
    };
    let run = || match data {
        Data::Labelled(set) => {
            let norm = info.norm().unwrap_or(&set.norm);
            evaluate_set(&net, &n.params, &crew, &mut workers, set, norm)
        }
        Data::Text(tokens) => evaluate_text(&net, &n.params, &crew, &mut workers, tokens),
    };
    Ok(crew.keep_awake(run))
}

impl Training<'_> {
    /// The model as trained so far: with a validation part, the parameters of its lowest loss
    /// (early stopping), else the last ones.
    pub fn model(&self) -> Model {
        let info = self.info.clone();
        by_dtype!(&self.trainer, tr => {
            let params = tr.best().map_or(&tr.params[..], |(_, p)| p);
            Model::of(&tr.net, params, info, self.done, &tr.config)
        })
    }
}

/// Trains `config` on `data` to the end of its schedule, telling `on` of every step and of a
/// report every 100 iterations (see [`Training::run`]), and returns the model.
///
/// ```
/// # fn main() -> blasrnn::Result<()> {
/// // Sequences whose class is the sign of their sum, 40 to train and 20 to test.
/// let (n, t) = (60, 6);
/// let x: Vec<f64> = (0..n * t).map(|i| ((i * 37 % 11) as f64 - 5.0) / 5.0).collect();
/// let y: Vec<usize> = x.chunks(t).map(|s| usize::from(s.iter().sum::<f64>() > 0.0)).collect();
/// let train = blasrnn::SeqSet::from_arrays(&x[..40 * t], [40, t, 1], None, Some(&y[..40]))?;
/// let test = blasrnn::SeqSet::from_arrays(&x[40 * t..], [20, t, 1], None, Some(&y[40..]))?;
/// let data = blasrnn::Dataset::Labelled(blasrnn::data::Labelled::new(train, test)?);
///
/// let mut cfg = blasrnn::TrainConfig::for_data(&data);
/// (cfg.hidden, cfg.layers, cfg.batch, cfg.threads) = (16, 1, 8, 1);
/// cfg.set_epochs(30, &data);
/// let model = blasrnn::fit(&cfg, &data, |_| blasrnn::Control::Continue)?;
/// let blasrnn::Dataset::Labelled(sets) = &data else { unreachable!() };
/// let accuracy = model.evaluate(blasrnn::data::Data::Labelled(&sets.test), 1)?.accuracy;
/// assert!(accuracy > 0.6, "{accuracy}");
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`Training::new`]; [`Error::Diverged`] when a loss or gradient norm is not finite.
pub fn fit(
    config: &TrainConfig,
    data: &Dataset,
    on: impl FnMut(&Event) -> Control + Send,
) -> Result<Model> {
    let mut t = Training::new(config, data)?;
    t.run(&RunOptions::default(), on)?.ending.diverged()?;
    Ok(t.model())
}
