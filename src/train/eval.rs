//! Evaluation of a network's parameters on a whole data part, split across worker threads: the
//! same code for a trainer's evaluations during a run and for a saved model's.
//!
//! A labelled set is read in chunks of every worker's capacity, each worker taking its shard; a
//! text in [`EVAL_STREAMS`] streams, each carrying its state from its first position to its
//! last. Sums are taken in worker order: the result depends on the thread count (rounding only)
//! but not on timing.

use super::threads::Crew;
use crate::data::text::Streams;
use crate::data::{Norm, SeqSet};
use crate::metrics::{Sums, ValueErrors};
use crate::network::{Network, Task, Workspace};
use crate::nn::head::argmax;
use crate::real::Real;

/// Streams a text is evaluated in (each carries its state from its first position to its last),
/// as many as PyTorch's peer script uses.
pub const EVAL_STREAMS: usize = 16;

/// Result of evaluating a model on a whole data part.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean loss per prediction: cross-entropy in nats (per character for text, per step for
    /// tags), or a regression's loss on standardised targets.
    pub loss: f64,
    /// Fraction of correct predictions (0..1): sequences, steps or characters (0 for a
    /// regression).
    pub accuracy: f64,
    /// Predictions made: sequences, steps or characters.
    pub count: usize,
    /// `confusion[label · K + predicted]` counts (classes of sequences or of steps; empty
    /// otherwise).
    pub confusion: Vec<usize>,
    /// A class at every step: the fraction of sequences whose every step is right.
    pub sequence_accuracy: Option<f64>,
    /// A regression: its errors on the targets' own scale.
    pub values: Option<ValueErrors>,
}

impl Evaluation {
    /// Bits per character (or per prediction): the loss in base 2.
    pub fn bits(&self) -> f64 {
        self.loss / std::f64::consts::LN_2
    }
}

/// One worker's workspace, the indices of its shard, and its running sums.
pub(crate) struct Worker<T: Real> {
    pub ws: Workspace<T>,
    /// Indices of this worker's shard (reordered by the loader).
    pub idx: Vec<usize>,
    pub loss: f64,
    pub correct: usize,
    pub count: usize,
    pub confusion: Vec<usize>,
    /// Sequences whose every step is right (tags).
    pub whole: usize,
    /// A regression's sums, and its predictions and targets of one batch on their own scale.
    pub sums: Sums,
    pred: Vec<f64>,
    actual: Vec<f64>,
}

impl<T: Real> Worker<T> {
    /// A worker for batches of up to `cap` sequences of up to `steps` steps of `net`.
    pub fn new(net: &Network<T>, cap: usize, steps: usize, dropout: bool) -> Worker<T> {
        let (confusion, k) = match net.config.task {
            Task::Classify { classes, .. } | Task::Tag { classes, .. } => (classes * classes, 0),
            Task::Regress { targets, .. } => (0, targets),
            Task::NextToken => (0, 0),
        };
        Worker {
            ws: net.workspace(cap, steps, dropout),
            idx: Vec::with_capacity(cap),
            loss: 0.0,
            correct: 0,
            count: 0,
            confusion: vec![0; confusion],
            whole: 0,
            sums: Sums::new(k),
            pred: vec![0.0; cap * k],
            actual: vec![0.0; cap * k],
        }
    }

    fn clear(&mut self) {
        self.confusion.fill(0);
        (self.loss, self.correct, self.count, self.whole) = (0.0, 0, 0, 0);
        self.sums.clear();
    }

    /// Adds the batch just evaluated, of the sequences `idx` of `set`, to the sums of `task`.
    fn tally(&mut self, task: Task, set: &SeqSet) {
        let b = self.idx.len();
        match task {
            Task::Classify { classes: k, .. } => {
                let probs = self.ws.probs(b, k);
                for (row, &label) in probs.chunks_exact(k).zip(&self.ws.batch.targets) {
                    self.confusion[label as usize * k + argmax(row)] += 1;
                }
                self.count += b;
            }
            Task::Tag { classes: k, .. } => {
                let t = self.ws.batch.steps();
                let probs = self.ws.probs(b * t, k);
                for seq in 0..b {
                    let len = self.ws.batch.lens[seq];
                    let mut all = true;
                    for step in seq * t..seq * t + len {
                        let (label, guess) = (
                            self.ws.batch.targets[step] as usize,
                            argmax(&probs[step * k..(step + 1) * k]),
                        );
                        self.confusion[label * k + guess] += 1;
                        all &= label == guess;
                    }
                    self.whole += usize::from(all);
                    self.count += len;
                }
            }
            Task::Regress { targets: k, .. } => {
                let crate::data::Targets::Values { norm, .. } = &set.targets else {
                    unreachable!("a regression set has values as targets")
                };
                let (pred, actual) = (&mut self.pred[..b * k], &mut self.actual[..b * k]);
                let scaled = self
                    .ws
                    .probs(b, k)
                    .iter()
                    .zip(&self.ws.batch.values[..b * k]);
                for (j, ((p, a), (&ps, &ys))) in pred
                    .iter_mut()
                    .zip(actual.iter_mut())
                    .zip(scaled)
                    .enumerate()
                {
                    let (shift, scale) = (norm.shift[j % k], norm.scale[j % k]);
                    *p = ps.to_f64() / scale + shift;
                    *a = ys.to_f64() / scale + shift;
                }
                self.sums.add(pred, actual, &norm.shift);
                self.count += b;
            }
            Task::NextToken => unreachable!("text is evaluated in streams"),
        }
    }
}

