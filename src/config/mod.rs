//! [`TrainConfig`]: everything that decides a training run, the defaults of each kind of data
//! (written once, here: the command line and library callers start from the same), and the
//! checks a configuration must pass against its data before anything is built.

mod check;
mod overrides;
mod rules;

pub use overrides::Overrides;

pub use rules::{
    MIN_SHARD_ROWS, MIN_TEAM_UNITS, PATCHED_STEPS, SEQUENCE_EPOCHS, SERIES_BATCH, SERIES_EPOCHS,
    SERIES_UPDATES, UNFIXED, VALIDATION, VALIDATIONS, default_cell, default_dtype, default_init,
    default_lr, default_threads, layout, patch_rule, validation_len,
};

use crate::data::text::Streams;
use crate::data::{Dataset, Kind, SeqSet, Targets};
use crate::network::{Init, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::{Loss, Readout};
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
    /// Whether every layer reads each sequence both ways (not for language models).
    #[serde(default)]
    pub bidirectional: bool,
    /// Consecutive steps read as one input vector (see [`NetworkConfig::patch`]; not for a class
    /// at every step or text). [`TrainConfig::for_data`] chooses it with [`patch_rule`].
    #[serde(default = "one")]
    pub patch: usize,
    /// What the head reads: `seq`, `last` or `mean` for one answer per sequence; `step` for a
    /// class at every step.
    pub readout: Readout,
    /// The loss of a regression (or forecast), on standardised targets.
    #[serde(default)]
    pub loss: Loss,
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
    /// Dropout on the top layer's outputs before the head (0 = none), as an `nn.Dropout`
    /// between a PyTorch RNN and its decoder.
    #[serde(default)]
    pub output_dropout: f64,
    /// Seed of every random choice (initialisation, batch order, dropout, the validation part).
    pub seed: u64,
    /// Fraction of the training sequences (a series: its latest windows) held out as a
    /// validation part: the run evaluates it [`VALIDATIONS`] times and keeps the parameters of
    /// its lowest loss (early stopping; see [`crate::train::validation`]). 0: none, the last parameters
    /// are kept. Not for text, which validates on its last characters.
    #[serde(default)]
    pub validation: f64,
    /// Worker threads.
    pub threads: usize,
    /// Threads each shard's steps are split across (a divisor of `threads`; the others cut the
    /// batch into shards of rows); `None`: chosen by [`layout`].
    #[serde(default)]
    pub step_threads: Option<usize>,
    /// The number type the run computes in.
    pub dtype: Dtype,
    /// Train for a time instead of a number of iterations (see [`TimeBudget`]).
    #[serde(default)]
    pub time_budget: Option<TimeBudget>,
    /// Keep subnormal numbers (IEEE gradual underflow) instead of flushing them to zero on every
    /// thread of the run (the default; see [`crate::blas::flush`]). Where a run's gradients
    /// vanish into the subnormal range, keeping them costs up to 5× on Intel cores (the f32
    /// LSTM of `blasrnn bench` on a Xeon with AVX-512) and little on AMD ones.
    #[serde(default)]
    pub keep_subnormals: bool,
}

/// A run that trains for a wall-clock time instead of a number of iterations. It measures its
/// own speed over its first iterations — those whose learning rate does not depend on the
/// schedule's length: the warm-up (or, without one, the first iteration; any with a constant
/// rate) — then fixes the schedule's length (`iters`) so that the run, its evaluations included,
/// ends with the budget and its learning-rate schedule with it. The length is recorded: a
/// resumed run continues the same schedule, whatever the machine's speed then.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeBudget {
    /// Seconds the run may take.
    pub seconds: f64,
    /// Whether `iters` holds the length the run fixed (until then, `iters` is [`UNFIXED`]).
    pub fixed: bool,
}

fn one() -> usize {
    1
}

impl Default for TrainConfig {
    /// The seed's model on MNIST.
    fn default() -> Self {
        TrainConfig::for_kind(Kind::Images)
    }
}

impl TrainConfig {
    /// The default run on a kind of data: the seed's model on MNIST (tanh, H = 50, seed readout,
    /// 2500 batches of 100, f64, orthogonal recurrent weights, Adam 0.006); two GRU layers of
    /// 128 reading each sequence's last state on other sequences (batch 32, 100 epochs: see
    /// [`TrainConfig::for_data`]; Adam 0.004); one LSTM layer of 64 reading a window's last
    /// state to forecast a series (batch 32, Adam 0.004, 50 warm-up iterations, one pass over
    /// the windows: [`SERIES_EPOCHS`]); a two-layer LSTM language model of 256 on text (64
    /// streams × 100 characters, 2000 iterations, Adam 0.002). Adam with warm-up (100
    /// iterations unless said) and cosine decay, clipping at 1, every core.
    pub fn for_kind(kind: Kind) -> TrainConfig {
        TrainConfig::for_cell(kind, default_cell(kind))
    }

