//! A model: a recurrent cell, then the classifier head, over one flat parameter buffer.
//!
//! Buffer layout: the cell's tensors, then the head's (output layer for the seed readout, then the
//! classifier), each a named view (`Model::specs`, `Model::view`). Gradients use the same layout.
//! All per-batch buffers live in a [`Workspace`] sized once for the largest batch.

use crate::cell::{self, Cell, CellKind, ParamSpec, Role};
use crate::head::{Head, HeadBuffers, Readout};
use crate::real::Real;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// The shape of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Which recurrent cell.
    pub cell: CellKind,
    /// Inputs per step, D (28 for MNIST rows).
    pub input: usize,
    /// Steps per sequence, T (28 for MNIST).
    pub steps: usize,
    /// Hidden units, H.
    pub hidden: usize,
    /// Outputs per step of the seed readout, O (the seed uses O = D).
    pub outputs: usize,
    /// Classes, K.
    pub classes: usize,
    /// Which numbers feed the classifier.
    pub readout: Readout,
}

/// How the parameters start.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PyTorch's defaults: every tensor uniform in ±1/√fan_in of its layer.
    Uniform,
    /// The seed's: weights normal(0, 0.1) truncated at 2σ, cell and output biases 0.1, the
    /// classifier zero.
    Seed,
}

/// A recurrent classifier: cell + head, and where each parameter sits in the flat buffer; its
/// parameters, gradients and activations are of type `T` (`f64` or `f32`).
pub struct Model<T: Real = f64> {
    /// The shape it was built with.
    pub config: ModelConfig,
    cell: Box<dyn Cell<T>>,
    head: Head,
    specs: Vec<ParamSpec>,
    offsets: Vec<usize>,
    n_cell: usize,
    n_params: usize,
}

/// Every buffer one batch needs, allocated once for batches of up to `capacity` sequences.
pub struct Workspace<T: Real = f64> {
    /// Largest batch this workspace holds.
    pub capacity: usize,
    /// Inputs `[B][T][D]`.
    pub x: Vec<T>,
    /// Labels `[B]`.
    pub labels: Vec<u8>,
    /// Parameter gradients, laid out like the parameters (accumulated by `backward`).
    pub grad: Vec<T>,
    cache: Vec<T>,
    scratch: Vec<T>,
    y: Vec<T>,
    probs: Vec<T>,
    g_y: Vec<T>,
    g_logits: Vec<T>,
    g_h: Vec<T>,
    ones: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// Class probabilities `[b][K]` of the last `forward`.
    pub fn probs(&self, b: usize, k: usize) -> &[T] {
        &self.probs[..b * k]
    }
}

impl<T: Real> Model<T> {
    /// Builds the model described by `config`.
    pub fn new(config: ModelConfig) -> Model<T> {
        let cell = cell::build(config.cell, config.input, config.hidden);
        let head = Head {
            readout: config.readout,
            h: config.hidden,
            t: config.steps,
            o: config.outputs,
            k: config.classes,
        };
        let mut specs = cell.params();
        let n_cell = specs.iter().map(ParamSpec::len).sum();
        specs.extend(head.params());
        let mut offsets = Vec::with_capacity(specs.len());
        let mut n = 0;
        for s in &specs {
            offsets.push(n);
            n += s.len();
        }
        Model {
            config,
            cell,
            head,
            specs,
            offsets,
            n_cell,
            n_params: n,
        }
    }

