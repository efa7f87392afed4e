//! Training: a run as callers drive it ([`Training`]; [`fit`](crate::fit) in one call) and its
//! named recipes ([`Preset`]), the loop every task shares and what it reports ([`run`]:
//! [`RunOptions`], [`Event`], [`Control`], [`Outcome`]), the step of one mini-batch across worker
//! threads ([`trainer`]), the evaluation of a whole data part ([`eval`]), the validation part
//! ([`validation`]) and the threads themselves ([`threads`]). The run's settings and their rules
//! live in [`crate::config`].

mod budget;
pub mod eval;
mod preset;
pub mod run;
pub mod threads;
pub mod trainer;
mod training;
pub mod validation;

pub use crate::checkpoint::Best;
pub use crate::config::{
    PATCHED_STEPS, SEQUENCE_EPOCHS, SERIES_BATCH, SERIES_EPOCHS, SERIES_UPDATES, TimeBudget,
    TrainConfig, UNFIXED, VALIDATION, VALIDATIONS, default_cell, default_dtype, default_init,
    default_lr, default_threads, patch_rule,
};
pub use crate::data::Data;
pub use eval::{EVAL_STREAMS, Evaluation};
pub use preset::Preset;
pub use run::{Control, Ending, Event, Outcome, RunOptions};
pub use trainer::{StepStats, StepTimes, Trainer};
pub use training::Training;
