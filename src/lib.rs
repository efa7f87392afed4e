//! blasrnn: recurrent neural networks trained on the CPU, every matrix product through CBLAS.
//!
//! Where to look:
//! - [`blas`]: the safe CBLAS wrapper (the only `unsafe` code); [`activation`]: vectorised tanh
//!   and sigmoid; [`real`]: the number type (`f64` or `f32`) everything computes in;
//! - [`nn`]: the network — named parameters in one flat buffer ([`nn::params`]), the cells and
//!   their BPTT ([`nn::cell`]: tanh, LSTM, GRU, one screen each), the stack of layers
//!   ([`nn::stack`]), the heads ([`nn::head`]: sequence classifier, next token);
//! - [`model`]: input + stack + head over one buffer, and the per-batch workspace;
//! - [`data`]: labelled sequence sets (MNIST, …) and text streams, written into a workspace;
//! - [`optim`]: SGD, momentum, Adam, clipping, schedules; [`train`]: the step, the evaluation and
//!   the loop every task shares;
//! - [`sample`]: text generation from a language model;
//! - [`checkpoint`]: safetensors save/load with PyTorch's names; [`report`]: console, CSV, SVG;
//! - [`reference`](mod@reference): the original program's algorithm, replayed one image at a time;
//!   [`bench`]: the measurements of `blasrnn bench`.

#![warn(missing_docs)]

pub mod activation;
pub mod bench;
pub mod blas;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod model;
pub mod nn;
pub mod optim;
pub mod real;
pub mod reference;
pub mod report;
pub mod sample;
pub mod signals;
pub mod train;