    /// The default run on a kind of data with another cell: [`TrainConfig::for_kind`] with the
    /// initialisation and number type that cell has by default there ([`default_init`],
    /// [`default_dtype`]: on MNIST, an LSTM or a GRU starts from the seed's initialisation in
    /// f32, where the tanh cell starts orthogonal in f64), as `train --cell` picks them.
    pub fn for_cell(kind: Kind, cell: CellKind) -> TrainConfig {
        let text = kind == Kind::Text;
        let optimizer = OptimizerKind::Adam;
        TrainConfig {
            cell,
            hidden: match kind {
                Kind::Images => 50,
                Kind::Sequences => 128,
                Kind::Series => 64,
                Kind::Text => 256,
            },
            layers: match kind {
                Kind::Images | Kind::Series => 1,
                Kind::Sequences | Kind::Text => 2,
            },
            bidirectional: false,
            patch: 1,
            readout: match kind {
                Kind::Sequences | Kind::Series => Readout::Last,
                Kind::Images | Kind::Text => Readout::Seq,
            },
            loss: Loss::Mse,
            iters: if text { 2000 } else { 2500 },
            batch: match kind {
                Kind::Images => 100,
                Kind::Sequences | Kind::Series => 32,
                Kind::Text => 64,
            },
            seq_len: if text { 100 } else { 0 },
            optimizer,
            lr: default_lr(optimizer, kind),
            lr_schedule: Schedule::Cosine,
            warmup: match kind {
                Kind::Series => 50,
                Kind::Images | Kind::Sequences | Kind::Text => 100,
            },
            clip: Some(1.0),
            init: default_init(cell, kind),
            forget_bias: None,
            dropout: 0.0,
            output_dropout: 0.0,
            seed: 1,
            validation: 0.0,
            threads: default_threads(),
            step_threads: None,
            dtype: default_dtype(cell, kind),
            time_budget: None,
            keep_subnormals: false,
        }
    }

    /// The default run on `data` ([`TrainConfig::for_kind`] of its kind), with the rules that
    /// depend on the data (`docs/suite.md` measures each):
    /// - sequences other than MNIST: [`SEQUENCE_EPOCHS`] passes over the training split; long
    ///   sequences read in patches ([`patch_rule`]; not when every step has its class);
    /// - real numbers to predict (a regression, a series): a [`VALIDATION`] part whose best
    ///   parameters are kept;
    /// - a series: batches of a quarter of its training windows (at most [`SERIES_BATCH`]) for
    ///   [`TrainConfig::iters_for`]'s updates;
    /// - a batch no larger than the sequences that train.
    pub fn for_data(data: &Dataset) -> TrainConfig {
        let mut c = TrainConfig::for_kind(data.kind());
        let Some(sets) = data.sets() else {
            return c;
        };
        let (steps, regression) = (
            matches!(sets.train.targets, Targets::Steps(_)),
            matches!(sets.train.targets, Targets::Values { .. }),
        );
        if steps {
            c.readout = Readout::Step;
        }
        if data.kind() == Kind::Sequences && !steps {
            c.patch = patch_rule(sets.train.steps.max(sets.test.steps));
        }
        if data.kind() == Kind::Series || (data.kind() == Kind::Sequences && regression) {
            c.validation = VALIDATION;
        }
        c.batch = c.batch_for(data);
        c.iters = c.iters_for(data);
        c
    }

    /// The batch of the default run on `data` with this validation part: a quarter of a
    /// series' training windows (at most [`SERIES_BATCH`]); else the kind's default, at most
    /// the sequences that train.
    pub fn batch_for(&self, data: &Dataset) -> usize {
        let batch = TrainConfig::for_kind(data.kind()).batch;
        let Some(sets) = data.sets() else {
            return batch;
        };
        let trained = self.trained(&sets.train).max(1);
        match data.kind() {
            Kind::Series => (trained / 4).clamp(1, SERIES_BATCH),
            _ => batch.min(trained),
        }
    }

    /// How this run's threads share a batch of `net`: `(groups, team)`, `groups` shards of rows
    /// each split across `team` threads (`step_threads`, or [`layout`]'s rule).
    pub fn layout<T: crate::real::Real>(&self, net: &crate::network::Network<T>) -> (usize, usize) {
        let threads = self.threads.max(1);
        match self.step_threads {
            Some(team) if team >= 1 && threads % team == 0 => (threads / team, team),
            _ => layout(threads, self.batch, net),
        }
    }

