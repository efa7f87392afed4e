//! The library's integration tests, one binary: the engine's passes and gradients, training
//! through the public API, the original algorithm, subnormal numbers, time budgets and the
//! behaviour digests. (`tests/cutting.rs`, which changes the process-wide cutting rule, runs in
//! a process of its own.)

#[path = "../common/mod.rs"]
mod common;

mod behaviour;
mod budget;
mod engine;
mod gradcheck;
mod library;
mod reference;
mod subnormals;
