//! Text generation from a language model: one stream, its state carried from character to
//! character; the next character drawn from `softmax(logits / temperature)`, optionally among the
//! `top_k` most likely only, with a seeded generator (the same seed gives the same text).

use crate::data::text::Vocab;
use crate::model::{Model, Task, Workspace};
use crate::real::Real;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How the next character is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleConfig {
    /// Divides the logits: below 1 sharper, above 1 flatter (must be finite and > 0).
    pub temperature: f64,
    /// Draw only among the k most likely characters.
    pub top_k: Option<usize>,
    /// Seed of the draws.
    pub seed: u64,
}

/// A language model generating one stream of text.
pub struct Sampler<'a, T: Real> {
    model: &'a Model<T>,
    params: &'a [T],
    ws: Workspace<T>,
    config: SampleConfig,
    rng: StdRng,
    /// The distribution of the next token (probabilities, in f64).
    next: Vec<f64>,
    /// Token indices, for the top-k selection.
    order: Vec<usize>,
}

impl<'a, T: Real> Sampler<'a, T> {
    /// A sampler for a language model (its parameters `params`), priming in chunks of up to
    /// `chunk` characters.
    ///
    /// # Panics
    /// When `model` is not a language model.
    pub fn new(model: &'a Model<T>, params: &'a [T], config: SampleConfig, chunk: usize) -> Self {
        assert!(
            model.config.task == Task::NextToken,
            "sampling needs a language model"
        );
        let v = model.config.input;
        Sampler {
            model,
            params,
            ws: model.workspace(1, chunk.max(1), false),
            config,
            rng: StdRng::seed_from_u64(config.seed),
            next: vec![0.0; v],
            order: (0..v).collect(),
        }
    }

    /// Runs `tokens` through the model from its current state (zeros at first), leaving the
    /// state after the last one and the distribution of the token that follows it.
    pub fn feed(&mut self, tokens: &[u32]) {
        let v = self.model.config.input;
        for part in tokens.chunks(self.ws.max_steps) {
            let t = part.len();
            self.ws.tokens[..t].copy_from_slice(part);
            self.ws.targets[..t].fill(0);
            self.ws.begin_full(1, t);
            let logits = self.model.next_token_logits(self.params, &mut self.ws);
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
