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
use super::eval::{Evaluation, Worker, eval_streams, evaluate_set, evaluate_text, shard};
use super::threads::Crew;
use crate::blas::{FlushScope, axpy};
use crate::checkpoint::Best;
use crate::data::Data;
use crate::data::text::Streams;
use crate::error::{Error, Result};
use crate::network::{Network, NetworkConfig, Task};
use crate::nn::stack::Dropout;
use crate::optim::Optimizer;
use crate::ranks::{Exchange, Ranks};
use crate::real::Real;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

/// Where a training step's time went (wall clock).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTimes {
    /// Forward and backward over the batch's shards, on every thread.
    pub shards: Duration,
    /// The end of the step: the gradients reduced, clipped and applied.
    pub update: Duration,
}

/// A network, its parameters, optimizer and all the buffers training needs, computing in `T`.
pub struct Trainer<T: Real = f64> {
    /// The network being trained.
    pub net: Network<T>,
    /// Its parameters (flat; see `Network::layout`).
    pub params: Vec<T>,
    /// The run's configuration.
    pub config: TrainConfig,
    opt: Optimizer<T>,
    workers: Vec<Worker<T>>,
    /// Workers of text evaluation (which must not touch the training streams' state).
    eval: Vec<Worker<T>>,
    crew: std::sync::Arc<Crew>,
    /// Each thread's sum of squares of its range of the gradient (as `f64` bits).
    sums: Vec<std::sync::atomic::AtomicU64>,
    /// Where the last step's time went.
    times: StepTimes,
    /// The current epoch's order of a labelled set, and which epoch it is.
    order: Vec<usize>,
    order_epoch: Option<usize>,
    /// With a validation part: the parameters of its lowest loss so far (allocated once), and
    /// when that was.
    best: Vec<T>,
    best_at: Option<Best>,
    /// The other processes of a run across several, and the buffers their exchange needs.
    across: Option<Across<T>>,
}

/// A step's exchange with the other ranks (see [`crate::ranks`]), its buffers allocated once.
struct Across<T> {
    ranks: std::sync::Arc<dyn Ranks>,
    /// Every local worker's gradient, cut by destination rank (rank-major, then worker).
    send: Vec<T>,
    /// The pieces of this rank's range from every worker of every rank, in global worker order.
    recv: Vec<T>,
    /// Counts and displacements of `send` and `recv`, and of the ranges `gather` collects.
    send_counts: Vec<i32>,
    send_displs: Vec<i32>,
    recv_counts: Vec<i32>,
    recv_displs: Vec<i32>,
    range_counts: Vec<i32>,
    range_displs: Vec<i32>,
    sum_counts: Vec<i32>,
    sum_displs: Vec<i32>,
    stat_counts: Vec<i32>,
    stat_displs: Vec<i32>,
    /// This rank's threads' sums of squares, and every rank's; each worker's loss and correct
    /// count, and every rank's.
    sums: Vec<f64>,
    all_sums: Vec<f64>,
    stats: Vec<f64>,
    all_stats: Vec<f64>,
}

/// Threads' ranges of the parameter buffer in the reduction and update are multiples of this
/// (4 KiB of `f32`), so that no two threads write one cache line.
const RANGE_ALIGN: usize = 1024;

/// The range of the parameters that rank `r` of `p` (each of `g` workers) reduces and updates:
/// its workers' blocks of `p · g`, as one process of `p · g` threads cuts them.
fn range_of(n: usize, p: usize, g: usize, r: usize) -> std::ops::Range<usize> {
    use crate::blas::team::block;
    block(n, p * g, r * g, RANGE_ALIGN).start..block(n, p * g, r * g + g - 1, RANGE_ALIGN).end
}

