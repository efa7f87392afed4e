//! Text generation from a language model: one stream, its state carried from character to
//! character; the next character drawn from `softmax(logits / temperature)`, optionally among the
//! `top_k` most likely only, with a seeded generator (the same seed gives the same text).
//!
//! [`Sampler`] is generic over the number type and works in tokens; [`TextSampler`] (from
//! [`crate::Model::sampler`]) works in characters, in the dtype the model was saved in.

use crate::blas::{FlushScope, Team};
use crate::data::text::{Vocab, show_chars};
use crate::error::{Error, Result};
use crate::network::{Network, Task, Workspace};
use crate::real::{ByDtype, Real, by_dtype};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How the next character is drawn. `SampleOptions::default()`: temperature 1, every
/// character, seed 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleOptions {
    /// Divides the logits: below 1 sharper, above 1 flatter (must be finite and > 0).
    pub temperature: f64,
    /// Draw only among the k most likely characters (k ≥ 1).
    pub top_k: Option<usize>,
    /// Seed of the draws.
    pub seed: u64,
    /// Threads each character's step is split across (see [`crate::blas::team`]); the text is
    /// the same for every count but for rounding.
    pub threads: usize,
    /// Keep subnormal numbers instead of flushing them to zero (see [`crate::blas::flush`]).
    pub keep_subnormals: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            temperature: 1.0,
            top_k: None,
            seed: 1,
            threads: 1,
            keep_subnormals: false,
        }
    }
}

impl SampleOptions {
    /// Checks the temperature and `top_k`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting out of range.
    pub fn check(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(Error::config(format!(
                "`temperature` must be a positive number, got {}",
                self.temperature
            )));
        }
        if self.top_k == Some(0) {
            return Err(Error::config("`top_k` must be at least 1"));
        }
        if self.threads == 0 {
            return Err(Error::config("`threads` must be at least 1"));
        }
        Ok(())
    }
}

/// A language model generating one stream of tokens, computing in `T`.
pub struct Sampler<'a, T: Real> {
    model: &'a Network<T>,
    params: &'a [T],
    ws: Workspace<T>,
    config: SampleOptions,
    rng: StdRng,
    /// The distribution of the next token (probabilities, in f64).
    next: Vec<f64>,
    /// Token indices, for the top-k selection.
    order: Vec<usize>,
    /// The threads each step is split across.
    team: Team,
}

impl<'a, T: Real> Sampler<'a, T> {
    /// A sampler for a language model (its parameters `params`), priming in chunks of up to
    /// `chunk` characters.
    ///
    /// # Errors
    /// [`Error::Task`] when `model` is a classifier; [`Error::Config`] for options out of range.
    pub fn new(
        model: &'a Network<T>,
        params: &'a [T],
        config: SampleOptions,
        chunk: usize,
    ) -> Result<Self> {
        if model.config.task != Task::NextToken {
            return Err(Error::task(
                "a classifier, which does not generate text: sampling needs a language model",
            ));
        }
        config.check()?;
        let v = model.config.input;
        let team = Team::new(config.threads).map_err(|e| Error::Threads {
            threads: config.threads,
            reason: e.to_string(),
        })?;
        Ok(Sampler {
            model,
            params,
            ws: model.forward_workspace(1, chunk.max(1), false),
            config,
            rng: StdRng::seed_from_u64(config.seed),
            next: vec![0.0; v],
            order: (0..v).collect(),
            team,
        })
    }

