//! The rules that choose a run's settings from its data, and the constants they use: how long
//! to train, how long sequences are read, how much validates, how threads share a batch, and
//! the defaults of each kind of data.

use crate::data::Kind;
use crate::network::Init;
use crate::nn::cell::CellKind;
use crate::optim::OptimizerKind;
use crate::real::Dtype;

/// The schedule length of a run with a [`TimeBudget`](super::TimeBudget) until it has measured
/// its speed.
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

/// The validation part of the default run on real numbers (a regression, or a series'
/// latest windows): a fifth of the training part, whose lowest loss picks the parameters kept.
/// Medians of 3 seeds (`docs/suite.md`): CardanoSentiment RMSE 0.385 → 0.298 (the training
/// mean's 0.300); ShampooSales MASE 1.79 → 1.41, solar 1.13 → 0.90, Taylor 0.69 → 0.62, Lynx
/// 0.51 → 0.47, Airline 0.49 → 0.85. Not on classes: on the suite's small sets the sequences
/// it holds out cost more than the stopping gains (ArrowHead 0.66 → 0.42).
pub const VALIDATION: f64 = 0.2;

/// Evaluations of the validation part in a run (see
/// [`TrainConfig::validation`](super::TrainConfig::validation)): every
/// `iters / VALIDATIONS` iterations, and at the end.
pub const VALIDATIONS: usize = 50;

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
