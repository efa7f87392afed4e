//! Optimizers over the flat parameter buffer, gradient clipping and learning-rate schedules.

use crate::blas::{axpy, nrm2, scal};

/// Which update rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD, the seed's: `p −= lr·g`.
    Sgd,
    /// SGD with momentum 0.9 (PyTorch's form): `v = μv + g; p −= lr·v`.
    Momentum,
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) with bias correction.
    Adam,
}

impl OptimizerKind {
    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Adam => "adam",
        }
    }
}

/// How the learning rate changes over the run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Half a cosine from the base rate down to zero at the last iteration.
    Cosine,
}

impl Schedule {
    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        }
    }

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

/// An optimizer with its state (sized once for the parameter count).
#[derive(Debug, Clone)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// Momentum velocity, or Adam's first moment.
    m: Vec<f64>,
    /// Adam's second moment.
    v: Vec<f64>,
    /// Updates done so far (Adam's bias correction).
    steps: u64,
}

const MOMENTUM: f64 = 0.9;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl Optimizer {
    /// An optimizer of `kind` for `n` parameters.
    pub fn new(kind: OptimizerKind, n: usize) -> Self {
        let state = |on: bool| if on { vec![0.0; n] } else { Vec::new() };
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
    pub fn state(&self) -> (Vec<(&'static str, &[f64])>, u64) {
        let named = match self.kind {
            OptimizerKind::Sgd => vec![],
            OptimizerKind::Momentum => vec![("momentum_buffer", &self.m[..])],
            OptimizerKind::Adam => vec![("exp_avg", &self.m[..]), ("exp_avg_sq", &self.v[..])],
        };
        (named, self.steps)
    }

    /// Restores a state saved by [`Optimizer::state`]: `get(name)` returns a saved buffer.
    /// Returns the name of the first buffer that is missing or of the wrong length.
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
                Some(src) if src.len() == dst.len() => dst.copy_from_slice(src),
                _ => return Err(name.to_string()),
            }
        }
        self.steps = steps;
        Ok(())
    }

    /// Updates `p` in place from the gradient `g` with learning rate `lr`. Allocation-free.
    pub fn step(&mut self, p: &mut [f64], g: &[f64], lr: f64) {
        assert_eq!(
            p.len(),
            g.len(),
            "optimizer: parameter and gradient lengths differ"
        );
        self.steps += 1;
        match self.kind {
            OptimizerKind::Sgd => axpy(-lr, g, p),
            OptimizerKind::Momentum => {
                scal(MOMENTUM, &mut self.m);
                axpy(1.0, g, &mut self.m);
                axpy(-lr, &self.m, p);
            }
            OptimizerKind::Adam => {
                let c1 = 1.0 - BETA1.powi(self.steps.min(i32::MAX as u64) as i32);
                let c2 = 1.0 - BETA2.powi(self.steps.min(i32::MAX as u64) as i32);
                let step = lr / c1;
                let c2s = c2.sqrt();
                for (((pv, &gv), m), v) in p.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
                    *m = BETA1 * *m + (1.0 - BETA1) * gv;
                    *v = BETA2 * *v + (1.0 - BETA2) * gv * gv;
                    *pv -= step * *m / (v.sqrt() / c2s + EPS);
                }
            }
        }
    }
}

/// Scales `g` so that its Euclidean norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_global_norm(g: &mut [f64], max_norm: f64) -> f64 {
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

        let mut p = vec![0.0];
        let mut o = Optimizer::new(OptimizerKind::Momentum, 1);
        o.step(&mut p, &[1.0], 1.0); // v = 1
        o.step(&mut p, &[1.0], 1.0); // v = 1.9
        assert!((p[0] + 2.9).abs() < 1e-15);
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_sign() {
        let mut p = vec![0.0, 0.0];
        let mut o = Optimizer::new(OptimizerKind::Adam, 2);
        o.step(&mut p, &[3.0, -0.01], 0.1);
        assert!(
            (p[0] + 0.1).abs() < 1e-6 && (p[1] - 0.1).abs() < 1e-4,
            "{p:?}"
        );
    }

    #[test]
    fn clipping_caps_the_norm_and_keeps_direction() {
        let mut g = vec![3.0, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15);
        let mut small = vec![0.3, 0.4];
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
