//! Streaming prediction: a model fed one time step at a time — a sensor's readings, audio frames,
//! the characters of a text as they arrive — its state carried from step to step, answering
//! whenever it can, with no allocation per step.
//!
//! - A classifier with the `last` readout answers at every step: the classes of the sequence
//!   seen so far, as if it ended there. With `mean`, likewise from the mean of its states so far.
//!   With the seed readout (`seq`), which reads exactly T steps, it answers after every T-th step
//!   and starts a new sequence.
//! - A language model answers every character with the distribution of the next one.

use crate::checkpoint::DataInfo;
use crate::data::Norm;
use crate::error::{Error, Result};
use crate::model::{Model, Net};
use crate::network::{Task, Workspace};
use crate::nn::head::{Classifier, Head, Readout, argmax};
use crate::real::{ByDtype, Real, by_dtype};
use crate::sample::{SampleOptions, Sampler};

/// What a stream answers after a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output<'a> {
    /// A classifier's classes.
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
    /// A language model's distribution of the next character, over its vocabulary's order.
    NextChar(&'a [f64]),
}

/// A model's streaming predictor (from [`Model::stream`]).
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
}

/// The per-dtype part of a stream (one per stream: the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Live<'m, T: Real> {
    Classify(Classifying<'m, T>),
    Text(Sampler<'m, T>),
}

/// A classifier's stream: one sequence of one step at a time.
struct Classifying<'m, T: Real> {
    n: &'m Net<T>,
    head: Classifier,
    ws: Workspace<T>,
    /// Steps of the current sequence.
    t: usize,
    /// The readout's features: the last state (H), the sum of the states (H), or the seed
    /// readout's outputs of every step so far (T·O).
    feat: Vec<T>,
    /// The mean of the states (H), for the `mean` readout.
    mean: Vec<T>,
    probs: Vec<T>,
    out: Vec<f64>,
}

impl<'m> Stream<'m> {
    /// A stream of `model`, at the start of a sequence (its state zero).
    ///
    /// # Errors
    /// [`Error::Task`] for a model that cannot be fed one step at a time.
    pub fn new(model: &'m Model) -> Result<Stream<'m>> {
        let inner = match model.net() {
            ByDtype::F32(n) => ByDtype::F32(Live::new(n)?),
            ByDtype::F64(n) => ByDtype::F64(Live::new(n)?),
        };
        Ok(Stream {
            inner,
            info: model.info(),
        })
    }

    /// Feeds one time step of a classifier's raw values (`D` numbers, normalised here as the
    /// model's training data were). Returns the classes when the model can give them (see the
    /// module's description), `None` otherwise.
    ///
    /// # Errors
    /// [`Error::Task`] for a language model (feed it with [`Stream::push_char`]),
    /// [`Error::Shape`] for a frame of the wrong size or with a value that is not finite.
    pub fn push(&mut self, frame: &[f64]) -> Result<Option<Output<'_>>> {
        let DataInfo::Classes { norm, names, .. } = self.info else {
            return Err(Error::task(
                "a language model reads characters: feed it with push_char",
            ));
        };
        by_dtype!(&mut self.inner, live => match live {
            Live::Classify(c) => Ok(c.push(frame, norm)?.map(|(step, probabilities)| {
                let class = argmax(probabilities);
                Output::Class {
                    step,
                    class,
                    name: &names[class],
                    probabilities,
                }
            })),
            Live::Text(_) => unreachable!("a classifier's info"),
        })
    }

    /// Feeds one character to a language model: the distribution of the next.
    ///
    /// # Errors
    /// [`Error::Task`] for a classifier, [`Error::Shape`] for a character outside the
    /// vocabulary.
    pub fn push_char(&mut self, c: char) -> Result<Output<'_>> {
        let DataInfo::Text(vocab) = self.info else {
            return Err(Error::task(
                "a classifier reads numbers a step: feed it with push",
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
            Live::Classify(_) => unreachable!("a language model's info"),
        })
    }

    /// Starts a new sequence: the state back to zero.
    pub fn reset(&mut self) {
        by_dtype!(&mut self.inner, live => match live {
            Live::Classify(c) => c.reset(),
            Live::Text(s) => s.reset(),
        })
    }
}

impl<'m, T: Real> Live<'m, T> {
    fn new(n: &'m Net<T>) -> Result<Self> {
        match (n.net.config.task, n.net.head()) {
            (Task::NextToken, _) => {
                let options = SampleOptions::default();
                Ok(Live::Text(Sampler::new(&n.net, &n.params, options, 1)?))
            }
            (Task::Classify { .. }, Head::Classify(head)) => {
                let head = *head;
                let feat = match head.readout {
                    Readout::Seq => head.features(),
                    Readout::Last | Readout::Mean => head.h,
                };
                Ok(Live::Classify(Classifying {
                    n,
                    head,
                    ws: n.net.workspace(1, 1, false),
                    t: 0,
                    feat: vec![T::ZERO; feat],
                    mean: vec![T::ZERO; head.h],
                    probs: vec![T::ZERO; head.k],
                    out: vec![0.0; head.k],
                }))
            }
            _ => Err(Error::task("this model cannot be fed one step at a time")),
        }
    }
}

impl<T: Real> Classifying<'_, T> {
    /// One step: `(steps so far, probabilities)` when the readout can answer.
    fn push(&mut self, frame: &[f64], norm: &Norm) -> Result<Option<(usize, &[f64])>> {
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
        for (k, (x, &v)) in self.ws.x[..d].iter_mut().zip(frame).enumerate() {
            *x = T::from_f64((v - norm.shift[k]) * norm.scale[k]);
        }
        self.ws.targets[0] = 0;
        self.ws.begin_full(1, 1);
        let (net, head, p) = (&self.n.net, self.head, &self.n.params);
        let h = net.stack_states(p, &mut self.ws);
        let hp = net.head_params(p);
        self.t += 1;
        let z = match head.readout {
            Readout::Last => {
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
        head.row_probs(hp, z, &mut self.probs);
        for (o, &p) in self.out.iter_mut().zip(&self.probs) {
            *o = p.to_f64();
        }
        let step = self.t;
        if head.readout == Readout::Seq {
            self.reset();
        }
        Ok(Some((step, &self.out)))
    }

    fn reset(&mut self) {
        self.t = 0;
        self.feat.fill(T::ZERO);
        self.n.net.reset_state(&mut self.ws);
    }
}
