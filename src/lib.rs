//! blasrnn: recurrent neural networks (tanh RNN, LSTM, GRU) trained on the CPU, every matrix
//! product through CBLAS.
//!
//! Train a classifier on your own arrays, save it, load it back and classify:
//!
//! ```
//! # fn main() -> blasrnn::Result<()> {
//! use blasrnn::{Control, Dataset, Model, SeqSet, TrainConfig};
//!
//! // 60 sequences of 8 steps of 2 numbers; the class says which number grows.
//! let (n, t, d) = (60, 8, 2);
//! let mut x = Vec::with_capacity(n * t * d);
//! let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
//! for (i, &c) in y.iter().enumerate() {
//!     for s in 0..t {
//!         let up = s as f64 / t as f64;
//!         let noise = ((i * 31 + s * 7) % 10) as f64 / 50.0;
//!         x.extend(if c == 0 { [up, noise] } else { [noise, up] });
//!     }
//! }
//! let train = SeqSet::from_arrays(&x[..40 * t * d], [40, t, d], None, Some(&y[..40]))?;
//! let test = SeqSet::from_arrays(&x[40 * t * d..], [20, t, d], None, Some(&y[40..]))?;
//! let data = Dataset::Labelled(blasrnn::data::Labelled::new(train, test)?);
//!
//! let mut cfg = TrainConfig::for_data(&data); // two GRU layers reading the last state, …
//! (cfg.hidden, cfg.batch, cfg.threads) = (16, 10, 1);
//! cfg.set_epochs(20, &data);
//! let model = blasrnn::fit(&cfg, &data, |event| {
//!     if let blasrnn::Event::Report(r) = event {
//!         println!("{r}");
//!     }
//!     Control::Continue
//! })?;
//!
//! let path = std::env::temp_dir().join(format!("blasrnn-doc-{}.safetensors", std::process::id()));
//! model.save(&path)?;
//! let back = Model::load(&path)?; // dtype and task read from the file
//! # std::fs::remove_file(&path).ok();
//! let Dataset::Labelled(sets) = &data else { unreachable!() };
//! let predicted = back.classify(&sets.test)?;
//! let right = predicted.iter().zip(&sets.test.labels);
//! assert!(right.filter(|(p, l)| p.class == **l as usize).count() >= 18);
//! # Ok(()) }
//! ```
//!
//! A character-level language model ([`data::load_text`], then the same [`fit`]) generates text
//! with [`Model::sample`]; any model answers one time step at a time through [`Model::stream`].
//! Errors are one type, [`Error`], with a one-line message; nothing in this API panics on bad
//! input.
//!
//! Where to look:
//! - the API above: [`TrainConfig`] (settings and their defaults for each kind of data),
//!   [`Preset`] (named recipes measured for a budget), [`fit`] and [`Training`] (a run, resumable, driven by a callback), [`Model`] (save, load,
//!   evaluate, classify, sample, stream), [`data`] (MNIST, UCR/UEA `.ts`, NumPy `.npz`, text,
//!   arrays);
//! - the engine under it: [`network`] (input, stack and head over one flat parameter buffer),
//!   [`nn`] (named parameters, the cells and their BPTT, the stack, the heads), [`train::trainer`]
//!   (a step across worker threads), [`optim`], [`checkpoint`] (safetensors with PyTorch's
//!   names), [`blas`] (the only `unsafe` code: shape-checked CBLAS), [`activation`], [`real`];
//! - [`reference`](mod@reference): the original program's algorithm, replayed one image at a
//!   time; [`bench`](mod@bench): the measurements of `blasrnn bench`.
//!
//! The BLAS is chosen with one Cargo feature: `openblas` (the system's), `blis` (built with the
//! crate), `accelerate` (macOS), or the default `platform-default`; the `cli` feature (on by
//! default) builds the `blasrnn` command line, which is a client of this API.

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod activation;
pub mod bench;
#[allow(unsafe_code)]
pub mod blas;
pub mod checkpoint;
pub mod choice;
pub mod config;
pub mod data;
pub mod error;
pub mod metrics;
pub mod model;
pub mod network;
pub mod nn;
pub mod optim;
pub mod ranks;
pub mod real;
pub mod reference;
pub mod report;
pub mod sample;
pub mod stream;
pub mod train;

pub use checkpoint::Best;
pub use choice::Choice;
pub use config::TrainConfig;
pub use data::series::{Cut, Series};
pub use data::text::Vocab;
pub use data::{Data, DataInfo, Dataset, Labelled, SeqSet};
pub use error::{Error, Result};
pub use metrics::ValueErrors;
pub use model::{Model, Prediction, fit};
pub use network::{Init, NetworkConfig, Task};
pub use nn::cell::CellKind;
pub use nn::head::Readout;
pub use optim::{OptimizerKind, Schedule};
pub use real::Dtype;
pub use report::Report;
pub use sample::SampleOptions;
pub use stream::{Output, Stream};
pub use train::{Control, Ending, Evaluation, Event, Outcome, Preset, RunOptions, Training};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
