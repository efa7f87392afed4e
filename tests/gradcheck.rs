//! Every parameter's analytic gradient against central finite differences, for every cell and
//! both readouts, on a small random problem.

mod common;

use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::model::{Model, ModelConfig, Workspace};
use common::Lcg;

const B: usize = 3;
const T: usize = 4;
const D: usize = 5;
const H: usize = 6;
const O: usize = 3;
const K: usize = 10;

fn mean_loss(model: &Model, p: &[f64], ws: &mut Workspace) -> f64 {
    model.forward(p, ws, B).0 / B as f64
}

fn check(cell: CellKind, readout: Readout) {
    let model = Model::new(ModelConfig {
        cell,
        input: D,
        steps: T,
        hidden: H,
        outputs: O,
        classes: K,
        readout,
    });
    let mut g = Lcg(42);
    // Weights large enough that every nonlinearity is away from its linear regime.
    let mut p: Vec<f64> = (0..model.num_params())
        .map(|_| (g.next_f64() * 2.0 - 1.0) * 0.8)
        .collect();
    let mut ws = model.workspace(B);
    for v in ws.x.iter_mut() {
        *v = g.next_f64() * 2.0 - 1.0;
    }
    for (i, l) in ws.labels.iter_mut().enumerate() {
        *l = ((i * 7 + 3) % K) as u8;
    }
    ws.grad.fill(0.0);
    model.forward(&p, &mut ws, B);
    model.backward(&p, &mut ws, B, 1.0 / B as f64);
    let analytic = ws.grad.clone();

    // Fourth-order central differences: (8(f(x+e) − f(x−e)) − (f(x+2e) − f(x−2e))) / 12e has
    // truncation error O(e⁴), so e can be large enough that rounding noise in the loss (~1e-15)
    // stays far below 1e-6 of even the smallest gradient entries (~1e-6).
    let eps = 1e-3;
    for (spec, &off) in model.specs().iter().zip(model.offsets()) {
        let mut worst: f64 = 0.0;
        let (mut num_sq, mut diff_sq) = (0.0, 0.0);
        for i in off..off + spec.len() {
            let keep = p[i];
            let mut at = |delta: f64| {
                p[i] = keep + delta;
                mean_loss(&model, &p, &mut ws)
            };
            let (u1, d1, u2, d2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
            p[i] = keep;
            let numeric = (8.0 * (u1 - d1) - (u2 - d2)) / (12.0 * eps);
            let a = analytic[i];
            // Relative error, with a floor for entries that are (near) zero.
            let rel = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-6);
            worst = worst.max(rel);
            num_sq += numeric * numeric;
            diff_sq += (a - numeric) * (a - numeric);
        }
        assert!(
            num_sq > 0.0,
            "{cell:?}/{readout:?} {}: gradient is all zero",
            spec.name
        );
        assert!(
            worst < 1e-6,
            "{cell:?}/{readout:?} {}: worst relative error {worst:e}",
            spec.name
        );
        assert!(
            (diff_sq / num_sq).sqrt() < 1e-7,
            "{}: norm-wise error too large",
            spec.name
        );
    }
}

#[test]
fn tanh_seq_readout() {
    check(CellKind::Tanh, Readout::Seq);
}

#[test]
fn tanh_last_readout() {
    check(CellKind::Tanh, Readout::Last);
}

#[test]
fn lstm_seq_readout() {
    check(CellKind::Lstm, Readout::Seq);
}

#[test]
fn lstm_last_readout() {
    check(CellKind::Lstm, Readout::Last);
}

#[test]
fn gru_seq_readout() {
    check(CellKind::Gru, Readout::Seq);
}

#[test]
fn gru_last_readout() {
    check(CellKind::Gru, Readout::Last);
}
