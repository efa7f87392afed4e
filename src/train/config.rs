//! [`TrainConfig`]: everything that decides a training run, the defaults of each kind of data
//! (written once, here: the command line and library callers start from the same), and the
//! checks a configuration must pass against its data before anything is built.

use crate::data::text::{Corpus, Streams};
use crate::data::{Dataset, Kind, SeqSet};
use crate::error::{Error, Result};
use crate::network::{Init, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::Readout;
use crate::optim::{OptimizerKind, Schedule};
use crate::real::Dtype;

/// Everything that decides a training run. Start from [`TrainConfig::for_data`] (or
/// [`TrainConfig::for_kind`]) and change what you need:
///
/// ```
/// use blasrnn::{CellKind, TrainConfig};
/// use blasrnn::data::Kind;
///
/// let mut cfg = TrainConfig::for_kind(Kind::Sequences);
/// assert_eq!((cfg.cell, cfg.hidden, cfg.layers), (CellKind::Gru, 128, 2));
/// cfg.hidden = 64;
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Which recurrent cell.
    pub cell: CellKind,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Readout feeding the classifier (classification only).
    pub readout: Readout,
    /// Training iterations (mini-batches): the learning-rate schedule's length.
    pub iters: usize,
    /// Sequences (classification) or streams (text) per mini-batch.
    pub batch: usize,
    /// Characters per chunk of each stream (text only).
    pub seq_len: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub lr_schedule: Schedule,
    /// Iterations of linear learning-rate warm-up before the schedule.
    pub warmup: usize,
    /// Clip the gradient's global norm to this value.
    pub clip: Option<f64>,
    /// Initialisation scheme.
    pub init: Init,
    /// Start the LSTM forget gate's bias at this value (LSTM only).
    pub forget_bias: Option<f64>,
    /// Dropout between stacked layers (0 = none).
    pub dropout: f64,
    /// Seed of every random choice (initialisation, batch order, dropout).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// The number type the run computes in.
    pub dtype: Dtype,
}

/// Passes over a sequence set (other than MNIST) of the default run.
pub const SEQUENCE_EPOCHS: usize = 100;

/// Worker threads when none are asked for: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The base learning rate of an update rule on a kind of data.
pub fn default_lr(optimizer: OptimizerKind, kind: Kind) -> f64 {
    match optimizer {
        OptimizerKind::Adam if kind == Kind::Images => 0.004,
        OptimizerKind::Adam => 0.002,
        OptimizerKind::Momentum => 0.02,
        OptimizerKind::Sgd => 0.1,
    }
}