    /// The named parameter tensors, in buffer order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.n_params
    }

    /// Where the tensor called `name` sits in the flat buffer.
    pub fn view_range(&self, name: &str) -> Option<std::ops::Range<usize>> {
        let i = self.specs.iter().position(|s| s.name == name)?;
        Some(self.offsets[i]..self.offsets[i] + self.specs[i].len())
    }

    /// The slice of `params` (or of a gradient) holding the tensor called `name`.
    pub fn view<'a>(&self, params: &'a [T], name: &str) -> Option<&'a [T]> {
        Some(&params[self.view_range(name)?])
    }

    /// Offset of each tensor in the buffer, in `specs` order.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Exact floating-point operations of (`forward`, `backward`) on a batch of `b` sequences:
    /// every product, row sum and scaling the cell and the head ask BLAS for (2mnk a product).
    /// Elementwise work (tanh, softmax, the optimizer) is not counted.
    pub fn flops(&self, b: usize) -> (u64, u64) {
        let (cf, cb) = self.cell.flops(b, self.config.steps);
        let (hf, hb) = self.head.flops(b);
        (cf + hf, cb + hb)
    }

    /// Sets the LSTM forget gate's bias (nothing for other cells).
    pub fn set_forget_bias(&self, params: &mut [T], value: f64) {
        self.cell.set_forget_bias(&mut params[..self.n_cell], value);
    }

    /// Fresh parameters drawn with `init` (drawn in `f64`, then rounded to `T`: the same seed
    /// starts an `f32` model at the rounded weights of the `f64` one).
    pub fn init(&self, init: Init, rng: &mut impl Rng) -> Vec<T> {
        let mut p = vec![0.0; self.n_params];
        let normal = Normal::new(0.0, 0.1).expect("valid normal");
        for (spec, &off) in self.specs.iter().zip(&self.offsets) {
            let dst = &mut p[off..off + spec.len()];
            match init {
                Init::Uniform => {
                    let a = 1.0 / (spec.fan_in as f64).sqrt();
                    let u = Uniform::new_inclusive(-a, a).expect("valid bound");
                    dst.iter_mut().for_each(|v| *v = u.sample(rng));
                }
                Init::Seed => match spec.role {
                    Role::Weight => dst.iter_mut().for_each(|v| {
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

    /// Buffers for batches of up to `capacity` sequences.
    pub fn workspace(&self, capacity: usize) -> Workspace<T> {
        let c = &self.config;
        let (b, t) = (capacity, c.steps);
        let outputs = if c.readout == Readout::Seq {
            b * t * c.outputs
        } else {
            0
        };
        Workspace {
            capacity,
            x: vec![T::ZERO; b * t * c.input],
            labels: vec![0; b],
            grad: vec![T::ZERO; self.n_params],
            cache: vec![T::ZERO; self.cell.cache_len(b, t)],
            scratch: vec![T::ZERO; self.cell.scratch_len(b, t)],
            y: vec![T::ZERO; outputs],
            probs: vec![T::ZERO; b * c.classes],
            g_y: vec![T::ZERO; outputs],
            g_logits: vec![T::ZERO; b * c.classes],
            g_h: vec![T::ZERO; b * t * c.hidden],
            ones: vec![T::ONE; b * t],
        }
    }

    fn head_buffers<'a>(
        y: &'a mut [T],
        probs: &'a mut [T],
        g_y: &'a mut [T],
        g_logits: &'a mut [T],
    ) -> HeadBuffers<'a, T> {
        HeadBuffers {
            y,
            probs,
            g_y,
            g_logits,
        }
    }

    /// Forward over the first `b` sequences in `ws.x`. Returns the summed cross-entropy and the
    /// number of correct predictions; probabilities are left in the workspace.
    pub fn forward(&self, params: &[T], ws: &mut Workspace<T>, b: usize) -> (f64, usize) {
        assert!(
            b >= 1 && b <= ws.capacity,
            "batch {b} outside 1..={}",
            ws.capacity
        );
        let t = self.config.steps;
        let (pc, ph) = params.split_at(self.n_cell);
        self.cell.forward(pc, &ws.x, b, t, &mut ws.cache);
        let s = self.cell.states(&ws.cache, b, t);
        let mut hb = Self::head_buffers(&mut ws.y, &mut ws.probs, &mut ws.g_y, &mut ws.g_logits);
        self.head.forward(ph, s, &ws.labels, b, &mut hb)
    }

    /// Backward after `forward` on the same `b` sequences: accumulates the gradient of
    /// `scale × summed cross-entropy` into `ws.grad`.
    pub fn backward(&self, params: &[T], ws: &mut Workspace<T>, b: usize, scale: f64) {
        let t = self.config.steps;
        let (pc, ph) = params.split_at(self.n_cell);
        let (gc, gh) = ws.grad.split_at_mut(self.n_cell);
        let s = self.cell.states(&ws.cache, b, t);
        let mut hb = Self::head_buffers(&mut ws.y, &mut ws.probs, &mut ws.g_y, &mut ws.g_logits);
        self.head.backward(
            ph,
            s,
            &ws.labels,
            b,
            scale,
            &mut hb,
            &ws.ones,
            gh,
            &mut ws.g_h,
        );
        self.cell.backward(
            pc,
            &ws.x,
            b,
            t,
            &mut ws.cache,
            &mut ws.g_h,
            &mut ws.scratch,
            &ws.ones,
            gc,
        );
    }
}