    /// Runs `tokens` through the model from its current state (zeros at first), leaving the
    /// state after the last one and the distribution of the token that follows it.
    ///
    /// # Panics
    /// When a token is outside the vocabulary.
    pub fn feed(&mut self, tokens: &[u32]) {
        let _flush = FlushScope::new(!self.config.keep_subnormals);
        let v = self.model.config.input;
        for part in tokens.chunks(self.ws.batch.max_steps) {
            let t = part.len();
            self.ws.batch.tokens[..t].copy_from_slice(part);
            self.ws.batch.targets[..t].fill(0);
            self.ws.batch.begin_full(1, t);
            let (model, params, ws) = (self.model, self.params, &mut self.ws);
            let logits = self.team.enter(|| model.next_token_logits(params, ws));
            let last = &logits[(t - 1) * v..t * v];
            // softmax(logits / τ), in f64.
            let tau = self.config.temperature;
            let max = last
                .iter()
                .map(|x| x.to_f64())
                .fold(f64::NEG_INFINITY, f64::max);
            for (p, &z) in self.next.iter_mut().zip(last) {
                *p = ((z.to_f64() - max) / tau).exp();
            }
            self.model.carry(&mut self.ws);
        }
        if let Some(k) = self.config.top_k.filter(|&k| k < v) {
            let next = &self.next;
            self.order
                .sort_unstable_by(|&a, &b| next[b].total_cmp(&next[a]).then(a.cmp(&b)));
            for &i in &self.order[k..] {
                self.next[i] = 0.0;
            }
        }
        let sum: f64 = self.next.iter().sum();
        self.next.iter_mut().for_each(|p| *p /= sum);
    }

    /// Primes the stream with `prime`, or, when it is empty, with a newline (or the vocabulary's
    /// first symbol when it has no newline).
    pub fn start(&mut self, vocab: &Vocab, prime: &[u32]) {
        let newline = [vocab.id('\n').unwrap_or(0)];
        self.feed(if prime.is_empty() { &newline } else { prime });
    }

    /// Starts over from the zero state.
    pub fn reset(&mut self) {
        self.model.reset_state(&mut self.ws);
    }

    /// Subnormal numbers among the numbers its last step read and wrote (see
    /// [`crate::network::Workspace::subnormals`]): `(subnormal, all)`.
    pub fn subnormals(&self) -> (usize, usize) {
        self.ws.subnormals()
    }

    /// The distribution of the next token (after [`Sampler::feed`]).
    pub fn distribution(&self) -> &[f64] {
        &self.next
    }

    /// Draws the next token from the current distribution and feeds it.
    pub fn next_token(&mut self) -> u32 {
        let u: f64 = self.rng.random();
        let mut acc = 0.0;
        let mut pick = 0;
        for (i, &p) in self.next.iter().enumerate() {
            if p > 0.0 {
                pick = i;
                acc += p;
                if u < acc {
                    break;
                }
            }
        }
        self.feed(&[pick as u32]);
        pick as u32
    }
}

/// A language model generating one stream of characters, in the dtype it was saved in (see
/// [`crate::Model::sampler`]).
pub struct TextSampler<'m> {
    inner: ByDtype<Sampler<'m, f32>, Sampler<'m, f64>>,
    vocab: &'m Vocab,
}

impl<'m> TextSampler<'m> {
    pub(crate) fn new(
        inner: ByDtype<Sampler<'m, f32>, Sampler<'m, f64>>,
        vocab: &'m Vocab,
    ) -> Self {
        TextSampler { inner, vocab }
    }

    /// Runs `prime` through the model (a newline when it is empty), leaving the distribution of
    /// the character that follows.
    ///
    /// # Errors
    /// [`Error::Config`] listing the characters of `prime` the vocabulary lacks.
    pub fn start(&mut self, prime: &str) -> Result<()> {
        let tokens = self.vocab.encode(prime).map_err(|missing| {
            Error::config(format!(
                "`prime` holds characters the model's vocabulary lacks: {}",
                show_chars(&missing)
            ))
        })?;
        let vocab = self.vocab;
        by_dtype!(&mut self.inner, s => s.start(vocab, &tokens));
        Ok(())
    }

    /// The distribution the next character will be drawn from, over the vocabulary's order.
    pub fn distribution(&self) -> &[f64] {
        by_dtype!(&self.inner, s => s.distribution())
    }

    /// Draws the next character and feeds it back.
    pub fn next_char(&mut self) -> char {
        let id = by_dtype!(&mut self.inner, s => s.next_token());
        self.vocab.char(id)
    }
}