/// Half-open range of the batch of `b` that worker `i` of `n` takes.
pub(crate) fn shard(b: usize, n: usize, i: usize) -> std::ops::Range<usize> {
    (b * i / n)..(b * (i + 1) / n)
}

/// Loss, accuracy and confusion matrix (or a regression's errors) of `params` on every sequence
/// of `set`, its values normalised by `norm`.
pub(crate) fn evaluate_set<T: Real>(
    net: &Network<T>,
    params: &[T],
    crew: &Crew,
    workers: &mut [Worker<T>],
    set: &SeqSet,
    norm: &Norm,
) -> Evaluation {
    let n = workers.len();
    let chunk = workers[0].ws.batch.capacity * n;
    workers.iter_mut().for_each(Worker::clear);
    let mut start = 0;
    while start < set.len() {
        let end = (start + chunk).min(set.len());
        let b = end - start;
        crew.each(workers, |i, w| {
            let r = shard(b, n, i);
            if r.is_empty() {
                return;
            }
            w.idx.clear();
            w.idx.extend(r.start + start..r.end + start);
            set.load_batch_with(&mut w.idx, norm, &mut w.ws.batch);
            let (loss, correct) = net.forward(params, &mut w.ws, None);
            (w.loss, w.correct) = (w.loss + loss, w.correct + correct);
            w.tally(net.config.task, set);
        });
        start = end;
    }
    let mut confusion = vec![0; workers[0].confusion.len()];
    let mut sums = workers[0].sums.clone();
    sums.clear();
    for w in workers.iter() {
        for (c, wc) in confusion.iter_mut().zip(&w.confusion) {
            *c += wc;
        }
        sums.merge(&w.sums);
    }
    let mut e = summary(workers, confusion);
    match net.config.task {
        Task::Tag { .. } => {
            let whole: usize = workers.iter().map(|w| w.whole).sum();
            e.sequence_accuracy = Some(whole as f64 / set.len().max(1) as f64);
        }
        Task::Regress { .. } => {
            e.values = Some(sums.errors());
            e.accuracy = 0.0;
        }
        _ => {}
    }
    e
}

/// Mean next-token loss and accuracy of `params` on `tokens`, read in [`EVAL_STREAMS`] streams
/// (split across the workers) in chunks of at most `seq_len` (the workers' capacity in steps).
pub(crate) fn evaluate_text<T: Real>(
    net: &Network<T>,
    params: &[T],
    crew: &Crew,
    workers: &mut [Worker<T>],
    tokens: &[u32],
) -> Evaluation {
    let n = workers.len();
    let s = workers[0].ws.batch.max_steps;
    let e = eval_streams(tokens.len(), s);
    let streams = Streams::new(tokens, e);
    workers.iter_mut().for_each(Worker::clear);
    crew.each(workers, |i, w| {
        let r = shard(e, n, i);
        if r.is_empty() {
            return;
        }
        net.reset_state(&mut w.ws);
        let mut at = 0;
        while at < streams.positions() {
            let len = s.min(streams.positions() - at);
            streams.load_chunk(r.clone(), at, len, &mut w.ws.batch);
            let (loss, correct) = net.forward(params, &mut w.ws, None);
            net.carry(&mut w.ws);
            (w.loss, w.correct, w.count) =
                (w.loss + loss, w.correct + correct, w.count + r.len() * len);
            at += len;
        }
    });
    summary(workers, Vec::new())
}

/// The streams a text of `len` tokens is evaluated in, with chunks of `seq_len`: [`EVAL_STREAMS`],
/// fewer for a text shorter than that many chunks, at least 1.
pub(crate) fn eval_streams(len: usize, seq_len: usize) -> usize {
    EVAL_STREAMS
        .min(len.saturating_sub(1) / seq_len.max(1))
        .max(1)
}

/// The workers' sums as an evaluation.
fn summary<T: Real>(workers: &[Worker<T>], confusion: Vec<usize>) -> Evaluation {
    let loss: f64 = workers.iter().map(|w| w.loss).sum();
    let correct: usize = workers.iter().map(|w| w.correct).sum();
    let count: usize = workers.iter().map(|w| w.count).sum();
    Evaluation {
        loss: loss / count.max(1) as f64,
        accuracy: correct as f64 / count.max(1) as f64,
        count,
        confusion,
        sequence_accuracy: None,
        values: None,
    }
}
