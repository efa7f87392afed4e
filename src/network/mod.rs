//! A network: the input (dense rows, or one-hot tokens), the cell stack, and a head, over one
//! flat parameter buffer; and its per-batch workspace.
//!
//! Buffer layout: the stack's tensors (layer 0 first), then the head's (the seed readout's output
//! layer, then the classifier; or the next-token layer), each a named view ([`Network::layout`]).
//! Gradients and optimizer state use the same layout. Every per-batch buffer lives in a
//! [`Workspace`] sized once for the largest batch and the longest sequence.

mod task;
mod workspace;

pub use task::{NetworkConfig, Task};
pub use workspace::Workspace;

use crate::data::{Batch, Data};
use crate::error::{Error, Result};
use crate::nn::cell::{Input, Seqs};
use crate::nn::head::{Answer, Head, HeadBuffers, HeadInput, SeqHead, StepHead};
use crate::nn::params::{Layout, ParamSpec, Role};
use crate::nn::stack::{Dropout, Stack, StackBuffers};
use crate::real::Real;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// How the parameters start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PyTorch's defaults: every tensor uniform in ±1/√fan_in of its layer.
    Uniform,
    /// The seed's: weights normal(0, 0.1) truncated at 2σ, cell and output biases 0.1, the
    /// classifier zero.
    Seed,
    /// Each gate's block of every `weight_hh` a random orthogonal matrix (Saxe et al., 2014;
    /// Keras's recurrent default), everything else as [`Init::Uniform`].
    Orthogonal,
}

crate::choice::choice!(Init { Uniform => "uniform", Seed => "seed", Orthogonal => "orthogonal" });

/// A recurrent network: input, stack and head, and where each parameter sits in the flat buffer;
/// its parameters, gradients and activations are of type `T` (`f64` or `f32`).
pub struct Network<T: Real = f64> {
    /// The shape it was built with.
    pub config: NetworkConfig,
    stack: Stack<T>,
    head: Head,
    layout: Layout,
}

impl<T: Real> Network<T> {
    /// Builds the network described by `config`.
    pub fn new(config: NetworkConfig) -> Network<T> {
        let one_hot = config.task == Task::NextToken;
        let stack = Stack::new(
            config.cell,
            config.width(),
            one_hot,
            config.hidden,
            config.layers,
            config.bidirectional,
        );
        let (h, dirs) = (config.hidden, stack.directions());
        let sequence = |readout, t, o, k, answer| {
            Head::Sequence(SeqHead {
                readout,
                h,
                dirs,
                t,
                o,
                k,
                answer,
            })
        };
        let head = match config.task {
            Task::Classify {
                readout,
                steps,
                outputs,
                classes,
            } => sequence(readout, steps, outputs, classes, Answer::Class),
            Task::Regress {
                readout,
                steps,
                outputs,
                targets,
                loss,
            } => sequence(readout, steps, outputs, targets, Answer::Values(loss)),
            Task::Tag { classes, .. } => Head::Steps(StepHead {
                h: stack.width(),
                k: classes,
                masked: true,
            }),
            Task::NextToken => Head::Steps(StepHead {
                h,
                k: config.input,
                masked: false,
            }),
        };
        let mut specs = stack.params().to_vec();
        specs.extend(head.params());
        Network {
            config,
            stack,
            head,
            layout: Layout::new(specs),
        }
    }

    /// Where each named tensor sits in the flat buffer.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The named parameter tensors, in buffer order.
    pub fn specs(&self) -> &[ParamSpec] {
        self.layout.specs()
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.layout.len()
    }

