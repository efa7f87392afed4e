//! The original 2016 program's algorithm, replayed step by step (`blasrnn train --algo reference`).
//!
//! One image at a time, raw 0..255 pixels, plain SGD at lr 0.01 with the weights updated in place
//! *during* backpropagation, and ten full BPTT passes per image — one per class, each driven by
//! that class's row of the classifier. Same parameter layout (U, W, b, V, c, Θ, β; the seed
//! readout) and the same BLAS wrapper as the engine: every product is a dgemm (n = 1 for
//! matrix-vector, k = 1 for outer products), every vector add a daxpy.
//!
//! Shapes: x (T×D), states s (T×H), outputs o (T·O), probabilities p (K).

use crate::activation::tanh_in_place;
use crate::blas::{Op, axpy, gemm, scal};
use crate::data::SeqSet;
use crate::data::mnist::CLASSES;
use crate::network::{Init, Network, NetworkConfig, Task};
use crate::nn::cell::CellKind;
use crate::nn::head::{Readout, softmax_xent};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Images per iteration, as the original.
pub const IMAGES_PER_ITER: usize = 100;

/// The original's model and its per-image buffers.
pub struct Reference {
    /// The parameter layout (a tanh cell with the seed readout).
    pub model: Network,
    /// U, W, b, V, c, Θ, β in `model`'s flat layout.
    pub params: Vec<f64>,
    /// Learning rate (0.01 in the original).
    pub lr: f64,
    rng: StdRng,
    x: Vec<f64>,
    s: Vec<f64>,
    o: Vec<f64>,
    p: Vec<f64>,
    g: Vec<f64>,
    e: Vec<f64>,
    f: Vec<f64>,
    theta_row: Vec<f64>,
}

/// Mutable views (U, W, b, V, c, Θ, β) of the flat buffer.
struct Views<'a> {
    u: &'a mut [f64],
    w: &'a mut [f64],
    b: &'a mut [f64],
    v: &'a mut [f64],
    c: &'a mut [f64],
    theta: &'a mut [f64],
    beta: &'a mut [f64],
}

impl Reference {
    /// The original's model with `hidden` units for images of `steps × input` pixels; weights
    /// normal(0, 0.1) truncated at 2σ, b and c 0.1, Θ and β zero, all from `seed`.
    pub fn new(hidden: usize, steps: usize, input: usize, lr: f64, seed: u64) -> Reference {
        let model = Network::new(NetworkConfig {
            patch: 1,
            bidirectional: false,
            cell: CellKind::Tanh,
            input,
            hidden,
            layers: 1,
            task: Task::Classify {
                readout: Readout::Seq,
                steps,
                outputs: input,
                classes: CLASSES,
            },
        });
        let mut rng = StdRng::seed_from_u64(seed);
        let params = model.init(Init::Seed, &mut rng);
        let (t, d, h, o) = (steps, input, hidden, input);
        Reference {
            model,
            params,
            lr,
            rng,
            x: vec![0.0; t * d],
            s: vec![0.0; t * h],
            o: vec![0.0; t * o],
            p: vec![0.0; CLASSES],
            g: vec![0.0; t * o],
            e: vec![0.0; h],
            f: vec![0.0; h],
            theta_row: vec![0.0; t * o],
        }
    }

    fn dims(&self) -> (usize, usize, usize, usize) {
        let c = &self.model.config;
        let Task::Classify { steps, outputs, .. } = c.task else {
            unreachable!("the reference is a classifier")
        };
        (steps, c.input, c.hidden, outputs)
    }

