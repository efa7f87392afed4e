//! The tests that run the `blasrnn` binary (and the library beside it), one binary: the command
//! line end to end, bad input, language models, sequence files, checkpoints, every task.

#[path = "../common/mod.rs"]
mod common;

mod checkpoint;
mod cli;
mod lm;
mod robust;
mod sequences;
mod tasks;
