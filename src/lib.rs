//! blasrnn: recurrent neural networks trained on the CPU, every matrix product through CBLAS.
//!
//! Where to look:
//! - [`blas`]: the safe CBLAS wrapper (the only `unsafe` code);
//! - [`idx`], [`mnist`]: the data, kept as bytes;
//! - [`cell`]: the trait every cell implements; [`rnn`]: the seed's tanh cell and its BPTT loop;
//!   [`lstm`], [`gru`]: the gated cells;
//! - [`head`]: the readouts and the softmax classifier;
//! - [`model`]: cell + head over one flat parameter buffer, and the per-batch workspace;
//! - [`checkpoint`]: safetensors save/load with PyTorch's names;
//! - [`optim`]: SGD, momentum, Adam, clipping, schedules; [`train`]: the trainer;
//! - [`reference`](mod@reference): the original program's algorithm, replayed one image at a time;
//! - [`activation`]: vectorised tanh and sigmoid;
//! - [`real`]: the number type (`f64` or `f32`) everything computes in.

#![warn(missing_docs)]

pub mod activation;
pub mod bench;
pub mod blas;
pub mod cell;
pub mod checkpoint;
pub mod gru;
pub mod head;
pub mod idx;
pub mod lstm;
pub mod mnist;
pub mod model;
pub mod optim;
pub mod real;
pub mod reference;
pub mod report;
pub mod rnn;
pub mod train;
