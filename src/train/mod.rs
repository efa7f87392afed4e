//! Training: the configuration of a run ([`TrainConfig`]), the step and the evaluation
//! ([`trainer`]), and the loop that reports, evaluates, checkpoints and stops ([`run`]) — one
//! of each for every task.

pub mod run;
pub mod threads;
pub mod trainer;

pub use trainer::{Data, Evaluation, StepStats, Trainer};

use crate::data::SeqSet;
use crate::model::{Init, ModelConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::Readout;
use crate::optim::{OptimizerKind, Schedule};
use crate::real::Dtype;

/// Everything that decides a training run.
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
    /// The number type the run computes in; a [`Trainer<T>`] needs `T::DTYPE` to match.
    pub dtype: Dtype,
}

impl TrainConfig {
    /// The classifier this configuration trains on `set`.
    pub fn classifier(&self, set: &SeqSet) -> ModelConfig {
        ModelConfig {
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
    pub fn language_model(&self, vocab: usize) -> ModelConfig {
        ModelConfig {
            cell: self.cell,
            input: vocab,
            hidden: self.hidden,
            layers: self.layers,
            task: Task::NextToken,
        }
    }
}
