//! Optimizers over the flat parameter buffer, gradient clipping and learning-rate schedules.

use crate::blas::{nrm2, scal};
use crate::real::Real;

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD, the seed's: `p −= lr·g`.
    Sgd,
    /// SGD with momentum 0.9 (PyTorch's form): `v = μv + g; p −= lr·v`.
    Momentum,
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) with bias correction.
    Adam,
}

crate::choice::choice!(OptimizerKind { Sgd => "sgd", Momentum => "momentum", Adam => "adam" });

/// How the learning rate changes over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Half a cosine from the base rate down to zero at the last iteration.
    Cosine,
}

crate::choice::choice!(Schedule { Constant => "constant", Cosine => "cosine" });

impl Schedule {
    /// The rate for iteration `iter` (0-based) of `total`, after a linear warm-up over the first
    /// `warmup` iterations.
    pub fn rate(self, base: f64, iter: usize, total: usize, warmup: usize) -> f64 {
        if iter < warmup {
            return base * (iter + 1) as f64 / warmup as f64;
        }
        let (iter, total) = (iter - warmup, total.saturating_sub(warmup));
        match self {
            Schedule::Constant => base,
            Schedule::Cosine => {
                let frac = iter as f64 / total.max(1) as f64;
                0.5 * base * (1.0 + (std::f64::consts::PI * frac).cos())
            }
        }
    }
}

/// An optimizer with its state (sized once for the parameter count), of the parameters' type.
#[derive(Debug, Clone)]
pub struct Optimizer<T: Real = f64> {
    kind: OptimizerKind,
    /// Momentum velocity, or Adam's first moment.
    m: Vec<T>,
    /// Adam's second moment.
    v: Vec<T>,
    /// Updates done so far (Adam's bias correction).
    steps: u64,
}

const MOMENTUM: f64 = 0.9;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl<T: Real> Optimizer<T> {
    /// An optimizer of `kind` for `n` parameters.
    pub fn new(kind: OptimizerKind, n: usize) -> Self {
        let state = |on: bool| if on { vec![T::ZERO; n] } else { Vec::new() };
        Optimizer {
            kind,
            m: state(kind != OptimizerKind::Sgd),
            v: state(kind == OptimizerKind::Adam),
            steps: 0,
        }
    }

    /// Which update rule this is.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// The state to save, as named flat buffers (PyTorch's names: `momentum_buffer`, `exp_avg`,
    /// `exp_avg_sq`), and the number of updates done.
    pub fn state(&self) -> (Vec<(&'static str, &[T])>, u64) {
        let named = match self.kind {
            OptimizerKind::Sgd => vec![],
            OptimizerKind::Momentum => vec![("momentum_buffer", &self.m[..])],
            OptimizerKind::Adam => vec![("exp_avg", &self.m[..]), ("exp_avg_sq", &self.v[..])],
        };
        (named, self.steps)
    }

    /// Restores a state saved by [`Optimizer::state`]: `get(name)` returns a saved buffer (as
    /// `f64`, rounded to `T`). Returns the name of the first buffer that is missing or of the
    /// wrong length.
    pub fn restore<'a>(
        &mut self,
        steps: u64,
        mut get: impl FnMut(&str) -> Option<&'a [f64]>,
    ) -> Result<(), String> {
        let names: &[&str] = match self.kind {
            OptimizerKind::Sgd => &[],
            OptimizerKind::Momentum => &["momentum_buffer"],
            OptimizerKind::Adam => &["exp_avg", "exp_avg_sq"],
        };
        for (i, name) in names.iter().enumerate() {
            let dst = if i == 0 { &mut self.m } else { &mut self.v };
            match get(name) {
                Some(src) if src.len() == dst.len() => crate::real::convert(src, dst),
                _ => return Err(name.to_string()),
            }
        }
        self.steps = steps;
        Ok(())
    }

    /// Updates `p` in place from the gradient `g` with learning rate `lr`. Allocation-free.
    pub fn step(&mut self, p: &mut [T], g: &[T], lr: f64) {
        assert_eq!(
            p.len(),
            g.len(),
            "optimizer: parameter and gradient lengths differ"
        );
        let (update, m, v) = self.begin(lr, 1.0);
        update.apply(p, g, m, v);
    }

    /// The state buffers, momentum (or Adam's first moment) and Adam's second moment; empty
    /// where the optimizer keeps none.
    pub fn buffers_mut(&mut self) -> (&mut [T], &mut [T]) {
        (&mut self.m, &mut self.v)
    }

    /// Counts an update and returns its rule with learning rate `lr` applied to the gradient
    /// times `scale` (a clip), and the state to update with it (`m`, `v`: empty when the rule
    /// has none). [`Update::apply`] over any split of the buffers into ranges — each range of
    /// `p`, `g`, `m`, `v` alike, on any thread — gives the same numbers as over the whole.
    pub fn begin(&mut self, lr: f64, scale: f64) -> (Update<T>, &mut [T], &mut [T]) {
        self.steps += 1;
        let n = self.steps.min(i32::MAX as u64) as i32;
        let c1 = 1.0 - BETA1.powi(n);
        let c2 = 1.0 - BETA2.powi(n);
        let update = Update {
            kind: self.kind,
            lr: T::from_f64(lr),
            scale: T::from_f64(scale),
            scaled: scale != 1.0,
            step: T::from_f64(lr / c1),
            c2s: T::from_f64(c2.sqrt()),
        };
        (update, &mut self.m, &mut self.v)
    }
}

/// One update's rule and coefficients (see [`Optimizer::begin`]).
#[derive(Debug, Clone, Copy)]
pub struct Update<T> {
    kind: OptimizerKind,
    lr: T,
    scale: T,
    scaled: bool,
    /// Adam: `lr / (1 − β₁ᵗ)`, and `√(1 − β₂ᵗ)`.
    step: T,
    c2s: T,
}