    fn views(p: &mut [f64], t: usize, d: usize, h: usize, o: usize) -> Views<'_> {
        let (u, rest) = p.split_at_mut(h * d);
        let (w, rest) = rest.split_at_mut(h * h);
        let (b, rest) = rest.split_at_mut(h);
        let (v, rest) = rest.split_at_mut(o * h);
        let (c, rest) = rest.split_at_mut(o);
        let (theta, beta) = rest.split_at_mut(CLASSES * t * o);
        Views {
            u,
            w,
            b,
            v,
            c,
            theta,
            beta,
        }
    }

    /// Forward pass of one image (raw pixels): fills s, o and p; returns whether the most likely
    /// class is `label`.
    pub fn forward(&mut self, image: &[u8], label: u32) -> bool {
        let (t, d, h, o) = self.dims();
        for (x, &px) in self.x.iter_mut().zip(image) {
            *x = f64::from(px);
        }
        let m = Self::views(&mut self.params, t, d, h, o);
        for step in 0..t {
            let (before, rest) = self.s.split_at_mut(step * h);
            let s_t = &mut rest[..h];
            let x_t = &self.x[step * d..(step + 1) * d];
            // s_t = tanh(U x_t + W s_{t-1} + b)
            s_t.copy_from_slice(m.b);
            gemm(Op::N, Op::N, h, 1, d, 1.0, m.u, d, x_t, 1, 1.0, s_t, 1);
            if step > 0 {
                let s_prev = &before[(step - 1) * h..];
                gemm(Op::N, Op::N, h, 1, h, 1.0, m.w, h, s_prev, 1, 1.0, s_t, 1);
            }
            tanh_in_place(s_t);
            // o_t = V s_t + c
            let o_t = &mut self.o[step * o..(step + 1) * o];
            o_t.copy_from_slice(m.c);
            gemm(Op::N, Op::N, o, 1, h, 1.0, m.v, h, s_t, 1, 1.0, o_t, 1);
        }
        // p = softmax(Θ o + β)
        let f = t * o;
        self.p.copy_from_slice(m.beta);
        gemm(
            Op::N,
            Op::N,
            CLASSES,
            1,
            f,
            1.0,
            m.theta,
            f,
            &self.o,
            1,
            1.0,
            &mut self.p,
            1,
        );
        softmax_xent(&mut self.p, &[label], CLASSES).1 == 1
    }

    /// Class probabilities of the last `forward`.
    pub fn probs(&self) -> &[f64] {
        &self.p
    }

    /// Trains on one image as the original: a forward pass, then for each class k a full BPTT
    /// pass driven by Θ's row k, with every weight updated in place as it goes.
    pub fn train_image(&mut self, image: &[u8], label: u32) {
        let (t, d, h, o) = self.dims();
        let f = t * o;
        self.forward(image, label);
        let lr = self.lr;
        for k in 0..CLASSES {
            let delta = f64::from(u8::from(k == label as usize)) - self.p[k];
            let coef = lr * delta / IMAGES_PER_ITER as f64;
            {
                let m = Self::views(&mut self.params, t, d, h, o);
                m.beta[k] += lr * delta;
                // g = Θ_k · (lr·δ/100), with Θ's row k before its update.
                self.theta_row.copy_from_slice(&m.theta[k * f..(k + 1) * f]);
                self.g.copy_from_slice(&self.theta_row);
                scal(coef, &mut self.g);
            }
            self.bptt();
            // Θ_k += (lr·δ/100)·o
            let m = Self::views(&mut self.params, t, d, h, o);
            axpy(coef, &self.o, &mut m.theta[k * f..(k + 1) * f]);
        }
    }

    /// The original's BPTT for the output gradient `g` (T·O numbers), t = T−1 down to 0, every
    /// weight updated in place as soon as its step's share is known.
    fn bptt(&mut self) {
        let (t, d, h, o) = self.dims();
        let m = Self::views(&mut self.params, t, d, h, o);
        let (e, f) = (&mut self.e, &mut self.f);
        for step in (0..t).rev() {
            let g_t = &self.g[step * o..(step + 1) * o];
            let s_t = &self.s[step * h..(step + 1) * h];
            axpy(1.0, g_t, m.c); // c += g_t
            gemm(Op::T, Op::N, h, 1, o, 1.0, m.v, h, g_t, 1, 0.0, e, 1); // e = Vᵀ g_t
            gemm(Op::N, Op::N, o, h, 1, 1.0, g_t, 1, s_t, h, 1.0, m.v, h); // V += g_t ⊗ s_t
            if step + 1 < t {
                axpy(1.0, f, e); // e += f
            }
            for (ev, sv) in e.iter_mut().zip(s_t) {
                *ev *= 1.0 - sv * sv;
            }
            axpy(1.0, e, m.b); // b += e
            if step > 0 {
                let s_prev = &self.s[(step - 1) * h..step * h];
                gemm(Op::T, Op::N, h, 1, h, 1.0, m.w, h, e, 1, 0.0, f, 1); // f = Wᵀ e
                gemm(Op::N, Op::N, h, h, 1, 1.0, e, 1, s_prev, h, 1.0, m.w, h); // W += e ⊗ s_{t-1}
            }
            let x_t = &self.x[step * d..(step + 1) * d];
            gemm(Op::N, Op::N, h, d, 1, 1.0, e, 1, x_t, d, 1.0, m.u, d); // U += e ⊗ x_t
        }
    }

    /// One iteration: `IMAGES_PER_ITER` consecutive training images from a random offset
    /// (wrapping around the end), one at a time. `data` must hold images (bytes).
    pub fn iteration(&mut self, data: &SeqSet) {
        let start = self.rng.random_range(0..data.len());
        for i in 0..IMAGES_PER_ITER {
            let n = (start + i) % data.len();
            self.train_image(image(data, n), data.labels[n]);
        }
    }

    /// Accuracy on `n` training images drawn at random, as the original printed.
    pub fn sample_accuracy(&mut self, data: &SeqSet, n: usize) -> f64 {
        let mut right = 0;
        for _ in 0..n {
            let i = self.rng.random_range(0..data.len());
            right += usize::from(self.forward(image(data, i), data.labels[i]));
        }
        right as f64 / n as f64
    }

    /// Accuracy on a whole split, one image at a time.
    pub fn accuracy(&mut self, data: &SeqSet) -> f64 {
        let mut right = 0;
        for i in 0..data.len() {
            right += usize::from(self.forward(image(data, i), data.labels[i]));
        }
        right as f64 / data.len() as f64
    }
}

/// The pixels of image `i` of an image set.
fn image(data: &SeqSet, i: usize) -> &[u8] {
    data.bytes(i)
        .expect("the reference algorithm reads images (bytes)")
}
