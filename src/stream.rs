//! Streaming prediction: a model fed one time step at a time — a sensor's readings, audio frames,
//! the characters of a text as they arrive — its state carried from step to step, answering
//! whenever it can, with no allocation per step.
//!
//! - A model with one answer per sequence (classes, or real numbers) and the `last` readout
//!   answers at every step: the answer for the sequence seen so far, as if it ended there. With
//!   `mean`, likewise from the mean of its outputs so far. With the seed readout (`seq`), which
//!   reads exactly T steps, it answers after every T-th step and starts a new sequence.
//! - A model that reads patches of p steps (see [`crate::network::NetworkConfig::patch`])
//!   steps its state once a patch is full: it answers after every p-th step, as above.
//! - A model with a class at every step answers every step with its class.
//! - A language model answers every character with the distribution of the next one.
//!
//! A bidirectional model reads each sequence backwards from its end: it has no answer before the
//! sequence has ended, and no stream.

use crate::blas::{FlushScope, Team};
use crate::data::DataInfo;
use crate::data::Norm;
use crate::error::{Error, Result};
use crate::model::{Model, Net};
use crate::network::{Task, Workspace};
use crate::nn::head::{Head, Readout, SeqHead, StepHead, argmax};
use crate::real::{ByDtype, Real, by_dtype};
use crate::sample::{SampleOptions, Sampler};

/// What a stream answers after a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output<'a> {
    /// A class: of the sequence so far, or of this step.
    Class {
        /// Steps of the sequence read so far (1 after the first push).
        step: usize,
        /// The most likely class.
        class: usize,
        /// Its name.
        name: &'a str,
        /// Every class's probability, in the model's class order.
        probabilities: &'a [f64],
    },
    /// A regression model's numbers for the sequence so far, on the targets' own scale.
    Values {
        /// Steps of the sequence read so far.
        step: usize,
        /// The predicted numbers, in the model's target order.
        values: &'a [f64],
    },
    /// A language model's distribution of the next character, over its vocabulary's order.
    NextChar(&'a [f64]),
}

/// A model's streaming predictor (from [`Model::stream`] or [`Model::stream_with_threads`]).
///
/// ```no_run
/// # fn main() -> blasrnn::Result<()> {
/// # let frames: Vec<Vec<f64>> = vec![];
/// let model = blasrnn::Model::load(std::path::Path::new("vowels.safetensors"))?;
/// let mut live = model.stream()?;
/// for frame in &frames {
///     if let Some(blasrnn::stream::Output::Class { name, .. }) = live.push(frame)? {
///         println!("so far: {name}");
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Stream<'m> {
    inner: ByDtype<Live<'m, f32>, Live<'m, f64>>,
    info: &'m DataInfo,
    /// Whether its steps flush subnormals (the model's setting).
    flush: bool,
}

impl std::fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (dtype, text) = match &self.inner {
            ByDtype::F32(l) => ("f32", matches!(l, Live::Text(_))),
            ByDtype::F64(l) => ("f64", matches!(l, Live::Text(_))),
        };
        f.debug_struct("Stream")
            .field("dtype", &dtype)
            .field("text", &text)
            .finish_non_exhaustive()
    }
}

/// The per-dtype part of a stream (one per stream: the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Live<'m, T: Real> {
    Frames(Framed<'m, T>),
    Text(Sampler<'m, T>),
}

/// The head a stream of frames answers with.
#[derive(Clone, Copy)]
enum Reader {
    Sequence(SeqHead),
    Steps(StepHead),
}

/// A stream of frames: one sequence, one step at a time.
struct Framed<'m, T: Real> {
    n: &'m Net<T>,
    /// The threads each step is split across.
    team: Team,
    reader: Reader,
    ws: Workspace<T>,
    /// Recurrent steps (patches) of the current sequence.
    t: usize,
    /// Steps in the patch being filled.
    fill: usize,
    /// The readout's features: the last output (H'), the sum of the outputs (H'), or the seed
    /// readout's outputs of every step so far (T·O).
    feat: Vec<T>,
    /// The mean of the outputs (H'), for the `mean` readout.
    mean: Vec<T>,
    answer: Vec<T>,
    out: Vec<f64>,
}

