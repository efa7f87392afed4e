//! The trainer: mini-batches from shuffled epochs, split across worker threads, gradients reduced
//! in a fixed order, clipped, and applied by the optimizer.
//!
//! Threads: with N threads the batch is cut into N contiguous shards, each worker runs forward and
//! backward on its shard with single-threaded BLAS into its own gradient buffer, and the buffers
//! are summed in worker order. Products of this model's size (100×50 by 50×50) do not speed up by
//! handing them to BLAS threads; shards do. The result depends on N (floating-point sums in another
//! order) but not on timing: the same seed and thread count give bit-identical weights.

use crate::blas::axpy;
use crate::cell::CellKind;
use crate::checkpoint::Checkpoint;
use crate::head::{Readout, argmax};
use crate::mnist::{CLASSES, Split};
use crate::model::{Init, Model, ModelConfig, Workspace};
use crate::optim::{Optimizer, OptimizerKind, Schedule, clip_global_norm};
use crate::real::{Dtype, Real};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

/// Everything that decides a training run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainConfig {
    /// Which recurrent cell.
    pub cell: CellKind,
    /// Hidden units.
    pub hidden: usize,
    /// Readout feeding the classifier.
    pub readout: Readout,
    /// Training iterations (mini-batches).
    pub iters: usize,
    /// Sequences per mini-batch.
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub lr_schedule: Schedule,
    /// Iterations of linear learning-rate warm-up before the schedule.
    pub warmup: usize,
    /// Clip the gradient's global norm to this value.
    pub clip: Option<f64>,
    /// Initialisation scheme.
    pub init: Init,
    /// Start the LSTM forget gate's bias at this value (LSTM only).
    pub forget_bias: Option<f64>,
    /// Seed of every random choice (initialisation, batch order).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Feed raw pixels 0..255 (the seed) instead of 0..1.
    pub raw_pixels: bool,
    /// The number type the run computes in; a [`Trainer<T>`] needs `T::DTYPE` to match.
    pub dtype: Dtype,
}

impl TrainConfig {
    /// The model this configuration trains on sequences of `steps × input`.
    pub fn model_config(&self, steps: usize, input: usize) -> ModelConfig {
        ModelConfig {
            cell: self.cell,
            input,
            steps,
            hidden: self.hidden,
            outputs: input,
            classes: CLASSES,
            readout: self.readout,
        }
    }

    /// The pixel scale this configuration feeds the network.
    pub fn pixel_scale(&self) -> f64 {
        if self.raw_pixels { 1.0 } else { 1.0 / 255.0 }
    }
}

/// Statistics of one training step.
#[derive(Debug, Clone, Copy)]
pub struct StepStats {
    /// Mean cross-entropy of the batch (before the update).
    pub loss: f64,
    /// Correct predictions in the batch (before the update).
    pub correct: usize,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
}

/// Result of evaluating a model on a whole split.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction of correct predictions (0..1).
    pub accuracy: f64,
    /// `confusion[label][predicted]` counts.
    pub confusion: [[usize; CLASSES]; CLASSES],
}

struct Worker<T: Real> {
    ws: Workspace<T>,
    loss: f64,
    correct: usize,
    confusion: [[usize; CLASSES]; CLASSES],
}

/// A model, its parameters, optimizer and all the buffers training needs, computing in `T`.
pub struct Trainer<T: Real = f64> {
    /// The model being trained.
    pub model: Model<T>,
    /// Its parameters (flat; see `Model::specs`).
    pub params: Vec<T>,
    /// The run's configuration.
    pub config: TrainConfig,
    opt: Optimizer<T>,
    workers: Vec<Worker<T>>,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    rng: StdRng,
    order: Vec<usize>,
    pos: usize,
}

/// Half-open range of the batch that worker `i` of `n` takes.
fn shard(b: usize, n: usize, i: usize) -> std::ops::Range<usize> {
    (b * i / n)..(b * (i + 1) / n)
}