/// `b`'s range `r`, or `b` when it is empty (an optimizer without that state).
fn part<T>(b: &mut [T], r: std::ops::Range<usize>) -> &mut [T] {
    if b.is_empty() { b } else { &mut b[r] }
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
    /// A trainer for `config` and a network of shape `model` (see [`TrainConfig::network`]), its
    /// parameters drawn from the seed.
    ///
    /// # Errors
    /// When `config.dtype` is not `T`'s, or the operating system refuses to start the worker
    /// threads.
    pub fn new(config: TrainConfig, model: NetworkConfig) -> Result<Trainer<T>> {
        if config.dtype != T::DTYPE {
            return Err(Error::Dtype {
                expected: T::DTYPE,
                found: config.dtype,
            });
        }
        let net = Network::new(model);
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut params = net.init(config.init, &mut rng);
        if let Some(v) = config.forget_bias {
            net.set_forget_bias(&mut params, v);
        }
        let (groups, team) = config.layout(&net);
        let cap = config.batch.div_ceil(groups);
        let steps = net.config.task.steps().unwrap_or(config.seq_len);
        let workers = (0..groups)
            .map(|_| Worker::new(&net, cap, steps, config.drops()))
            .collect();
        // Each thread calls BLAS single-threaded; parallelism comes from the shards and teams.
        crate::blas::set_threads(1);
        let crew = std::sync::Arc::new(Crew::new(groups, team)?);
        let best = if config.validation > 0.0 {
            vec![T::ZERO; net.num_params()]
        } else {
            Vec::new()
        };
        Ok(Trainer {
            best,
            best_at: None,
            opt: Optimizer::new(config.optimizer, net.num_params()),
            net,
            params,
            config,
            workers,
            eval: Vec::new(),
            sums: (0..groups * team).map(|_| Default::default()).collect(),
            crew,
            order: Vec::new(),
            order_epoch: None,
            times: StepTimes::default(),
            across: None,
        })
    }

    /// Trains as one of `ranks`: this process runs its shards of every batch (shard `rank · G +
    /// i` of `size · G`, G its workers), and the gradient is reduced across the ranks in shard
    /// order, so that every rank holds the same weights after every step, and `size` ranks of
    /// G workers each give the weights of one process of `size · G` workers with one thread
    /// each. Call before the first step.
    pub fn set_ranks(&mut self, ranks: std::sync::Arc<dyn Ranks>) {
        // A resumed language model's streams: all of them, to be dealt out again by rank.
        let text = matches!(self.net.config.task, Task::NextToken);
        let state: Vec<Vec<f64>> = match text {
            true => self
                .stream_state()
                .iter()
                .map(|l| l.iter().map(|v| v.to_f64()).collect())
                .collect(),
            false => Vec::new(),
        };
        let (p, g, n) = (ranks.size(), self.workers.len(), self.params.len());
        let threads = self.sums.len();
        let own = |r: usize| range_of(n, p, g, r);
        let mut a = Across {
            send_counts: (0..p).map(|r| (g * own(r).len()) as i32).collect(),
            recv_counts: vec![(g * own(ranks.rank()).len()) as i32; p],
            range_counts: (0..p).map(|r| own(r).len() as i32).collect(),
            send_displs: vec![0; p],
            recv_displs: vec![0; p],
            range_displs: vec![0; p],
            sum_counts: vec![threads as i32; p],
            sum_displs: (0..p).map(|r| (r * threads) as i32).collect(),
            stat_counts: vec![2 * g as i32; p],
            stat_displs: (0..p).map(|r| (r * 2 * g) as i32).collect(),
            send: vec![T::ZERO; g * n],
            recv: vec![T::ZERO; p * g * own(ranks.rank()).len()],
            sums: vec![0.0; threads],
            all_sums: vec![0.0; p * threads],
            stats: vec![0.0; 2 * g],
            all_stats: vec![0.0; 2 * g * p],
            ranks,
        };
        crate::ranks::displacements(&a.send_counts, &mut a.send_displs);
        crate::ranks::displacements(&a.recv_counts, &mut a.recv_displs);
        crate::ranks::displacements(&a.range_counts, &mut a.range_displs);
        self.across = Some(a);
        if text {
            self.set_stream_state(&state)
                .expect("the streams' state as this trainer gave it");
        }
    }

    /// Across ranks: the optimizer's state gathered from every rank's range, so that this rank
    /// holds all of it (each updates only its own range). Every rank calls it at once, before
    /// a checkpoint. Whether this rank is the one that writes (rank 0, or no ranks).
    pub fn gather_state(&mut self) -> bool {
        let Some(a) = &mut self.across else {
            return true;
        };
        let (p, g, n) = (a.ranks.size(), self.workers.len(), self.params.len());
        let own = range_of(n, p, g, a.ranks.rank());
        let (m, v) = self.opt.buffers_mut();
        for buf in [m, v] {
            if buf.is_empty() {
                continue;
            }
            a.send[..own.len()].copy_from_slice(&buf[own.clone()]);
            T::gather(
                &*a.ranks,
                &a.send[..own.len()],
                buf,
                &a.range_counts,
                &a.range_displs,
            );
        }
        a.ranks.rank() == 0
    }

    /// `v` as rank 0 has it, on every rank (every rank calls it at once); `v` itself alone.
    pub(crate) fn rank_zeros(&self, v: Option<usize>) -> Option<usize> {
        let Some(a) = &self.across else {
            return v;
        };
        let all = crate::ranks::gather_one(&*a.ranks, v.map_or(-1.0, |v| v as f64));
        (all[0] >= 0.0).then_some(all[0] as usize)
    }

    /// The shards of a batch across every rank, and the first of this rank's.
    fn shards(&self) -> (usize, usize) {
        let n = self.workers.len();
        match &self.across {
            Some(a) => (n * a.ranks.size(), n * a.ranks.rank()),
            None => (n, 0),
        }
    }

    /// Runs `f` on one of the trainer's worker threads (on this thread when there is no pool),
    /// with the other threads kept awake between steps (see [`super::threads`]). Steps taken
    /// inside fork their shards from a worker thread; steps taken from another thread enter the
    /// pool through its shared queue, which allocates a block every few dozen entries, and find
    /// the other threads parked. Run training loops inside this.
    /// Subnormals are flushed (or kept, as the configuration says) on every thread until it
    /// returns, and the caller's setting is restored then.
    pub fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Trainer<T>) -> R + Send) -> R {
        let _flush = FlushScope::new(!self.config.keep_subnormals);
        let crew = self.crew.clone();
        crew.keep_awake(|| f(self))
    }

    /// Subnormal numbers among the parameters and every worker's buffers (see
    /// [`crate::network::Workspace::subnormals`]): `(subnormal, all)`.
    pub fn subnormals(&self) -> (usize, usize) {
        let single = T::DTYPE == crate::real::Dtype::F32;
        let params = self.params.iter();
        let sub = params
            .filter(|v| crate::blas::flush::is_subnormal(v.to_f64(), single))
            .count();
        self.workers
            .iter()
            .map(|w| w.ws.subnormals())
            .fold((sub, self.params.len()), |(s, a), (ws, wa)| {
                (s + ws, a + wa)
            })
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
    ///
    /// # Panics
    /// When `data` is not what the network reads ([`Trainer::fits`] says so without panicking).
    pub fn step(&mut self, data: Data, iter: usize) -> StepStats {
        let _flush = FlushScope::new(!self.config.keep_subnormals);
        let start = Instant::now();
        let b = self.config.batch;
        let per_epoch = self.iters_per_epoch(data).max(1);
        let (n, first) = self.shards();
        let dropout = self.config.drops().then(|| Dropout {
            p: self.config.dropout,
            top: self.config.output_dropout,
            key: mix(self.config.seed ^ 0x5eed_d80b, iter as u64),
            first: 0,
        });
        if let Data::Labelled(set) = data {
            self.ensure_order(set.len(), iter / per_epoch);
        }
        let model = &self.net;
        let params = &self.params;
        let count = match data {
            Data::Labelled(set) => {
                // The epoch's last batch holds what is left (every sequence is seen once).
                let j = iter % per_epoch;
                let batch = &self.order[j * b..((j + 1) * b).min(set.len())];
                let b = batch.len();
                // What the loss is averaged over: the sequences, or (a class at every step) the
                // steps that are not padding.
                let count = match model.config.task {
                    Task::Tag { .. } => batch.iter().map(|&i| set.len_of(i)).sum(),
                    _ => b,
                };
                self.crew.each(&mut self.workers, |i, w| {
                    let r = shard(b, n, first + i);
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
                    set.load_batch(&mut w.idx, &mut w.ws.batch);
                    (w.loss, w.correct) = model.forward(params, &mut w.ws, dropout);
                    model.backward(params, &mut w.ws, 1.0 / count as f64);
                });
                count
            }
            Data::Text(tokens) => {
                let s = self.config.seq_len;
                let streams = Streams::new(tokens, b);
                let k = iter % per_epoch;
                self.crew.each(&mut self.workers, |i, w| {
                    let r = shard(b, n, first + i);
                    let dropout = dropout.map(|d| Dropout {
                        first: r.start,
                        ..d
                    });
                    if k == 0 {
                        model.reset_state(&mut w.ws);
                    }
                    streams.load_chunk(r, k * s, s, &mut w.ws.batch);
                    w.ws.grad.fill(T::ZERO);
                    (w.loss, w.correct) = model.forward(params, &mut w.ws, dropout);
                    model.backward(params, &mut w.ws, 1.0 / (b * s) as f64);
                    model.carry(&mut w.ws);
                });
                b * s
            }
        };
        let lr = self.config.lr_schedule.rate(
            self.config.lr,
            iter,
            self.config.iters,
            self.config.warmup,
        );
        let shards = start.elapsed();
        let (grad_norm, loss, correct) = match self.across.take() {
            Some(mut a) => {
                let got = self.reduce_across(&mut a, lr);
                self.across = Some(a);
                got
            }
            None => (
                self.reduce_and_update(lr),
                self.workers.iter().map(|w| w.loss).sum::<f64>(),
                self.workers.iter().map(|w| w.correct).sum(),
            ),
        };
        self.times = StepTimes {
            shards,
            update: start.elapsed() - shards,
        };
        StepStats {
            loss: loss / count as f64,
            correct,
            count,
            grad_norm,
            lr,
        }
    }

    /// [`Trainer::reduce_and_update`] across ranks: this rank's range of the gradient summed
    /// from every worker of every rank in global worker order, the norm from every thread's
    /// sum of squares in rank and thread order, the update of this rank's range, the ranges
    /// gathered back. Returns the norm, and the loss and correct count summed over every
    /// worker in order.
    fn reduce_across(&mut self, a: &mut Across<T>, lr: f64) -> (f64, f64, usize) {
        let (p, g, n) = (a.ranks.size(), self.workers.len(), self.params.len());
        let own = range_of(n, p, g, a.ranks.rank());
        // Each worker's piece for rank r, back to back: rank-major, then worker.
        let mut at = 0;
        for r in 0..p {
            let piece = range_of(n, p, g, r);
            for w in &self.workers {
                a.send[at..at + piece.len()].copy_from_slice(&w.ws.grad[piece.clone()]);
                at += piece.len();
            }
        }
        let ranks = &*a.ranks;
        T::exchange(
            ranks,
            &a.send,
            &a.send_counts,
            &a.send_displs,
            &mut a.recv,
            &a.recv_counts,
            &a.recv_displs,
        );
        // Summed in worker 0's buffer, in the order one process of p·g workers sums them.
        let m = own.len();
        let grad = &mut self.workers[0].ws.grad[own.clone()];
        let recv = &a.recv;
        self.crew.for_ranges(m, RANGE_ALIGN, [grad], |k, r, [gr]| {
            gr.copy_from_slice(&recv[r.clone()]);
            for piece in recv.chunks_exact(m).skip(1) {
                axpy(1.0, &piece[r.clone()], gr);
            }
            let sq: f64 = gr.iter().map(|&x| x.to_f64() * x.to_f64()).sum();
            self.sums[k].store(sq.to_bits(), Ordering::Relaxed);
        });
        for (s, t) in a.sums.iter_mut().zip(&self.sums) {
            *s = f64::from_bits(t.load(Ordering::Relaxed));
        }
        for (i, w) in self.workers.iter().enumerate() {
            (a.stats[2 * i], a.stats[2 * i + 1]) = (w.loss, w.correct as f64);
        }
        let (sc, sd) = (&a.sum_counts, &a.sum_displs);
        f64::gather(ranks, &a.sums, &mut a.all_sums, sc, sd);
        let norm = a.all_sums.iter().sum::<f64>().sqrt();
        let (sc, sd) = (&a.stat_counts, &a.stat_displs);
        f64::gather(ranks, &a.stats, &mut a.all_stats, sc, sd);
        let loss = a.all_stats.iter().step_by(2).sum::<f64>();
        let correct = a
            .all_stats
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| c as usize)
            .sum();
        let scale = match self.config.clip {
            Some(c) if norm > c && norm.is_finite() => c / norm,
            _ => 1.0,
        };
        let (update, mo, v) = self.opt.begin(lr, scale);
        let grad = &mut self.workers[0].ws.grad[own.clone()];
        let bufs = [
            &mut self.params[own.clone()],
            grad,
            part(mo, own.clone()),
            part(v, own.clone()),
        ];
        self.crew
            .for_ranges(m, RANGE_ALIGN, bufs, |_, _, [p, g, m, v]| {
                update.apply(p, g, m, v)
            });
        a.send[..m].copy_from_slice(&self.params[own]);
        T::gather(
            ranks,
            &a.send[..m],
            &mut self.params,
            &a.range_counts,
            &a.range_displs,
        );
        (norm, loss, correct)
    }

    /// The end of a step, on every thread: the workers' gradients summed into worker 0's, in
    /// worker order; the global norm from each thread's sum of squares over its range, combined
    /// in thread order; the clip; the update. Each thread owns a fixed range of the parameters
    /// (a reduce-scatter), so the results depend on the thread count, never on timing. Returns
    /// the norm before clipping.
    fn reduce_and_update(&mut self, lr: f64) -> f64 {
        let (first, rest) = self.workers.split_at_mut(1);
        let grad = &mut first[0].ws.grad[..];
        let n = grad.len();
        let sums = &self.sums;
        self.crew.for_ranges(n, RANGE_ALIGN, [grad], |k, r, [g]| {
            for w in rest.iter() {
                axpy(1.0, &w.ws.grad[r.clone()], g);
            }
            let sq: f64 = g.iter().map(|&x| x.to_f64() * x.to_f64()).sum();
            sums[k].store(sq.to_bits(), Ordering::Relaxed);
        });
        let norm = sums
            .iter()
            .map(|s| f64::from_bits(s.load(Ordering::Relaxed)))
            .sum::<f64>()
            .sqrt();
        let scale = match self.config.clip {
            Some(c) if norm > c && norm.is_finite() => c / norm,
            _ => 1.0,
        };
        let (update, m, v) = self.opt.begin(lr, scale);
        let bufs = [&mut self.params[..], grad, m, v];
        self.crew
            .for_ranges(n, RANGE_ALIGN, bufs, |_, _, [p, g, m, v]| {
                update.apply(p, g, m, v)
            });
        norm
    }

    /// Loss and accuracy of the current parameters on the whole of `data` (and the confusion
    /// matrix of a labelled set); panics as [`Trainer::step`] does. Text is read in [`super::eval::EVAL_STREAMS`] streams, each
    /// carrying its state from its first character to its last, in chunks of the training length.
    pub fn evaluate(&mut self, data: Data) -> Evaluation {
        let crew = &*self.crew;
        match data {
            Data::Labelled(set) => evaluate_set(
                &self.net,
                &self.params,
                crew,
                &mut self.workers,
                set,
                &set.norm,
            ),
            Data::Text(tokens) => {
                if self.eval.is_empty() {
                    let n = self.workers.len();
                    let s = self.config.seq_len;
                    let cap = eval_streams(tokens.len(), s).div_ceil(n);
                    self.eval = (0..n)
                        .map(|_| Worker::new(&self.net, cap, s, false))
                        .collect();
                }
                evaluate_text(&self.net, &self.params, crew, &mut self.eval, tokens)
            }
        }
    }

    /// Keeps the current parameters as the best when `loss` (on the validation part, after
    /// `iteration` iterations) is below the best so far; an equal loss keeps the earlier ones,
    /// and a loss that is not a finite number is never the best. Allocation-free (nothing is
    /// kept when the run has no validation part).
    pub fn consider(&mut self, loss: f64, iteration: usize) {
        if self.best.len() == self.params.len()
            && loss.is_finite()
            && self.best_at.is_none_or(|b| loss < b.loss)
        {
            self.best.copy_from_slice(&self.params);
            self.best_at = Some(Best { iteration, loss });
        }
    }

    /// The parameters of the validation part's lowest loss so far, and when that was.
    pub fn best(&self) -> Option<(Best, &[T])> {
        self.best_at.map(|b| (b, &self.best[..]))
    }

    /// Sets the best so far (a resumed run's), converting `params` to `T`.
    pub(crate) fn set_best(&mut self, best: Best, params: &[f64]) {
        self.best.resize(self.params.len(), T::ZERO);
        crate::real::convert(params, &mut self.best);
        self.best_at = Some(best);
    }

    /// [`Trainer::evaluate`] of the kept parameters: the best on the validation part when
    /// there is one, else the current ones.
    pub fn evaluate_kept(&mut self, data: Data) -> Evaluation {
        if self.best_at.is_none() {
            return self.evaluate(data);
        }
        std::mem::swap(&mut self.params, &mut self.best);
        let e = self.evaluate(data);
        std::mem::swap(&mut self.params, &mut self.best);
        e
    }

    /// Where the last step's time went.
    pub fn last_step_times(&self) -> StepTimes {
        self.times
    }

    /// Replaces the threads with `crew` (its groups must be those of the trainer's workers).
    pub(crate) fn set_crew(&mut self, crew: Crew) {
        assert_eq!(crew.groups(), self.workers.len(), "one shard per worker");
        self.sums = (0..crew.groups() * crew.team())
            .map(|_| Default::default())
            .collect();
        self.crew = std::sync::Arc::new(crew);
    }

    /// The threads' teams' meetings so far (see [`crate::blas::Team::meetings`]).
    pub fn meetings(&self) -> usize {
        self.crew.meetings()
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
        let b = self.config.batch;
        let (n, first) = self.shards();
        let sl = self.net.stack().state_len();
        (0..self.net.stack().depth())
            .map(|l| {
                let mut out = Vec::with_capacity(b * sl);
                for (i, w) in self.workers.iter().enumerate() {
                    let r = shard(b, n, first + i);
                    out.extend_from_slice(&self.net.state(&w.ws, l)[..r.len() * sl]);
                }
                match &self.across {
                    Some(a) => {
                        // Every rank's streams, in stream order.
                        let g = self.workers.len();
                        let (p, rank) = (a.ranks.size(), a.ranks.rank());
                        let streams =
                            |r: usize| shard(b, n, r * g).start..shard(b, n, r * g + g - 1).end;
                        let counts: Vec<i32> =
                            (0..p).map(|r| (streams(r).len() * sl) as i32).collect();
                        let mut displs = vec![0; p];
                        crate::ranks::displacements(&counts, &mut displs);
                        debug_assert_eq!(out.len(), counts[rank] as usize);
                        let mut all = vec![T::ZERO; b * sl];
                        T::gather(&*a.ranks, &out, &mut all, &counts, &displs);
                        all
                    }
                    None => out,
                }
            })
            .collect()
    }

    /// Restores the streams' carried state saved by [`Trainer::stream_state`] (values as `f64`).
    ///
    /// # Errors
    /// [`Error::Shape`] when there is not one state per layer of `batch` streams.
    pub fn set_stream_state(&mut self, state: &[Vec<f64>]) -> Result<()> {
        let b = self.config.batch;
        let (n, first) = self.shards();
        let sl = self.net.stack().state_len();
        if state.len() != self.net.stack().depth() || state.iter().any(|s| s.len() != b * sl) {
            return Err(Error::shape(format!(
                "the streams' state is not {} layers of `batch` {b} streams",
                self.net.stack().depth()
            )));
        }
        for (i, w) in self.workers.iter_mut().enumerate() {
            let r = shard(b, n, first + i);
            for (l, s) in state.iter().enumerate() {
                let mut buf = self.net.state(&w.ws, l).to_vec();
                crate::real::convert(&s[r.start * sl..r.end * sl], &mut buf[..r.len() * sl]);
                self.net.set_state(&mut w.ws, l, &buf);
            }
        }
        Ok(())
    }

    /// Whether `data` is what this trainer's network reads: a labelled set of its numbers a step
    /// and classes (and, for the seed readout, its length), or a text of its vocabulary.
    ///
    /// # Errors
    /// [`Error::Task`] or [`Error::Shape`] saying what does not fit.
    pub fn fits(&self, data: Data) -> Result<()> {
        self.net.fits(data)
    }
}
