//! The trainer: one step (a mini-batch split across worker threads, gradients reduced in a fixed
//! order, clipped, applied by the optimizer) and the evaluation of a whole data set, for both
//! kinds of data.
//!
//! Which batch comes when is a pure function of the seed and the iteration, so that a run resumed
//! at any iteration continues exactly as the uninterrupted one:
//! - a labelled set: epoch e is a shuffle of the set drawn from (seed, e), cut into ⌈N / B⌉
//!   batches (the last holds what is left); iteration i takes batch `i mod ⌈N / B⌉` of epoch
//!   `i / ⌈N / B⌉`;
//! - text: B streams; iteration i takes chunk `i mod chunks` of every stream, and the state the
//!   streams carry is reset when a new pass (epoch) begins.
//!
//! Threads: with N threads the batch is cut into N contiguous shards; each worker runs forward and
//! backward on its shard with single-threaded BLAS into its own gradient buffer (and, for text,
//! keeps its streams' state), and the buffers are summed in worker order. The result depends on N
//! (floating-point sums in another order) but not on timing: the same seed and thread count give
//! bit-identical weights.

use super::TrainConfig;
use super::threads::{ThreadsError, each};
use crate::blas::axpy;
use crate::data::SeqSet;
use crate::data::text::Streams;
use crate::model::{Model, ModelConfig, Task, Workspace};
use crate::nn::head::argmax;
use crate::nn::stack::Dropout;
use crate::optim::{Optimizer, clip_global_norm};
use crate::real::Real;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// What a trainer trains on or evaluates.
#[derive(Clone, Copy)]
pub enum Data<'a> {
    /// A labelled set of sequences: batches from a fresh shuffle every epoch.
    Labelled(&'a SeqSet),
    /// A token sequence: B streams, chunk after chunk, the state carried.
    Text(&'a [u32]),
}

/// Streams a text is evaluated in (each carries its state from its first position to its last),
/// as many as PyTorch's peer script uses.
pub const EVAL_STREAMS: usize = 16;

/// Statistics of one training step (before the update).
#[derive(Debug, Clone, Copy)]
pub struct StepStats {
    /// Mean cross-entropy per prediction.
    pub loss: f64,
    /// Correct predictions.
    pub correct: usize,
    /// Predictions: sequences, or characters for text.
    pub count: usize,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
}

/// Result of evaluating a model on a whole data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy per prediction (nats; per character for text).
    pub loss: f64,
    /// Fraction of correct predictions (0..1).
    pub accuracy: f64,
    /// Predictions made.
    pub count: usize,
    /// `confusion[label · K + predicted]` counts (classification; empty for text).
    pub confusion: Vec<usize>,
}

impl Evaluation {
    /// Bits per character (or per prediction): the loss in base 2.
    pub fn bits(&self) -> f64 {
        self.loss / std::f64::consts::LN_2
    }
}

struct Worker<T: Real> {
    ws: Workspace<T>,
    /// Indices of this worker's shard (reordered by the loader).
    idx: Vec<usize>,
    loss: f64,
    correct: usize,
    count: usize,
    confusion: Vec<usize>,
}

/// A model, its parameters, optimizer and all the buffers training needs, computing in `T`.
pub struct Trainer<T: Real = f64> {
    /// The model being trained.
    pub model: Model<T>,
    /// Its parameters (flat; see `Model::layout`).
    pub params: Vec<T>,
    /// The run's configuration.
    pub config: TrainConfig,
    opt: Optimizer<T>,
    workers: Vec<Worker<T>>,
    /// Workspaces of text evaluation (which must not touch the training streams' state).
    eval: Vec<Workspace<T>>,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// The current epoch's order of a labelled set, and which epoch it is.
    order: Vec<usize>,
    order_epoch: Option<usize>,
}

/// Half-open range of the batch that worker `i` of `n` takes.
fn shard(b: usize, n: usize, i: usize) -> std::ops::Range<usize> {
    (b * i / n)..(b * (i + 1) / n)
}