impl Model {
    /// A streaming predictor: one time step at a time, the state carried, from the start of a
    /// sequence (its state zero; see [`Stream`]).
    ///
    /// # Errors
    /// [`Error::Task`] for a bidirectional model, which cannot be fed one step at a time.
    pub fn stream(&self) -> Result<Stream<'_>> {
        self.stream_with_threads(1)
    }

    /// A streaming predictor whose every step is split across `threads` threads (see
    /// [`crate::blas::team`]): worth it for wide models, whose steps' products are large. The
    /// answers are those of one thread but for rounding.
    ///
    /// # Errors
    /// As [`Model::stream`]; [`Error::Config`] for 0 threads, [`Error::Threads`] when the
    /// operating system refuses to start them.
    pub fn stream_with_threads(&self, threads: usize) -> Result<Stream<'_>> {
        let model = self;
        if threads == 0 {
            return Err(Error::config("`threads` must be at least 1"));
        }
        if model.config().bidirectional {
            return Err(Error::task(
                "a bidirectional model reads each sequence backwards from its end: it has no \
                 answer before the sequence has ended, and cannot be fed one step at a time",
            ));
        }
        let keep = model.keep_subnormals();
        let inner = match model.net() {
            ByDtype::F32(n) => ByDtype::F32(Live::new(n, threads, keep)?),
            ByDtype::F64(n) => ByDtype::F64(Live::new(n, threads, keep)?),
        };
        Ok(Stream {
            inner,
            info: model.info(),
            flush: !keep,
        })
    }
}

impl<'m> Stream<'m> {
    /// Feeds one time step of raw values (`D` numbers, normalised here as the model's training
    /// data were). Returns the answer when the model can give one (see the module's
    /// description), `None` otherwise.
    ///
    /// # Errors
    /// [`Error::Task`] for a language model (feed it with [`Stream::push_char`]),
    /// [`Error::Shape`] for a frame of the wrong size or with a value that is not finite.
    pub fn push(&mut self, frame: &[f64]) -> Result<Option<Output<'_>>> {
        let Some(norm) = self.info.norm() else {
            return Err(Error::task(
                "a language model reads characters: feed it with push_char",
            ));
        };
        let info = self.info;
        let _flush = FlushScope::new(self.flush);
        by_dtype!(&mut self.inner, live => match live {
            Live::Frames(f) => Ok(f.push(frame, norm, info)?.map(|(step, answer)| match info {
                DataInfo::Classes { names, .. } => {
                    let class = argmax(answer);
                    Output::Class {
                        step,
                        class,
                        name: &names[class],
                        probabilities: answer,
                    }
                }
                _ => Output::Values {
                    step,
                    values: answer,
                },
            })),
            Live::Text(_) => unreachable!("a model of frames has an input normalisation"),
        })
    }

    /// Feeds one character to a language model: the distribution of the next.
    ///
    /// # Errors
    /// [`Error::Task`] for a model of frames, [`Error::Shape`] for a character outside the
    /// vocabulary.
    pub fn push_char(&mut self, c: char) -> Result<Output<'_>> {
        let DataInfo::Text(vocab) = self.info else {
            return Err(Error::task(
                "a model of sequences of numbers reads frames: feed it with push",
            ));
        };
        let id = vocab
            .id(c)
            .ok_or_else(|| Error::shape(format!("{c:?} is not in the model's vocabulary")))?;
        by_dtype!(&mut self.inner, live => match live {
            Live::Text(s) => {
                s.feed(&[id]);
                Ok(Output::NextChar(s.distribution()))
            }
            Live::Frames(_) => unreachable!("a language model's info"),
        })
    }

    /// Starts a new sequence: the state back to zero.
    pub fn reset(&mut self) {
        by_dtype!(&mut self.inner, live => match live {
            Live::Frames(f) => f.reset(),
            Live::Text(s) => s.reset(),
        })
    }
}