/// Runs `f(worker index, worker)` on every worker, in parallel on `pool` when there is one.
/// (`rayon`'s fork-join keeps its jobs on the stack: no allocation per step.)
fn each_worker<T: Real>(
    pool: Option<&rayon::ThreadPool>,
    workers: &mut [Worker<T>],
    f: impl Fn(usize, &mut Worker<T>) + Sync,
) {
    match pool {
        None => f(0, &mut workers[0]),
        Some(pool) => pool.install(|| {
            workers
                .par_iter_mut()
                .enumerate()
                .for_each(|(i, w)| f(i, w))
        }),
    }
}

impl<T: Real> Trainer<T> {
    /// A trainer for `config` on a training split of `train_len` images of `steps × input` pixels.
    ///
    /// # Panics
    /// When `config.dtype` is not `T`'s.
    pub fn new(config: TrainConfig, steps: usize, input: usize, train_len: usize) -> Trainer<T> {
        assert_eq!(
            config.dtype,
            T::DTYPE,
            "a Trainer<{:?}> cannot run a {:?} configuration",
            T::DTYPE,
            config.dtype
        );
        let model = Model::new(config.model_config(steps, input));
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut params = model.init(config.init, &mut rng);
        if let Some(v) = config.forget_bias {
            model.set_forget_bias(&mut params, v);
        }
        let threads = config.threads.max(1);
        let cap = config.batch.div_ceil(threads);
        let workers = (0..threads)
            .map(|_| Worker {
                ws: model.workspace(cap),
                loss: 0.0,
                correct: 0,
                confusion: [[0; CLASSES]; CLASSES],
            })
            .collect();
        // Each worker calls BLAS single-threaded; parallelism comes from the shards.
        crate::blas::set_threads(1);
        let pool = (threads > 1).then(|| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("failed to start the worker threads");
            // Threads start asynchronously and allocate their queues as they do: make sure they
            // all have, so that no step pays for it.
            pool.broadcast(|_| ());
            std::sync::Arc::new(pool)
        });
        let mut order: Vec<usize> = (0..train_len).collect();
        order.shuffle(&mut rng);
        Trainer {
            opt: Optimizer::new(config.optimizer, model.num_params()),
            model,
            params,
            config,
            workers,
            pool,
            rng,
            order,
            pos: 0,
        }
    }

    /// Runs `f` on one of the trainer's worker threads (on this thread when there is no pool).
    /// Steps taken inside fork their shards from a worker thread; steps taken from another thread
    /// enter the pool through its shared queue, which allocates a block every few dozen entries.
    /// Run training loops inside this to keep every step allocation-free.
    pub fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Trainer<T>) -> R + Send) -> R {
        match self.pool.clone() {
            Some(pool) => pool.install(|| f(self)),
            None => f(self),
        }
    }

    /// One training step on the next mini-batch (iteration `iter` of `total`). Allocation-free.
    pub fn step(&mut self, data: &Split, iter: usize, total: usize) -> StepStats {
        let b = self.config.batch;
        if self.pos + b > self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
        }
        let n = self.workers.len();
        let scale = self.config.pixel_scale();
        {
            let batch = &self.order[self.pos..self.pos + b];
            let (model, params) = (&self.model, &self.params);
            let run = |i: usize, w: &mut Worker<T>| {
                let r = shard(b, n, i);
                let len = r.len();
                data.widen(&batch[r], scale, &mut w.ws.x, &mut w.ws.labels);
                w.ws.grad.fill(T::ZERO);
                let (loss, correct) = model.forward(params, &mut w.ws, len);
                model.backward(params, &mut w.ws, len, 1.0 / b as f64);
                (w.loss, w.correct) = (loss, correct);
            };
            each_worker(self.pool.as_deref(), &mut self.workers, run);
        }
        self.pos += b;
        let (first, rest) = self.workers.split_at_mut(1);
        let grad = &mut first[0].ws.grad;
        for w in rest.iter() {
            axpy(1.0, &w.ws.grad, grad);
        }
        let grad_norm = match self.config.clip {
            Some(c) => clip_global_norm(grad, c),
            None => crate::blas::nrm2(grad),
        };
        let lr = self
            .config
            .lr_schedule
            .rate(self.config.lr, iter, total, self.config.warmup);
        self.opt.step(&mut self.params, grad, lr);
        StepStats {
            loss: self.workers.iter().map(|w| w.loss).sum::<f64>() / b as f64,
            correct: self.workers.iter().map(|w| w.correct).sum(),
            grad_norm,
            lr,
        }
    }

    /// Loss, accuracy and confusion matrix of the current parameters on a whole split.
    pub fn evaluate(&mut self, data: &Split) -> Evaluation {
        let n = self.workers.len();
        let chunk = self.workers[0].ws.capacity * n;
        let scale = self.config.pixel_scale();
        for w in &mut self.workers {
            w.confusion = [[0; CLASSES]; CLASSES];
        }
        let (mut loss, mut correct) = (0.0, 0usize);
        let mut start = 0;
        // Indices of one chunk (evaluation allocates this once; training steps allocate nothing).
        let mut idx: Vec<usize> = Vec::with_capacity(chunk);
        while start < data.len() {
            let end = (start + chunk).min(data.len());
            idx.clear();
            idx.extend(start..end);
            let b = end - start;
            let (model, params, idx) = (&self.model, &self.params, &idx);
            let run = |i: usize, w: &mut Worker<T>| {
                let r = shard(b, n, i);
                let len = r.len();
                (w.loss, w.correct) = (0.0, 0);
                if len > 0 {
                    data.widen(&idx[r], scale, &mut w.ws.x, &mut w.ws.labels);
                    (w.loss, w.correct) = model.forward(params, &mut w.ws, len);
                    for (row, &label) in
                        w.ws.probs(len, CLASSES)
                            .chunks_exact(CLASSES)
                            .zip(&w.ws.labels)
                    {
                        w.confusion[label as usize][argmax(row)] += 1;
                    }
                }
            };
            each_worker(self.pool.as_deref(), &mut self.workers, run);
            loss += self.workers.iter().map(|w| w.loss).sum::<f64>();
            correct += self.workers.iter().map(|w| w.correct).sum::<usize>();
            start = end;
        }
        let mut confusion = [[0; CLASSES]; CLASSES];
        for w in &self.workers {
            for (row, wrow) in confusion.iter_mut().zip(&w.confusion) {
                for (c, wc) in row.iter_mut().zip(wrow) {
                    *c += wc;
                }
            }
        }
        Evaluation {
            loss: loss / data.len() as f64,
            accuracy: correct as f64 / data.len() as f64,
            confusion,
        }
    }

    /// The optimizer (to save its state).
    pub fn optimizer(&self) -> &Optimizer<T> {
        &self.opt
    }

    /// Continues from a saved model: its parameters, the optimizer's state when it was saved by
    /// the same kind of optimizer, and a batch order drawn anew from the seed and the iteration.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<(), String> {
        if ckpt.config != self.model.config {
            return Err(format!(
                "the saved model is {:?}, this run builds {:?}",
                ckpt.config, self.model.config
            ));
        }
        crate::real::convert(&ckpt.params, &mut self.params);
        if let Some((kind, steps)) = &ckpt.optimizer
            && kind == self.config.optimizer.name()
        {
            self.opt
                .restore(*steps, |name| {
                    ckpt.optimizer_state.get(name).map(Vec::as_slice)
                })
                .map_err(|name| {
                    format!("optimizer state `{name}` is missing or of the wrong size")
                })?;
        }
        self.rng =
            StdRng::seed_from_u64(self.config.seed ^ (ckpt.iteration as u64).rotate_left(32));
        self.order.shuffle(&mut self.rng);
        self.pos = 0;
        Ok(())
    }
}