/// A 64-bit mix of two numbers (SplitMix64's finaliser): seeds of per-epoch and per-iteration
/// random streams.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<T: Real> Trainer<T> {
    /// A trainer for `config` and a model of shape `model` (see [`TrainConfig::classifier`] and
    /// [`TrainConfig::language_model`]), its parameters drawn from the seed.
    ///
    /// # Errors
    /// When the operating system refuses to start the worker threads.
    ///
    /// # Panics
    /// When `config.dtype` is not `T`'s.
    pub fn new(config: TrainConfig, model: ModelConfig) -> Result<Trainer<T>, ThreadsError> {
        assert_eq!(
            config.dtype,
            T::DTYPE,
            "a Trainer<{:?}> cannot run a {:?} configuration",
            T::DTYPE,
            config.dtype
        );
        let model = Model::new(model);
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut params = model.init(config.init, &mut rng);
        if let Some(v) = config.forget_bias {
            model.set_forget_bias(&mut params, v);
        }
        let threads = config.threads.max(1);
        let cap = config.batch.div_ceil(threads);
        let steps = match model.config.task {
            Task::Classify { steps, .. } => steps,
            Task::NextToken => config.seq_len,
        };
        let confusion = match model.config.task {
            Task::Classify { classes, .. } => classes * classes,
            Task::NextToken => 0,
        };
        let workers = (0..threads)
            .map(|_| Worker {
                ws: model.workspace(cap, steps, config.dropout > 0.0),
                idx: Vec::with_capacity(cap),
                loss: 0.0,
                correct: 0,
                count: 0,
                confusion: vec![0; confusion],
            })
            .collect();
        // Each worker calls BLAS single-threaded; parallelism comes from the shards.
        crate::blas::set_threads(1);
        let pool = match threads {
            1 => None,
            n => Some(std::sync::Arc::new(super::threads::pool(n)?)),
        };
        Ok(Trainer {
            opt: Optimizer::new(config.optimizer, model.num_params()),
            model,
            params,
            config,
            workers,
            eval: Vec::new(),
            pool,
            order: Vec::new(),
            order_epoch: None,
        })
    }

    /// Runs `f` on one of the trainer's worker threads (on this thread when there is no pool),
    /// with the other threads kept awake between steps (see [`super::threads`]). Steps taken
    /// inside fork their shards from a worker thread; steps taken from another thread enter the
    /// pool through its shared queue, which allocates a block every few dozen entries, and find
    /// the other threads parked. Run training loops inside this.
    pub fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Trainer<T>) -> R + Send) -> R {
        match self.pool.clone() {
            Some(pool) => super::threads::keep_awake(&pool, || f(self)),
            None => f(self),
        }
    }

    /// Iterations in one pass over `data`.
    pub fn iters_per_epoch(&self, data: Data) -> usize {
        match data {
            Data::Labelled(set) => set.len().div_ceil(self.config.batch),
            Data::Text(tokens) => {
                Streams::new(tokens, self.config.batch).chunks(self.config.seq_len)
            }
        }
    }

    /// Puts epoch `epoch`'s shuffle of `n` sequences in `order` (drawn afresh from the seed and
    /// the epoch, so any epoch can be reached directly). Allocation-free once sized.
    fn ensure_order(&mut self, n: usize, epoch: usize) {
        if self.order_epoch == Some(epoch) && self.order.len() == n {
            return;
        }
        self.order.clear();
        self.order.extend(0..n);
        let mut rng = StdRng::seed_from_u64(mix(self.config.seed, epoch as u64));
        self.order.shuffle(&mut rng);
        self.order_epoch = Some(epoch);
    }

    /// One training step, iteration `iter` of the run (0-based), on `data`. Allocation-free.
    pub fn step(&mut self, data: Data, iter: usize) -> StepStats {
        let b = self.config.batch;
        let per_epoch = self.iters_per_epoch(data).max(1);
        let n = self.workers.len();
        let dropout = (self.config.dropout > 0.0).then(|| Dropout {
            p: self.config.dropout,
            key: mix(self.config.seed ^ 0x5eed_d80b, iter as u64),
            first: 0,
        });
        if let Data::Labelled(set) = data {
            self.ensure_order(set.len(), iter / per_epoch);
        }
        let model = &self.model;
        let params = &self.params;
        let count = match data {
            Data::Labelled(set) => {
                // The epoch's last batch holds what is left (every sequence is seen once).
                let j = iter % per_epoch;
                let batch = &self.order[j * b..((j + 1) * b).min(set.len())];
                let b = batch.len();
                each(self.pool.as_deref(), &mut self.workers, |i, w| {
                    let r = shard(b, n, i);
                    w.ws.grad.fill(T::ZERO);
                    (w.loss, w.correct) = (0.0, 0);
                    if r.is_empty() {
                        return;
                    }
                    let dropout = dropout.map(|d| Dropout {
                        first: r.start,
                        ..d
                    });
                    w.idx.clear();
                    w.idx.extend_from_slice(&batch[r]);
                    set.load_batch(&mut w.idx, &mut w.ws);
                    (w.loss, w.correct) = model.forward(params, &mut w.ws, dropout);
                    model.backward(params, &mut w.ws, 1.0 / b as f64);
                });
                b
            }
            Data::Text(tokens) => {
                let s = self.config.seq_len;
                let streams = Streams::new(tokens, b);
                let k = iter % per_epoch;
                each(self.pool.as_deref(), &mut self.workers, |i, w| {
                    let r = shard(b, n, i);
                    let dropout = dropout.map(|d| Dropout {
                        first: r.start,
                        ..d
                    });
                    if k == 0 {
                        model.reset_state(&mut w.ws);
                    }
                    streams.load_chunk(r, k * s, s, &mut w.ws);
                    w.ws.grad.fill(T::ZERO);
                    (w.loss, w.correct) = model.forward(params, &mut w.ws, dropout);
                    model.backward(params, &mut w.ws, 1.0 / (b * s) as f64);
                    model.carry(&mut w.ws);
                });
                b * s
            }
        };
        let (first, rest) = self.workers.split_at_mut(1);
        let grad = &mut first[0].ws.grad;
        for w in rest.iter() {
            axpy(1.0, &w.ws.grad, grad);
        }
        let grad_norm = match self.config.clip {
            Some(c) => clip_global_norm(grad, c),
            None => crate::blas::nrm2(grad),
        };
        let lr = self.config.lr_schedule.rate(
            self.config.lr,
            iter,
            self.config.iters,
            self.config.warmup,
        );
        self.opt.step(&mut self.params, grad, lr);
        StepStats {
            loss: self.workers.iter().map(|w| w.loss).sum::<f64>() / count as f64,
            correct: self.workers.iter().map(|w| w.correct).sum(),
            count,
            grad_norm,
            lr,
        }
    }

    /// Loss and accuracy of the current parameters on the whole of `data` (and the confusion
    /// matrix of a labelled set). Text is read in [`EVAL_STREAMS`] streams, each carrying its
    /// state from its first character to its last, in chunks of the training length.
    pub fn evaluate(&mut self, data: Data) -> Evaluation {
        match data {
            Data::Labelled(set) => self.evaluate_set(set),
            Data::Text(tokens) => self.evaluate_text(tokens),
        }
    }

    fn evaluate_set(&mut self, set: &SeqSet) -> Evaluation {
        let n = self.workers.len();
        let k = self.model.head().outputs();
        let chunk = self.workers[0].ws.capacity * n;
        let (model, params) = (&self.model, &self.params);
        for w in &mut self.workers {
            w.confusion.fill(0);
            (w.loss, w.correct, w.count) = (0.0, 0, 0);
        }
        let mut start = 0;
        while start < set.len() {
            let end = (start + chunk).min(set.len());
            let b = end - start;
            each(self.pool.as_deref(), &mut self.workers, |i, w| {
                let r = shard(b, n, i);
                if r.is_empty() {
                    return;
                }
                w.idx.clear();
                w.idx.extend(r.start + start..r.end + start);
                set.load_batch(&mut w.idx, &mut w.ws);
                let (loss, correct) = model.forward(params, &mut w.ws, None);
                (w.loss, w.correct, w.count) =
                    (w.loss + loss, w.correct + correct, w.count + r.len());
                for (row, &label) in w.ws.probs(r.len(), k).chunks_exact(k).zip(&w.ws.targets) {
                    w.confusion[label as usize * k + argmax(row)] += 1;
                }
            });
            start = end;
        }
        let mut confusion = vec![0; k * k];
        for w in &self.workers {
            for (c, wc) in confusion.iter_mut().zip(&w.confusion) {
                *c += wc;
            }
        }
        self.summary(confusion)
    }

    fn evaluate_text(&mut self, tokens: &[u32]) -> Evaluation {
        let n = self.workers.len();
        let s = self.config.seq_len;
        let e = EVAL_STREAMS.min(tokens.len().saturating_sub(1) / s).max(1);
        let streams = Streams::new(tokens, e);
        if self.eval.is_empty() {
            let cap = e.div_ceil(n);
            self.eval = (0..n)
                .map(|_| self.model.workspace(cap, s, false))
                .collect();
        }
        let (model, params) = (&self.model, &self.params);
        for w in &mut self.workers {
            (w.loss, w.correct, w.count) = (0.0, 0, 0);
        }
        let mut pairs: Vec<(&mut Worker<T>, &mut Workspace<T>)> =
            self.workers.iter_mut().zip(self.eval.iter_mut()).collect();
        each(self.pool.as_deref(), &mut pairs, |i, (w, ws)| {
            let r = shard(e, n, i);
            if r.is_empty() {
                return;
            }
            model.reset_state(ws);
            let mut at = 0;
            while at < streams.positions() {
                let len = s.min(streams.positions() - at);
                streams.load_chunk(r.clone(), at, len, ws);
                let (loss, correct) = model.forward(params, ws, None);
                model.carry(ws);
                (w.loss, w.correct, w.count) =
                    (w.loss + loss, w.correct + correct, w.count + r.len() * len);
                at += len;
            }
        });
        self.summary(Vec::new())
    }

    /// The workers' sums as an evaluation.
    fn summary(&self, confusion: Vec<usize>) -> Evaluation {
        let loss: f64 = self.workers.iter().map(|w| w.loss).sum();
        let correct: usize = self.workers.iter().map(|w| w.correct).sum();
        let count: usize = self.workers.iter().map(|w| w.count).sum();
        Evaluation {
            loss: loss / count.max(1) as f64,
            accuracy: correct as f64 / count.max(1) as f64,
            count,
            confusion,
        }
    }

    /// The optimizer (to save its state).
    pub fn optimizer(&self) -> &Optimizer<T> {
        &self.opt
    }

    /// The optimizer, to restore a saved state.
    pub fn optimizer_mut(&mut self) -> &mut Optimizer<T> {
        &mut self.opt
    }

    /// The state every text stream carries into its next chunk, per layer `[B][state_len]`
    /// (gathered from the workers in stream order).
    pub fn stream_state(&self) -> Vec<Vec<T>> {
        let (b, n) = (self.config.batch, self.workers.len());
        let sl = self.model.stack().state_len();
        (0..self.model.stack().depth())
            .map(|l| {
                let mut out = Vec::with_capacity(b * sl);
                for (i, w) in self.workers.iter().enumerate() {
                    let r = shard(b, n, i);
                    out.extend_from_slice(&self.model.state(&w.ws, l)[..r.len() * sl]);
                }
                out
            })
            .collect()
    }

    /// Restores the streams' carried state saved by [`Trainer::stream_state`] (values as `f64`).
    ///
    /// # Panics
    /// When the shapes differ.
    pub fn set_stream_state(&mut self, state: &[Vec<f64>]) {
        let (b, n) = (self.config.batch, self.workers.len());
        let sl = self.model.stack().state_len();
        assert_eq!(
            state.len(),
            self.model.stack().depth(),
            "one state per layer"
        );
        for (i, w) in self.workers.iter_mut().enumerate() {
            let r = shard(b, n, i);
            for (l, s) in state.iter().enumerate() {
                assert_eq!(s.len(), b * sl, "state of layer {l}");
                let mut buf = self.model.state(&w.ws, l).to_vec();
                crate::real::convert(&s[r.start * sl..r.end * sl], &mut buf[..r.len() * sl]);
                self.model.set_state(&mut w.ws, l, &buf);
            }
        }
    }
}