impl<T: Real> Update<T> {
    /// Applies the update to parameters `p` from gradient `g` (times the scale), with the
    /// matching range of the optimizer's state (`m`, `v`, as long as `p`, or empty when the rule
    /// has none). Elementwise: each number depends only on its own position's values.
    ///
    /// # Panics
    /// When the lengths do not match.
    pub fn apply(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let n = p.len();
        assert!(
            g.len() == n
                && m.len()
                    == if self.kind == OptimizerKind::Sgd {
                        0
                    } else {
                        n
                    }
                && v.len()
                    == if self.kind == OptimizerKind::Adam {
                        n
                    } else {
                        0
                    },
            "optimizer: parameter, gradient and state lengths differ"
        );
        let grad = |gv: T| if self.scaled { gv * self.scale } else { gv };
        match self.kind {
            OptimizerKind::Sgd => {
                for (pv, &gv) in p.iter_mut().zip(g) {
                    *pv -= self.lr * grad(gv);
                }
            }
            OptimizerKind::Momentum => {
                let mu = T::from_f64(MOMENTUM);
                for ((pv, &gv), mv) in p.iter_mut().zip(g).zip(m) {
                    *mv = mu * *mv + grad(gv);
                    *pv -= self.lr * *mv;
                }
            }
            OptimizerKind::Adam => {
                let (b1, b2, eps) = (T::from_f64(BETA1), T::from_f64(BETA2), T::from_f64(EPS));
                let (nb1, nb2) = (T::from_f64(1.0 - BETA1), T::from_f64(1.0 - BETA2));
                for (((pv, &gv), mv), vv) in p.iter_mut().zip(g).zip(m).zip(v) {
                    let gv = grad(gv);
                    *mv = b1 * *mv + nb1 * gv;
                    *vv = b2 * *vv + nb2 * gv * gv;
                    *pv -= self.step * *mv / (vv.sqrt() / self.c2s + eps);
                }
            }
        }
    }
}

/// Scales `g` so that its Euclidean norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_global_norm<T: Real>(g: &mut [T], max_norm: f64) -> f64 {
    let norm = nrm2(g);
    if norm > max_norm && norm.is_finite() {
        scal(max_norm / norm, g);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_and_momentum_follow_their_formulas() {
        let mut p = vec![1.0, -2.0];
        let mut o = Optimizer::new(OptimizerKind::Sgd, 2);
        o.step(&mut p, &[0.5, 1.0], 0.1);
        assert_eq!(p, vec![0.95, -2.1]);

        let mut p: Vec<f64> = vec![0.0];
        let mut o = Optimizer::new(OptimizerKind::Momentum, 1);
        o.step(&mut p, &[1.0], 1.0); // v = 1
        o.step(&mut p, &[1.0], 1.0); // v = 1.9
        assert!((p[0] + 2.9).abs() < 1e-15);
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_sign() {
        let mut p: Vec<f64> = vec![0.0, 0.0];
        let mut o = Optimizer::new(OptimizerKind::Adam, 2);
        o.step(&mut p, &[3.0, -0.01], 0.1);
        assert!(
            (p[0] + 0.1).abs() < 1e-6 && (p[1] - 0.1).abs() < 1e-4,
            "{p:?}"
        );
    }

    #[test]
    fn f32_optimizers_follow_the_f64_ones_to_f32_rounding() {
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::Momentum,
            OptimizerKind::Adam,
        ] {
            let mut p64: Vec<f64> = vec![0.5, -0.25, 1.0];
            let mut p32: Vec<f32> = vec![0.5, -0.25, 1.0];
            let (mut o64, mut o32) = (Optimizer::new(kind, 3), Optimizer::new(kind, 3));
            for step in 0..20 {
                let g = [0.3 - 0.01 * step as f64, -0.2, 0.05 * step as f64];
                let g32 = g.map(|v| v as f32);
                o64.step(&mut p64, &g, 0.01);
                o32.step(&mut p32, &g32, 0.01);
            }
            for (a, b) in p64.iter().zip(&p32) {
                assert!((a - f64::from(*b)).abs() < 1e-6, "{kind:?}: {a} vs {b}");
            }
            assert_ne!(p64, vec![0.5, -0.25, 1.0]);
        }
    }

    #[test]
    fn clipping_caps_the_norm_and_keeps_direction() {
        let mut g: Vec<f64> = vec![3.0, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15);
        let mut small: Vec<f64> = vec![0.3, 0.4];
        clip_global_norm(&mut small, 1.0);
        assert_eq!(small, vec![0.3, 0.4]);
    }

    #[test]
    fn cosine_goes_from_base_to_zero() {
        assert_eq!(Schedule::Cosine.rate(0.01, 0, 100, 0), 0.01);
        assert!((Schedule::Cosine.rate(0.01, 50, 100, 0) - 0.005).abs() < 1e-15);
        assert!(Schedule::Cosine.rate(0.01, 100, 100, 0).abs() < 1e-15);
        assert_eq!(Schedule::Constant.rate(0.01, 99, 100, 0), 0.01);
    }

    #[test]
    fn warmup_ramps_linearly_then_follows_the_schedule() {
        assert!((Schedule::Cosine.rate(0.01, 0, 110, 10) - 0.001).abs() < 1e-15);
        assert!((Schedule::Cosine.rate(0.01, 9, 110, 10) - 0.01).abs() < 1e-15);
        assert_eq!(Schedule::Cosine.rate(0.01, 10, 110, 10), 0.01);
        assert!((Schedule::Cosine.rate(0.01, 60, 110, 10) - 0.005).abs() < 1e-15);
    }
}
