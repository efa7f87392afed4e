//! [`Overrides`]: the settings a caller chooses for a fresh run, each one left `None` taken from
//! the default or the rule for the data — what `blasrnn train` does with the flags it is given,
//! for programs and the Python package.

use super::TrainConfig;
use super::rules::{default_dtype, default_init, default_lr};
use crate::data::{Dataset, Kind};
use crate::error::{Error, Result};
use crate::nn::cell::CellKind;
use crate::nn::head::{Loss, Readout};
use crate::optim::OptimizerKind;
use crate::real::Dtype;

/// The settings a caller chooses for a fresh run; `None` (or `false`) leaves each to its default
/// or to its rule for the data ([`TrainConfig::for_data`]), as a flag left out of `blasrnn train`
/// does. A setting that another follows by rule carries it along: another cell brings its own
/// initialisation and number type, another optimizer its learning rate, another batch or
/// validation part the length of the run in passes.
///
/// ```
/// # fn main() -> blasrnn::Result<()> {
/// # let x: Vec<f32> = (0..40 * 5).map(|i| ((i * 7919) % 23) as f32 / 23.0).collect();
/// # let y: Vec<usize> = (0..40).map(|i| i % 2).collect();
/// # let train = blasrnn::SeqSet::from_arrays(&x, [40, 5, 1], None, Some(&y))?;
/// # let data = blasrnn::Dataset::Labelled(blasrnn::data::Labelled::new(train.clone(), train)?);
/// use blasrnn::{CellKind, TrainConfig, config::Overrides};
/// let asked = Overrides { cell: Some(CellKind::Lstm), epochs: Some(5), ..Overrides::default() };
/// let cfg = TrainConfig::with_overrides(&data, &asked)?;
/// assert_eq!((cfg.cell, cfg.hidden), (CellKind::Lstm, 128));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// The recurrent cell.
    pub cell: Option<CellKind>,
    /// Units per layer.
    pub hidden: Option<usize>,
    /// Layers.
    pub layers: Option<usize>,
    /// Both directions (classes and numbers per sequence only).
    pub bidirectional: bool,
    /// Steps read as one input vector.
    pub patch: Option<usize>,
    /// How a sequence's outputs become its answer.
    pub readout: Option<Readout>,
    /// The loss of real-valued targets.
    pub loss: Option<Loss>,
    /// Passes over the training data (exclusive with `iters` and `time_budget`).
    pub epochs: Option<usize>,
    /// Iterations (batches).
    pub iters: Option<usize>,
    /// Seconds of training, the run's length fixed from its first steps' speed.
    pub time_budget: Option<f64>,
    /// Sequences (or text streams) per batch.
    pub batch: Option<usize>,
    /// Characters per stream and step of a language model.
    pub seq_len: Option<usize>,
    /// The optimizer.
    pub optimizer: Option<OptimizerKind>,
    /// The peak learning rate.
    pub lr: Option<f64>,
    /// Warm-up iterations.
    pub warmup: Option<usize>,
    /// Dropout between layers.
    pub dropout: Option<f64>,
    /// Dropout of the head's input.
    pub output_dropout: Option<f64>,
    /// The fraction of the training sequences held out to keep the best parameters on.
    pub validation: Option<f64>,
    /// The random seed.
    pub seed: Option<u64>,
    /// Threads (every core when `None`).
    pub threads: Option<usize>,
    /// The number type.
    pub dtype: Option<Dtype>,
}

impl TrainConfig {
    /// The run `asked` on `data`: [`TrainConfig::for_data`] with each setting `asked` gives,
    /// and what follows from it by rule (see [`Overrides`]); exactly the run `blasrnn train`
    /// makes of the same flags.
    ///
    /// # Errors
    /// [`Error::Config`] for settings at odds with the data or with one another (a readout for
    /// text, a length given twice); the values themselves are checked when the run starts.
    pub fn with_overrides(data: &Dataset, asked: &Overrides) -> Result<TrainConfig> {
        let kind = data.kind();
        if kind == Kind::Text && asked.readout.is_some() {
            return Err(Error::config(
                "`readout` applies to sequences; a language model predicts at every step",
            ));
        }
        if kind != Kind::Text && asked.seq_len.is_some() {
            return Err(Error::config("`seq_len` applies to language models only"));
        }
        let lengths = [
            asked.epochs.is_some(),
            asked.iters.is_some(),
            asked.time_budget.is_some(),
        ];
        if lengths.iter().filter(|&&given| given).count() > 1 {
            return Err(Error::config(
                "give one of `epochs`, `iters` and `time_budget`, not several",
            ));
        }
        let base = TrainConfig::for_data(data);
        let mut c = base.clone();
        let cell = asked.cell.unwrap_or(base.cell);
        let optimizer = asked.optimizer.unwrap_or(base.optimizer);
        c.cell = cell;
        c.optimizer = optimizer;
        c.lr = asked.lr.unwrap_or(if optimizer == base.optimizer {
            base.lr
        } else {
            default_lr(optimizer, kind)
        });
        c.init = default_init(cell, kind);
        c.dtype = asked.dtype.unwrap_or(default_dtype(cell, kind));
        c.bidirectional = asked.bidirectional;
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = asked.$field { c.$field = v; } )* };
        }
        take!(
            hidden,
            layers,
            patch,
            readout,
            loss,
            seq_len,
            warmup,
            dropout,
            output_dropout,
            validation,
            seed,
            threads
        );
        // The default batch and length follow the sequences that train, which the validation
        // part decides.
        c.batch = asked.batch.unwrap_or_else(|| c.batch_for(data));
        c.iters = match (asked.epochs, asked.iters) {
            (Some(e), _) => e * c.iters_per_epoch(data),
            (None, Some(i)) => i,
            (None, None) if matches!(kind, Kind::Sequences | Kind::Series) => c.iters_for(data),
            (None, None) => base.iters,
        };
        if let Some(seconds) = asked.time_budget {
            c.set_time_budget(seconds);
        }
        Ok(c)
    }
}