    /// The slice of `params` (or of a gradient) holding the tensor called `name`.
    pub fn view<'a>(&self, params: &'a [T], name: &str) -> Option<&'a [T]> {
        Some(&params[self.layout.range(name)?])
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The cell stack.
    pub fn stack(&self) -> &Stack<T> {
        &self.stack
    }

    /// Exact floating-point operations of (`forward`, `backward`) on `b` sequences of `t` steps
    /// (starting from a carried state when `carried`): every product, row sum and scaling the
    /// stack and the head ask BLAS for (2mnk a product). Elementwise work (nonlinearities,
    /// softmax, one-hot gathers, the optimizer) is not counted.
    pub fn flops(&self, b: usize, t: usize, carried: bool) -> (u64, u64) {
        let active = vec![b; t];
        let ones = [T::ONE];
        let s = Seqs {
            x: Input::Tokens(&[]),
            b,
            t,
            active: &active,
            start: &[],
            carried,
            ones: &ones,
        };
        let (sf, sb) = self.stack.flops(&s);
        let (hf, hb) = self.head.flops(&s);
        (sf + hf, sb + hb)
    }

    /// Sets the LSTM forget gate's bias of every layer (nothing for other cells).
    pub fn set_forget_bias(&self, params: &mut [T], value: f64) {
        let n = self.stack.num_params();
        self.stack.set_forget_bias(&mut params[..n], value);
    }

    /// Fresh parameters drawn with `init` (drawn in `f64`, then rounded to `T`: the same seed
    /// starts an `f32` model at the rounded weights of the `f64` one).
    pub fn init(&self, init: Init, rng: &mut impl Rng) -> Vec<T> {
        let mut p = vec![0.0; self.num_params()];
        let normal = Normal::new(0.0, 0.1).expect("valid normal");
        for (spec, range) in self.layout.iter() {
            let dst = &mut p[range];
            match init {
                Init::Orthogonal if spec.role == Role::Recurrent => {
                    let h = spec.shape[1];
                    dst.chunks_exact_mut(h * h)
                        .for_each(|block| orthogonal(block, h, rng));
                }
                Init::Uniform | Init::Orthogonal => {
                    let a = 1.0 / (spec.fan_in as f64).sqrt();
                    let u = Uniform::new_inclusive(-a, a).expect("valid bound");
                    dst.iter_mut().for_each(|v| *v = u.sample(rng));
                }
                Init::Seed => match spec.role {
                    Role::Weight | Role::Recurrent => dst.iter_mut().for_each(|v| {
                        // normal(0, 0.1) redrawn until within 2σ, as the original.
                        *v = loop {
                            let z: f64 = normal.sample(rng);
                            if z.abs() <= 0.2 {
                                break z;
                            }
                        }
                    }),
                    Role::Bias => dst.fill(0.1),
                    Role::ClassifierWeight | Role::ClassifierBias => dst.fill(0.0),
                },
            }
        }
        p.into_iter().map(T::from_f64).collect()
    }

    /// Buffers for batches of up to `capacity` sequences of up to `max_steps` steps, with room for
    /// dropout masks when `dropout`.
    pub fn workspace(&self, capacity: usize, max_steps: usize, dropout: bool) -> Workspace<T> {
        let mut ws = self.forward_workspace(capacity, max_steps, dropout);
        ws.grad = vec![T::ZERO; self.num_params()];
        ws
    }

    /// As [`Network::workspace`], for forward passes alone (predicting, sampling, streaming): no
    /// room for a gradient, which [`Network::backward`] needs.
    pub fn forward_workspace(
        &self,
        capacity: usize,
        max_steps: usize,
        dropout: bool,
    ) -> Workspace<T> {
        let (b, t, c) = (capacity, max_steps, &self.config);
        let w = c.width();
        let (dense, tokens, targets, values) = match c.task {
            Task::Classify { .. } => (b * t * w, 0, b, 0),
            Task::Regress { targets, .. } => (b * t * w, 0, b, b * targets),
            Task::Tag { .. } => (b * t * w, 0, b * t, 0),
            Task::NextToken => (0, b * t, b * t, 0),
        };
        Workspace {
            batch: Batch::new(b, t, c.patch, [dense, tokens, targets, values]),
            grad: Vec::new(),
            carried: false,
            stack: self.stack.buffers(b, t, dropout),
            head: self.head.buffers(b, t),
            ones: vec![T::ONE; b * t],
        }
    }

    /// The current batch of `ws` as the stack sees it, and the buffers the passes write.
    fn parts<'a>(&self, ws: &'a mut Workspace<T>) -> Parts<'a, T> {
        let Workspace {
            batch,
            grad,
            carried,
            stack,
            head,
            ones,
        } = ws;
        let (b, t) = (batch.len(), batch.steps());
        assert!(b > 0, "a pass before Batch::begin");
        let x = match self.config.task {
            Task::NextToken => Input::Tokens(&batch.tokens[..b * t]),
            _ => Input::Dense(&batch.x[..b * t * self.config.width()]),
        };
        let (targets, values) = (&batch.targets, &batch.values);
        Parts {
            s: Seqs {
                x,
                b,
                t,
                active: batch.active(),
                start: &[],
                carried: *carried,
                ones,
            },
            targets,
            values,
            grad,
            stack,
            head,
        }
    }

    /// Forward over the batch declared in `ws` (with dropout between layers when given). Returns
    /// the summed loss and how many answers were right (of `b` sequences, or of the steps); the
    /// probabilities (or predicted values) are left in the workspace.
    pub fn forward(
        &self,
        params: &[T],
        ws: &mut Workspace<T>,
        dropout: Option<Dropout>,
    ) -> (f64, usize) {
        let (pc, ph) = params.split_at(self.stack.num_params());
        let Parts {
            s,
            targets,
            values,
            stack,
            head,
            ..
        } = self.parts(ws);
        self.stack.forward(pc, &s, stack, dropout);
        let st = self.stack.top_states(stack, s.b, s.t);
        let x = HeadInput {
            p: ph,
            s: &s,
            st,
            targets,
            values,
        };
        self.head.forward(&x, head)
    }

    /// Backward after `forward` on the same batch: accumulates the gradient of `scale × summed
    /// loss` into `ws.grad`.
    pub fn backward(&self, params: &[T], ws: &mut Workspace<T>, scale: f64) {
        assert_eq!(
            ws.grad.len(),
            self.num_params(),
            "backward on a workspace made by forward_workspace"
        );
        let n = self.stack.num_params();
        let (pc, ph) = params.split_at(n);
        let Parts {
            s,
            targets,
            values,
            grad,
            stack,
            head,
        } = self.parts(ws);
        let (gc, gh) = grad.split_at_mut(n);
        {
            let (st, g_top) = self.stack.top_states_and_grad(stack, s.b, s.t);
            let x = HeadInput {
                p: ph,
                s: &s,
                st,
                targets,
                values,
            };
            self.head.backward(&x, scale, head, gh, g_top);
        }
        self.stack.backward(pc, &s, stack, gc);
    }

    /// The next-token logits `[b·t][V]` of a language model over the batch in `ws` (no softmax,
    /// no loss): what sampling draws from.
    ///
    /// # Panics
    /// When the model is not a language model.
    pub fn next_token_logits<'a>(&self, params: &[T], ws: &'a mut Workspace<T>) -> &'a [T] {
        let (Task::NextToken, Head::Steps(head)) = (self.config.task, self.head) else {
            panic!("next-token logits of a model that is not a language model")
        };
        let (pc, ph) = params.split_at(self.stack.num_params());
        let Parts {
            s, stack, head: hb, ..
        } = self.parts(ws);
        self.stack.forward(pc, &s, stack, None);
        let st = self.stack.top_states(stack, s.b, s.t);
        head.logits(ph, st, s.rows(), hb);
        let hb: &'a HeadBuffers<T> = hb;
        hb.probs(s.rows(), head.k)
    }

    /// Runs the stack alone over the batch in `ws` (no head, no dropout): the top layer's states
    /// `[b][t][H]`, for a caller that reads them one step at a time (streaming prediction).
    pub fn stack_states<'a>(&self, params: &[T], ws: &'a mut Workspace<T>) -> &'a [T] {
        let pc = &params[..self.stack.num_params()];
        let Parts { s, stack, .. } = self.parts(ws);
        self.stack.forward(pc, &s, stack, None);
        let stack: &'a StackBuffers<T> = stack;
        self.stack.top_states(stack, s.b, s.t)
    }

    /// The head's slice of `params`.
    pub fn head_params<'a>(&self, params: &'a [T]) -> &'a [T] {
        &params[self.stack.num_params()..]
    }

    /// Whether `data` is what this network reads with the workspaces it builds: see
    /// [`NetworkConfig::fitted`]; sequences longer than its `steps` do not fit either.
    ///
    /// # Errors
    /// [`Error::Task`] or [`Error::Shape`] saying what does not fit.
    pub fn fits(&self, data: Data) -> Result<()> {
        let fitted = self.config.fitted(data)?;
        if fitted != self.config {
            let (Task::Classify { steps: want, .. }, Task::Classify { steps: has, .. }) =
                (fitted.task, self.config.task)
            else {
                unreachable!("fitting changes a classifier's steps only")
            };
            return Err(Error::shape(format!(
                "sequences of up to {want} steps, longer than the {has} this network was built for"
            )));
        }
        Ok(())
    }

    /// Makes the state after this batch's last step the start of the next batch (text streams:
    /// the next chunk of each stream). Call after `backward`, or after `forward` when there is
    /// none.
    pub fn carry(&self, ws: &mut Workspace<T>) {
        let Parts { s, stack, .. } = self.parts(ws);
        self.stack.carry(&s, stack);
        ws.carried = true;
    }

    /// Starts the next batch from zeros.
    pub fn reset_state(&self, ws: &mut Workspace<T>) {
        self.stack.reset(&mut ws.stack);
        ws.carried = false;
    }

    /// Layer `l`'s start state, `[capacity][state_len]` (h, then c for the LSTM).
    pub fn state<'a>(&self, ws: &'a Workspace<T>, l: usize) -> &'a [T] {
        self.stack.start(&ws.stack, l)
    }

    /// Sets layer `l`'s start state (a saved one) and marks the state as carried.
    pub fn set_state(&self, ws: &mut Workspace<T>, l: usize, state: &[T]) {
        self.stack
            .start_mut(&mut ws.stack, l)
            .copy_from_slice(state);
        ws.carried = true;
    }
}

/// A workspace split into what a pass reads and what it writes.
struct Parts<'a, T> {
    s: Seqs<'a, T>,
    targets: &'a [u32],
    values: &'a [T],
    grad: &'a mut [T],
    stack: &'a mut StackBuffers<T>,
    head: &'a mut HeadBuffers<T>,
}

/// Fills the row-major `n`×`n` `block` with a random orthogonal matrix: the rows of a standard
/// normal matrix made orthonormal by modified Gram–Schmidt (the Q of its QR decomposition, up
/// to the rows' signs, which are as random as the draw).
fn orthogonal(block: &mut [f64], n: usize, rng: &mut impl Rng) {
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    block.iter_mut().for_each(|v| *v = normal.sample(rng));
    for i in 0..n {
        let (done, rest) = block.split_at_mut(i * n);
        let row = &mut rest[..n];
        for prev in done.chunks_exact(n) {
            let d: f64 = prev.iter().zip(row.iter()).map(|(a, b)| a * b).sum();
            row.iter_mut().zip(prev).for_each(|(r, p)| *r -= d * p);
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
}
