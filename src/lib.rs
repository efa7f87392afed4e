//! blasrnn: recurrent neural networks trained on the CPU, every matrix product through CBLAS.
//!
//! Where to look:
//! - [`blas`]: the safe CBLAS wrapper (the only `unsafe` code);
//! - [`idx`], [`mnist`]: the data, kept as bytes;
//! - [`cell`]: the trait every cell implements; [`rnn`]: the seed's tanh cell and its BPTT loop;
//! - [`head`]: the readouts and the softmax classifier;
//! - [`model`]: cell + head over one flat parameter buffer, and the per-batch workspace;
//! - [`optim`]: SGD, momentum, Adam, clipping, schedules; [`train`]: the trainer.

pub mod blas;
pub mod cell;
pub mod head;
pub mod idx;
pub mod mnist;
pub mod model;
pub mod optim;
pub mod rnn;
pub mod train;
