//! [`TrainConfig`]: everything that decides a training run, the defaults of each kind of data
//! (written once, here: the command line and library callers start from the same), and the
//! checks a configuration must pass against its data before anything is built.

use crate::data::text::{Corpus, Streams};
use crate::data::{Dataset, Kind, SeqSet, Targets};
use crate::error::{Error, Result};
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

/// The schedule length of a run with a [`TimeBudget`] until it has measured its speed.
pub const UNFIXED: usize = 1 << 40;

/// Passes over a sequence set (other than MNIST) of the default run.
pub const SEQUENCE_EPOCHS: usize = 100;

/// Passes over a series' training windows of the default forecasting run: one. Windows ending at
/// every step overlap (each step of the series is in `window` of them), so one pass reads the
/// series many times over; more passes overfit (on the Taylor demand series, 48 steps ahead: 1
/// pass RMSE 453, 2 passes 518, 10 passes 596, 40 passes 581, the medians of 5 seeds).
pub const SERIES_EPOCHS: usize = 1;

/// The fewest updates of the default forecasting run: a short series' one pass is a handful of
/// batches, too few to move the model from its initial weights (`docs/suite.md`).
pub const SERIES_UPDATES: usize = 100;

/// Training windows per batch of the default forecasting run, at most: 32, and a quarter of the
/// windows of a short series, so that a pass is at least four updates.
pub const SERIES_BATCH: usize = 32;

/// Recurrent steps a long sequence is read in by default: [`patch_rule`] reads a sequence
/// longer than four times this in patches that make it about this many steps.
pub const PATCHED_STEPS: usize = 32;

/// The patch of the default run on sequences whose longest has `steps` steps: 1 up to
/// 4·[`PATCHED_STEPS`] steps, else ⌈steps / [`PATCHED_STEPS`]⌉ — ArrowHead's 251 steps are read
/// as 32 patches of 8, ACSF1's 1460 as 32 of 46. On the suite's long univariate sets, medians of
/// 3 seeds: ArrowHead 0.331 (chance) → 0.663, ACSF1 0.670 → 0.730 in 2 s a run instead of 186 s,
/// PickupGestureWiimoteZ 0.440 → 0.700; about 16 or 64 steps did worse (`docs/suite.md`).
pub fn patch_rule(steps: usize) -> usize {
    if steps > 4 * PATCHED_STEPS {
        steps.div_ceil(PATCHED_STEPS)
    } else {
        1
    }
}

fn one() -> usize {
    1
}

/// The validation part of the default run on real numbers (a regression, or a series'
/// latest windows): a fifth of the training part, whose lowest loss picks the parameters kept.
/// Medians of 3 seeds (`docs/suite.md`): CardanoSentiment RMSE 0.385 → 0.298 (the training
/// mean's 0.300); ShampooSales MASE 1.79 → 1.41, solar 1.13 → 0.90, Taylor 0.69 → 0.62, Lynx
/// 0.51 → 0.47, Airline 0.49 → 0.85. Not on classes: on the suite's small sets the sequences
/// it holds out cost more than the stopping gains (ArrowHead 0.66 → 0.42).
pub const VALIDATION: f64 = 0.2;

/// Evaluations of the validation part in a run (see [`TrainConfig::validation`]): every
/// `iters / VALIDATIONS` iterations, and at the end.
pub const VALIDATIONS: usize = 50;

/// The machine's physical memory in bytes, where the system says (Linux's `/proc/meminfo`).
fn physical_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kb: u128 = kb.trim().trim_end_matches("kB").trim().parse().ok()?;
    kb.checked_mul(1024)
}

/// Worker threads when none are asked for: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The base learning rate of an update rule on a kind of data (Adam's measured on each:
/// `docs/recipes.md`).
pub fn default_lr(optimizer: OptimizerKind, kind: Kind) -> f64 {
    match optimizer {
        OptimizerKind::Adam => match kind {
            Kind::Images => 0.006,
            Kind::Sequences | Kind::Series => 0.004,
            Kind::Text => 0.002,
        },
        OptimizerKind::Momentum => 0.02,
        OptimizerKind::Sgd => 0.1,
    }
}

/// The cell of the default run on a kind of data: the seed's tanh cell on MNIST, a GRU on other
/// labelled sequences, an LSTM for series and text.
pub fn default_cell(kind: Kind) -> CellKind {
    match kind {
        Kind::Images => CellKind::Tanh,
        Kind::Sequences => CellKind::Gru,
        Kind::Series | Kind::Text => CellKind::Lstm,
    }
}