impl<'m, T: Real> Live<'m, T> {
    fn new(n: &'m Net<T>, threads: usize, keep_subnormals: bool) -> Result<Self> {
        let (reader, feat, h) = match (n.net.config.task, *n.net.head()) {
            (Task::NextToken, _) => {
                let options = SampleOptions {
                    threads,
                    keep_subnormals,
                    ..SampleOptions::default()
                };
                return Ok(Live::Text(Sampler::new(&n.net, &n.params, options, 1)?));
            }
            (_, Head::Sequence(head)) => {
                let feat = match head.readout {
                    Readout::Seq => head.features(),
                    _ => head.width(),
                };
                (Reader::Sequence(head), feat, head.width())
            }
            (_, Head::Steps(head)) => (Reader::Steps(head), head.h, head.h),
        };
        let k = n.net.head().outputs();
        let team = Team::new(threads).map_err(|e| Error::Threads {
            threads,
            reason: e.to_string(),
        })?;
        Ok(Live::Frames(Framed {
            n,
            team,
            reader,
            ws: n.net.forward_workspace(1, 1, false),
            t: 0,
            fill: 0,
            feat: vec![T::ZERO; feat],
            mean: vec![T::ZERO; h],
            answer: vec![T::ZERO; k],
            out: vec![0.0; k],
        }))
    }
}

impl<T: Real> Framed<'_, T> {
    /// One step: `(steps so far, the answer)` when the model can answer.
    fn push(
        &mut self,
        frame: &[f64],
        norm: &Norm,
        info: &DataInfo,
    ) -> Result<Option<(usize, &[f64])>> {
        let d = self.n.net.config.input;
        if frame.len() != d {
            return Err(Error::shape(format!(
                "a frame of {} numbers; the model reads {d} a step",
                frame.len()
            )));
        }
        if let Some(v) = frame.iter().find(|v| !v.is_finite()) {
            return Err(Error::shape(format!("a frame holding {v}")));
        }
        let at = self.fill * d;
        for (k, (x, &v)) in self.ws.batch.x[at..at + d]
            .iter_mut()
            .zip(frame)
            .enumerate()
        {
            *x = T::from_f64((v - norm.shift[k]) * norm.scale[k]);
        }
        self.fill += 1;
        if self.fill < self.n.net.config.patch {
            return Ok(None);
        }
        self.fill = 0;
        self.ws.batch.begin_full(1, 1);
        let (net, p, ws) = (&self.n.net, &self.n.params, &mut self.ws);
        let h = self.team.enter(|| net.stack_states(p, ws));
        let hp = net.head_params(p);
        self.t += 1;
        let head = match self.reader {
            Reader::Steps(head) => {
                head.row_probs(hp, h, &mut self.answer);
                net.carry(&mut self.ws);
                self.finish(info);
                return Ok(Some((self.t, &self.out)));
            }
            Reader::Sequence(head) => head,
        };
        let z = match head.readout {
            Readout::Last | Readout::Step => {
                self.feat.copy_from_slice(h);
                &self.feat
            }
            Readout::Mean => {
                let inv = T::from_f64(1.0 / self.t as f64);
                for ((s, m), &x) in self.feat.iter_mut().zip(&mut self.mean).zip(h) {
                    *s += x;
                    *m = *s * inv;
                }
                &self.mean
            }
            Readout::Seq => {
                let o = head.o;
                let at = (self.t - 1) * o;
                head.step_outputs(hp, h, &mut self.feat[at..at + o]);
                &self.feat
            }
        };
        net.carry(&mut self.ws);
        if head.readout == Readout::Seq && self.t < head.t {
            return Ok(None);
        }
        head.row_answer(hp, z, &mut self.answer);
        self.finish(info);
        let step = self.t * self.n.net.config.patch;
        if head.readout == Readout::Seq {
            self.reset();
        }
        Ok(Some((step, &self.out)))
    }

    /// Writes the answer of this step into `out` as `f64`s, a regression's on the targets' own
    /// scale.
    fn finish(&mut self, info: &DataInfo) {
        let unscale = info.target_norm();
        for (j, (o, &a)) in self.out.iter_mut().zip(&self.answer).enumerate() {
            *o = match unscale {
                Some(n) => a.to_f64() / n.scale[j] + n.shift[j],
                None => a.to_f64(),
            };
        }
    }

    fn reset(&mut self) {
        (self.t, self.fill) = (0, 0);
        self.feat.fill(T::ZERO);
        self.n.net.reset_state(&mut self.ws);
    }
}
