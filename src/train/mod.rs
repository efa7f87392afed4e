//! Training: the configuration of a run and its defaults ([`TrainConfig`]) and named recipes
//! ([`Preset`]), a run as callers drive it ([`Training`], [`fit`]), the loop every task shares
//! and what it reports ([`run`]: [`RunOptions`], [`Event`], [`Control`], [`Outcome`]), the step
//! of one mini-batch across worker threads ([`trainer`]), the evaluation of a whole data part
//! ([`eval`]) and the threads themselves ([`threads`]).

mod budget;
pub mod eval;
mod preset;
pub mod run;
pub mod threads;
pub mod trainer;
mod training;
pub mod validation;

pub use crate::data::Data;
pub use crate::config::{
    PATCHED_STEPS, SEQUENCE_EPOCHS, SERIES_BATCH, SERIES_EPOCHS, SERIES_UPDATES, TimeBudget,
    TrainConfig, UNFIXED, VALIDATION, VALIDATIONS, default_cell, default_dtype, default_init,
    default_lr, default_threads, patch_rule,
};
pub use eval::{EVAL_STREAMS, Evaluation};
pub use preset::Preset;
pub use run::{Control, Ending, Event, Outcome, RunOptions};
pub use trainer::{StepStats, StepTimes, Trainer};
pub use training::Training;
pub use crate::checkpoint::Best;