    /// The length of the default run on `data` with this batch: [`SEQUENCE_EPOCHS`] passes over
    /// labelled sequences; over a series' windows [`SERIES_EPOCHS`] passes and at least
    /// [`SERIES_UPDATES`] updates; the kind's default (`iters`) on MNIST and text.
    pub fn iters_for(&self, data: &Dataset) -> usize {
        match data.kind() {
            Kind::Sequences => SEQUENCE_EPOCHS * self.iters_per_epoch(data),
            Kind::Series => (SERIES_EPOCHS * self.iters_per_epoch(data)).max(SERIES_UPDATES),
            Kind::Images | Kind::Text => TrainConfig::for_kind(data.kind()).iters,
        }
    }

    /// Iterations in one pass over `data`'s training part (at least 1).
    pub fn iters_per_epoch(&self, data: &Dataset) -> usize {
        let n = match data {
            Dataset::Labelled(_) | Dataset::Series(_) => {
                let sets = data.sets().expect("labelled sequences");
                self.trained(&sets.train).div_ceil(self.batch.max(1))
            }
            Dataset::Text(c) => Streams::new(&c.train, self.batch.max(1)).chunks(self.seq_len),
        };
        n.max(1)
    }

    /// How many of `train`'s sequences train: those the validation part leaves.
    pub fn trained(&self, train: &SeqSet) -> usize {
        train.len() - validation_len(train.len(), self.validation)
    }

    /// Whether training drops out anything (between layers or before the head).
    pub fn drops(&self) -> bool {
        self.dropout > 0.0 || self.output_dropout > 0.0
    }

    /// Sets [`TrainConfig::iters`] to `epochs` passes over `data`'s training part.
    pub fn set_epochs(&mut self, epochs: usize, data: &Dataset) {
        self.iters = epochs * self.iters_per_epoch(data);
        self.time_budget = None;
    }

    /// Trains for `seconds` of wall-clock time instead of a number of iterations (see
    /// [`TimeBudget`]).
    pub fn set_time_budget(&mut self, seconds: f64) {
        self.time_budget = Some(TimeBudget {
            seconds,
            fixed: false,
        });
        self.iters = UNFIXED;
    }

    /// The network this configuration trains on `data`: for labelled sequences, the one their
    /// targets ask for with room for the longest sequence of either split; or a language model
    /// over the text's vocabulary.
    pub fn network(&self, data: &Dataset) -> NetworkConfig {
        match data.sets() {
            Some(l) => {
                let mut m = self.classifier(&l.train);
                let longest = m.patches(l.train.steps.max(l.test.steps));
                if let Some(steps) = m.task.steps() {
                    m = NetworkConfig {
                        task: m.task.with_steps(steps.max(longest)),
                        ..m
                    };
                }
                m
            }
            None => {
                let Dataset::Text(c) = data else {
                    unreachable!("only text has no labelled sequences")
                };
                self.language_model(c.vocab.len())
            }
        }
    }

    /// The network this configuration trains on the labelled set `set`, as its targets ask: a
    /// classifier (one class per sequence), a regressor (real numbers), or a tagger (a class per
    /// step).
    pub fn classifier(&self, set: &SeqSet) -> NetworkConfig {
        let steps = set.steps.div_ceil(self.patch.max(1));
        let task = match &set.targets {
            Targets::Values { k, .. } => Task::Regress {
                readout: self.readout,
                steps,
                outputs: set.dims,
                targets: *k,
                loss: self.loss,
            },
            Targets::Steps(_) => Task::Tag {
                steps,
                classes: set.classes.len(),
            },
            Targets::Classes | Targets::None => Task::Classify {
                readout: self.readout,
                steps,
                outputs: set.dims,
                classes: set.classes.len(),
            },
        };
        NetworkConfig {
            cell: self.cell,
            input: set.dims,
            hidden: self.hidden,
            layers: self.layers,
            bidirectional: self.bidirectional,
            task,
            patch: self.patch,
        }
    }

    /// The language model this configuration trains over a vocabulary of `vocab` symbols.
    pub fn language_model(&self, vocab: usize) -> NetworkConfig {
        NetworkConfig {
            cell: self.cell,
            input: vocab,
            hidden: self.hidden,
            layers: self.layers,
            bidirectional: false,
            task: Task::NextToken,
            patch: 1,
        }
    }
}