/// How a cell's parameters start by default: on MNIST, the tanh cell's recurrent weights
/// orthogonal (with the learning rate of [`default_lr`], 98.42% against the seed's
/// initialisation's 98.25%, the medians of 5 seeds) and the gated cells the seed's
/// initialisation; elsewhere PyTorch's uniform one (`docs/recipes.md` has the measurements).
pub fn default_init(cell: CellKind, kind: Kind) -> Init {
    match (kind, cell) {
        (Kind::Images, CellKind::Tanh) => Init::Orthogonal,
        (Kind::Images, _) => Init::Seed,
        _ => Init::Uniform,
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

    /// Checks every setting's range, then the settings against `data`: one error naming the
    /// setting (in backticks) and what is wrong.
    ///
    /// # Errors
    /// [`Error::Config`] for a setting out of range or at odds with the data.
    pub fn check(&self, data: &Dataset) -> Result<()> {
        self.check_ranges()?;
        match data {
            Dataset::Labelled(l) => self.check_sets(&l.train, &l.test),
            Dataset::Series(f) => self.check_sets(&f.sets.train, &f.sets.test),
            Dataset::Text(c) => self.check_text(c),
        }?;
        self.check_memory(&self.network(data))
    }

    /// Bytes a run of this configuration training `net` asks for, about: the parameters, their
    /// gradient, the optimizer's state and each thread's gradient, and the activations of a
    /// batch. `None` when the count itself overflows.
    pub fn bytes_needed(&self, net: &NetworkConfig) -> Option<u128> {
        let u = |v: usize| v as u128;
        let (h, layers, width) = (u(net.hidden), u(net.layers), u(net.width()));
        let dirs: u128 = if net.bidirectional { 2 } else { 1 };
        let gates: u128 = match net.cell {
            CellKind::Tanh => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        };
        let (steps, outputs, answers) = match net.task {
            Task::Classify {
                steps,
                outputs,
                classes,
                ..
            } => (steps, outputs, classes),
            Task::Regress {
                steps,
                outputs,
                targets,
                ..
            } => (steps, outputs, targets),
            Task::Tag { steps, classes } => (steps, 0, classes),
            Task::NextToken => (self.seq_len, 0, net.input),
        };
        let (t, o, k) = (u(steps), u(outputs), u(answers));
        let add = |a: u128, b: u128| a.checked_add(b);
        let mul = |a: u128, b: u128| a.checked_mul(b);
        // A layer: `gates·H` rows over its input, the recurrent state and two biases.
        let layer = |input: u128| mul(mul(dirs, gates)?, mul(h, add(add(input, h)?, 2)?)?);
        let stack = add(layer(width)?, mul(layers - 1, layer(mul(dirs, h)?)?)?)?;
        let head = add(
            mul(add(mul(dirs, h)?, 1)?, k)?,
            mul(add(mul(t, k)?, mul(dirs, h)?)?, o)?,
        )?;
        let params = add(stack, head)?;
        let size: u128 = match self.dtype {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        };
        let copies = 4 + u(self.threads);
        let input = if net.task == Task::NextToken {
            0
        } else {
            width
        };
        let per_step = add(add(input, mul(mul(mul(dirs, h)?, layers)?, gates + 4)?)?, k)?;
        let activations = mul(mul(u(self.batch), t.max(1))?, per_step)?;
        mul(add(mul(params, copies)?, activations)?, size)
    }

    /// The run fits in this machine's memory (as far as [`TrainConfig::bytes_needed`] can
    /// tell), before any of it is asked for.
    fn check_memory(&self, net: &NetworkConfig) -> Result<()> {
        let need = self.bytes_needed(net);
        let have = physical_memory();
        if need.is_some_and(|n| have.is_none_or(|h| n <= h)) {
            return Ok(());
        }
        let gb = |b: u128| format!("{:.1} GB", b as f64 / 1e9);
        Err(Error::config(format!(
            "`hidden` {}, `layers` {}, `batch` {} and {} `threads` on these data need {} of \
             memory{}",
            self.hidden,
            self.layers,
            self.batch,
            self.threads,
            need.map_or("more than any machine's".to_string(), |n| format!(
                "about {}",
                gb(n)
            )),
            have.map_or(String::new(), |h| format!("; this machine has {}", gb(h)))
        )))
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
            ("patch", self.patch),
        ] {
            if v == 0 {
                return bad(format!("`{name}` must be at least 1"));
            }
        }
        if let Some(b) = self.time_budget
            && !(b.seconds.is_finite() && b.seconds > 0.0)
        {
            return bad(format!(
                "`time_budget` must be a positive number of seconds, got {}",
                b.seconds
            ));
        }
        if let Some(t) = self.step_threads
            && (t == 0 || self.threads % t != 0)
        {
            return bad(format!(
                "`step_threads` must divide `threads` ({}), got {t}",
                self.threads
            ));
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
        for (name, p) in [
            ("dropout", self.dropout),
            ("output_dropout", self.output_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(format!("`{name}` must be at least 0 and below 1, got {p}"));
            }
        }
        if !(0.0..1.0).contains(&self.validation) {
            return bad(format!(
                "`validation` must be at least 0 and below 1, got {}",
                self.validation
            ));
        }
        if self.dropout > 0.0 && self.layers < 2 {
            return bad(
                "`dropout` acts between stacked layers: it needs `layers` 2 or more".into(),
            );
        }
        Ok(())
    }

    /// The batch fits the training split; the seed readout gets sequences of one length; a class
    /// at every step is read by the per-step readout, and only it.
    fn check_sets(&self, train: &SeqSet, test: &SeqSet) -> Result<()> {
        let steps = matches!(train.targets, Targets::Steps(_));
        if steps && self.patch > 1 {
            return Err(Error::config(format!(
                "`patch` {} reads several steps as one; the data label every step: use `patch` 1",
                self.patch
            )));
        }
        if steps != (self.readout == Readout::Step) {
            return Err(Error::config(if steps {
                format!(
                    "the data label every step: `readout` step reads them, not {}",
                    self.readout
                )
            } else {
                "`readout` step needs a label at every step (y of N×T); these data have one \
                 answer per sequence"
                    .to_string()
            }));
        }
        let n = train.len();
        if self.validation > 0.0 && n < 2 {
            return Err(Error::config(format!(
                "`validation` {} holds out part of the training sequences; there is {n}",
                self.validation
            )));
        }
        let kept = self.trained(train);
        if self.batch > kept {
            return Err(Error::config(if kept < n {
                format!(
                    "`batch` {} is larger than the {kept} training sequences that `validation` {} \
                     leaves of {n}",
                    self.batch, self.validation
                )
            } else {
                format!(
                    "`batch` {} is larger than the {n} training sequences",
                    self.batch
                )
            }));
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

    /// The text holds at least one batch of chunks, and something to validate on; the model
    /// reads forwards.
    fn check_text(&self, c: &Corpus) -> Result<()> {
        if self.bidirectional {
            return Err(Error::config(
                "`bidirectional` does not apply to a language model: predicting the next \
                 character, it cannot read ahead",
            ));
        }
        if self.readout == Readout::Step {
            return Err(Error::config(
                "`readout` step does not apply to a language model, which predicts at every step",
            ));
        }
        if self.patch > 1 {
            return Err(Error::config(
                "`patch` does not apply to a language model, which predicts every character",
            ));
        }
        if self.validation > 0.0 {
            return Err(Error::config(
                "`validation` does not apply to a language model: it validates on the text's \
                 last characters (`val_frac`)",
            ));
        }
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

/// Rows a shard keeps at least before a batch's threads form teams: below it, a thread's share
/// of a team's products outruns a shard's own (`bench --scaling` on the language model: 32
/// threads as 16 shards of 4 rows in teams of 2 project 20.8× one thread, 32 shards of 2 rows
/// 17.6×; 64 threads as 16 × 4, 34.4×, as 64 shards, 23.9×; at 4 rows a shard and above, shards
/// alone win: 16 threads as 16 shards, 12.9×, as 4 teams of 4, 10.1×).
pub const MIN_SHARD_ROWS: usize = 4;

/// Hidden units each member of a team takes at least: narrower, its share of a step's products
/// is too small to pay for the team's meetings (the seed model, H = 50, gains from no team at any
/// thread count: 64 threads as 64 shards of 1–2 rows project 46.6×, as 16 shards in teams of 4,
/// 19.1×).
pub const MIN_TEAM_UNITS: usize = 64;

/// How `threads` threads share batches of `batch` rows of `net`: `(groups, team)`, `groups`
/// shards of rows, each split across a team of `team` threads, `groups · team = threads`.
/// Shards alone while each keeps [`MIN_SHARD_ROWS`] rows; past that, the smallest teams that
/// keep that many rows a shard, each member at least [`MIN_TEAM_UNITS`] units of the layers.
pub fn layout<T: crate::real::Real>(
    threads: usize,
    batch: usize,
    net: &crate::network::Network<T>,
) -> (usize, usize) {
    let threads = threads.max(1);
    let widest = (net.config.hidden / MIN_TEAM_UNITS).max(1);
    let teams = (1..=threads).filter(|t| threads % t == 0 && *t <= widest);
    let team = teams
        .clone()
        .find(|&t| batch / (threads / t) >= MIN_SHARD_ROWS)
        .or_else(|| teams.clone().next_back())
        .unwrap_or(1);
    (threads / team, team)
}

/// How many of `n` training sequences a `fraction` carves: `fraction·n` rounded, at least one,
/// and one fewer than `n` at most (0 when `n` < 2 or the fraction is 0).
pub fn validation_len(n: usize, fraction: f64) -> usize {
    if n < 2 || fraction <= 0.0 {
        return 0;
    }
    ((fraction * n as f64).round() as usize).clamp(1, n - 1)
}
