//! Products cut into pieces for small-matrix kernels, and the products made from the transpose
//! of a weight (`weight_hh` in every step, `weight_ih` over all rows, the heads' weights), compute
//! what the whole products compute: the loss and every
//! gradient of each cell, classifier and language model, at sizes where both apply, with cutting
//! forced on (as on OpenBLAS's AVX-512 cores, whatever this machine has) against cutting off
//! (every product one call, as the gradient checks verify it).
//!
//! One test function: the cutting mode is global to the process, and nothing else in this binary
//! may run while it changes.

mod common;

use blasrnn::blas::{self, Cutting, Op};
use blasrnn::network::{Network, NetworkConfig, Task, Workspace};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use common::Lcg;

const B: usize = 64;
const T: usize = 20;
const D: usize = 28;
const H: usize = 64;

/// Loss and gradient of `model` on the batch in `ws`, with products cut as `mode` says.
fn loss_and_grad(model: &Network, ws: &mut Workspace, p: &[f64], mode: Cutting) -> (f64, Vec<f64>) {
    blas::set_cutting(mode);
    ws.grad.fill(0.0);
    let loss = model.forward(p, ws, None).0;
    model.backward(p, ws, 1.0);
    blas::set_cutting(Cutting::Auto);
    (loss, ws.grad.clone())
}

fn same_either_way(what: &str, model: &Network, ws: &mut Workspace) {
    let mut g = Lcg(3);
    let p: Vec<f64> = (0..model.num_params())
        .map(|_| (g.next_f64() * 2.0 - 1.0) * 0.3)
        .collect();
    let (l_whole, g_whole) = loss_and_grad(model, ws, &p, Cutting::Off);
    let (l_cut, g_cut) = loss_and_grad(model, ws, &p, Cutting::Always);
    assert!(
        l_whole.is_finite() && l_whole > 0.0,
        "{what}: loss {l_whole}"
    );
    assert!(
        (l_cut - l_whole).abs() <= 1e-12 * l_whole,
        "{what}: loss {l_cut} cut, {l_whole} whole"
    );
    for (spec, range) in model.layout().iter() {
        let norm: f64 = g_whole[range.clone()]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        let diff: f64 = range
            .clone()
            .map(|i| (g_cut[i] - g_whole[i]).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(norm > 0.0, "{what} {}: gradient is all zero", spec.name);
        assert!(
            diff <= 1e-11 * norm,
            "{what} {}: cut and whole gradients differ by {diff:e} (norm {norm:e})",
            spec.name
        );
    }
}

#[test]
fn cut_products_and_the_stored_transpose_change_nothing_but_rounding() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        let g = match cell {
            CellKind::Tanh => H,
            CellKind::Lstm => 4 * H,
            CellKind::Gru => 3 * H,
        };
        // These sizes take both paths: each step's product, the input projection of the first
        // layer and the heads' products (seq outputs, 3; next-token logits, D) from the
        // transpose, and the cut ones (the backward step's product, dW_hh over all rows).
        for (m, n, k) in [(B, g, H), (B * T, g, D), (B * T, 3, H), (B * T, D, H)] {
            assert!(
                blas::cut::small_kernels_prefer_stored_transpose(m, n, k),
                "{cell:?} {m}×{n}×{k}"
            );
        }
        assert!(
            blas::small_pieces(Op::T, Op::N, g, H, B * T - 1).is_some(),
            "{cell:?}"
        );

        // A classifier over all steps; one over the last state of sequences of mixed lengths.
        for (readout, mixed) in [(Readout::Seq, false), (Readout::Last, true)] {
            let model = Network::new(NetworkConfig {
                patch: 1,
                bidirectional: false,
                cell,
                input: D,
                hidden: H,
                layers: 2,
                task: Task::Classify {
                    readout,
                    steps: T,
                    outputs: 3,
                    classes: 10,
                },
            });
            let lens: Vec<usize> = (0..B)
                .map(|i| if mixed { T - i * T / (2 * B) } else { T })
                .collect();
            let mut ws = common::classifier_batch(&model, T, &lens);
            let what = format!("{cell:?} classifier, {readout:?} readout");
            same_either_way(&what, &model, &mut ws);
        }

        // A language model from a carried state.
        let model = Network::new(NetworkConfig {
            patch: 1,
            bidirectional: false,
            cell,
            input: D,
            hidden: H,
            layers: 2,
            task: Task::NextToken,
        });
        let mut ws = common::carried_lm_batch(&model, B, T, D, false);
        same_either_way(&format!("{cell:?} language model"), &model, &mut ws);
    }
}