/// The number type a cell trains in by default: the seed's tanh classifier on MNIST keeps the
/// original design's f64; everything else uses PyTorch's f32.
pub fn default_dtype(cell: CellKind, kind: Kind) -> Dtype {
    if cell == CellKind::Tanh && kind == Kind::Images {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

impl Default for TrainConfig {
    /// The seed's model on MNIST.
    fn default() -> Self {
        TrainConfig::for_kind(Kind::Images)
    }
}

impl TrainConfig {
    /// The default run on a kind of data: the seed's model on MNIST (tanh, H = 50, seed readout,
    /// 2500 batches of 100, f64); two GRU layers of 128 reading each sequence's last state on
    /// other sequences (batch 32, 100 epochs: see [`TrainConfig::for_data`]); a two-layer LSTM
    /// language model of 256 on text (64 streams × 100 characters, 2000 iterations). Adam with
    /// warm-up and cosine decay, clipping at 1, every core.
    pub fn for_kind(kind: Kind) -> TrainConfig {
        let (text, seqs) = (kind == Kind::Text, kind == Kind::Sequences);
        let cell = match kind {
            Kind::Images => CellKind::Tanh,
            Kind::Sequences => CellKind::Gru,
            Kind::Text => CellKind::Lstm,
        };
        let optimizer = OptimizerKind::Adam;
        TrainConfig {
            cell,
            hidden: match kind {
                Kind::Images => 50,
                Kind::Sequences => 128,
                Kind::Text => 256,
            },
            layers: if kind == Kind::Images { 1 } else { 2 },
            readout: if seqs { Readout::Last } else { Readout::Seq },
            iters: if text { 2000 } else { 2500 },
            batch: match kind {
                Kind::Images => 100,
                Kind::Sequences => 32,
                Kind::Text => 64,
            },
            seq_len: if text { 100 } else { 0 },
            optimizer,
            lr: default_lr(optimizer, kind),
            lr_schedule: Schedule::Cosine,
            warmup: if seqs { 50 } else { 100 },
            clip: Some(1.0),
            init: if kind == Kind::Images {
                Init::Seed
            } else {
                Init::Uniform
            },
            forget_bias: None,
            dropout: 0.0,
            seed: 1,
            threads: default_threads(),
            dtype: default_dtype(cell, kind),
        }
    }

    /// The default run on `data` ([`TrainConfig::for_kind`] of its kind); on sequences other
    /// than MNIST, [`SEQUENCE_EPOCHS`] passes over the training split.
    pub fn for_data(data: &Dataset) -> TrainConfig {
        let mut c = TrainConfig::for_kind(data.kind());
        if data.kind() == Kind::Sequences {
            c.iters = SEQUENCE_EPOCHS * c.iters_per_epoch(data);
        }
        c
    }

    /// Iterations in one pass over `data`'s training part (at least 1).
    pub fn iters_per_epoch(&self, data: &Dataset) -> usize {
        let n = match data {
            Dataset::Labelled(l) => l.train.len().div_ceil(self.batch.max(1)),
            Dataset::Text(c) => Streams::new(&c.train, self.batch.max(1)).chunks(self.seq_len),
        };
        n.max(1)
    }

    /// Sets [`TrainConfig::iters`] to `epochs` passes over `data`'s training part.
    pub fn set_epochs(&mut self, epochs: usize, data: &Dataset) {
        self.iters = epochs * self.iters_per_epoch(data);
    }

    /// The network this configuration trains on `data`: a classifier with room for the longest
    /// sequence of either split, or a language model over the text's vocabulary.
    pub fn network(&self, data: &Dataset) -> NetworkConfig {
        match data {
            Dataset::Labelled(l) => {
                let mut m = self.classifier(&l.train);
                if let Task::Classify { steps, .. } = &mut m.task {
                    *steps = (*steps).max(l.test.steps);
                }
                m
            }
            Dataset::Text(c) => self.language_model(c.vocab.len()),
        }
    }

    /// The classifier this configuration trains on `set`.
    pub fn classifier(&self, set: &SeqSet) -> NetworkConfig {
        NetworkConfig {
            cell: self.cell,
            input: set.dims,
            hidden: self.hidden,
            layers: self.layers,
            task: Task::Classify {
                readout: self.readout,
                steps: set.steps,
                outputs: set.dims,
                classes: set.classes.len(),
            },
        }
    }

    /// The language model this configuration trains over a vocabulary of `vocab` symbols.
    pub fn language_model(&self, vocab: usize) -> NetworkConfig {
        NetworkConfig {
            cell: self.cell,
            input: vocab,
            hidden: self.hidden,
            layers: self.layers,
            task: Task::NextToken,
        }
    }

    /// Checks every setting's range, then the settings against `data`: one error naming the
    /// setting (in backticks) and what is wrong.
    ///
    /// # Errors
    /// [`Error::Config`] for a setting out of range or at odds with the data.
    pub fn check(&self, data: &Dataset) -> Result<()> {
        self.check_ranges()?;
        match data {
            Dataset::Labelled(l) => self.check_sets(&l.train, &l.test),
            Dataset::Text(c) => self.check_text(c),
        }
    }

    /// Every setting within its range, whatever the data.
    fn check_ranges(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        for (name, v) in [
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("iters", self.iters),
            ("batch", self.batch),
            ("threads", self.threads),
        ] {
            if v == 0 {
                return bad(format!("`{name}` must be at least 1"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("`lr` must be a positive number, got {}", self.lr));
        }
        if let Some(c) = self.clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return bad(format!(
                "`clip` must be 0 (off) or a positive number, got {c}"
            ));
        }
        if let Some(v) = self.forget_bias {
            if self.cell != CellKind::Lstm {
                return bad("`forget_bias` applies to `cell` lstm only".into());
            }
            if !v.is_finite() {
                return bad("`forget_bias` must be a finite number".into());
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!(
                "`dropout` must be at least 0 and below 1, got {}",
                self.dropout
            ));
        }
        if self.dropout > 0.0 && self.layers < 2 {
            return bad(
                "`dropout` acts between stacked layers: it needs `layers` 2 or more".into(),
            );
        }
        Ok(())
    }

    /// The batch fits the training split; the seed readout gets sequences of one length.
    fn check_sets(&self, train: &SeqSet, test: &SeqSet) -> Result<()> {
        let n = train.len();
        if self.batch > n {
            return Err(Error::config(format!(
                "`batch` {} is larger than the {n} training sequences",
                self.batch
            )));
        }
        let (lo, hi) = train.length_range();
        let (tlo, thi) = test.length_range();
        if self.readout == Readout::Seq && (lo != hi || tlo != thi || hi != thi) {
            return Err(Error::config(format!(
                "`readout` seq reads every step of sequences of one length; these have {}..{} steps: \
                 use `readout` last or mean",
                lo.min(tlo),
                hi.max(thi)
            )));
        }
        Ok(())
    }

    /// The text holds at least one batch of chunks, and something to validate on.
    fn check_text(&self, c: &Corpus) -> Result<()> {
        let (b, s) = (self.batch, self.seq_len);
        if s == 0 {
            return Err(Error::config("`seq_len` must be at least 1"));
        }
        if Streams::new(&c.train, b).chunks(s) == 0 {
            return Err(Error::config(format!(
                "{}: the training part holds {} characters, too few for `batch` {b} streams of \
                 `seq_len` {s}: it needs at least {} (a file of at least {} characters with \
                 `val_frac` {})",
                c.path.display(),
                c.train.len(),
                b * s + 1,
                ((b * s + 1) as f64 / (1.0 - c.val_frac)).ceil(),
                c.val_frac
            )));
        }
        if c.val.len() < 2 {
            return Err(Error::config(format!(
                "{}: the validation part (`val_frac` {}) holds {} characters; it needs at least 2",
                c.path.display(),
                c.val_frac,
                c.val.len()
            )));
        }
        Ok(())
    }
}
