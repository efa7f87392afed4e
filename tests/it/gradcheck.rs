//! Every parameter's analytic gradient against central finite differences: every cell, 1 to 3
//! stacked layers; the classifier with each readout (and sequences of mixed lengths); the
//! language model from a carried (non-zero) start state, with and without dropout between layers
//! and before the head;
//! bidirectional layers (every cell, 1 and 2 layers, mixed lengths); the regression head with each
//! loss (one target and several, as a forecast's horizon); a class at every step. Each analytic
//! gradient is computed alone and with its steps split across a team of threads.

use crate::common;

use blasrnn::blas::Team;
use blasrnn::network::{Network, NetworkConfig, Task, Workspace};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::{Loss, Readout};
use blasrnn::nn::stack::Dropout;
use common::Lcg;

const B: usize = 3;
const T: usize = 4;
const D: usize = 5;
const H: usize = 6;
const CELLS: [CellKind; 3] = [CellKind::Tanh, CellKind::Lstm, CellKind::Gru];

/// Compares `model`'s backward pass with fourth-order central differences of `scale ×` the summed
/// loss, for every parameter, on the batch already in `ws`.
fn check(what: &str, model: &Network, ws: &mut Workspace, scale: f64, dropout: Option<Dropout>) {
    let mut g = Lcg(42);
    // Weights large enough that every nonlinearity is away from its linear regime.
    let mut p: Vec<f64> = (0..model.num_params())
        .map(|_| (g.next_f64() * 2.0 - 1.0) * 0.8)
        .collect();
    ws.grad.fill(0.0);
    model.forward(&p, ws, dropout);
    model.backward(&p, ws, scale);
    let alone = ws.grad.clone();
    // The same gradient with every product and elementwise loop split across a team (4 threads
    // over H = 6 units: blocks of 1, 2, 1 and 2), to rounding; the finite differences check it.
    let team = Team::eager(4).unwrap();
    ws.grad.fill(0.0);
    team.enter(|| {
        model.forward(&p, ws, dropout);
        model.backward(&p, ws, scale);
    });
    let analytic = ws.grad.clone();
    let (diff, norm) = alone
        .iter()
        .zip(&analytic)
        .fold((0.0, 0.0), |(d, n), (a, b)| {
            (d + (a - b) * (a - b), n + a * a)
        });
    assert!(
        (diff / norm).sqrt() < 1e-13,
        "{what}: the team's gradient differs by {:e}",
        (diff / norm).sqrt()
    );
    // (8(f(x+e) − f(x−e)) − (f(x+2e) − f(x−2e))) / 12e has truncation error O(e⁴), so e can be
    // large enough that rounding noise in the loss (~1e-15) stays far below 1e-6 of even the
    // smallest gradient entries (~1e-6).
    let eps = 1e-3;
    for (spec, range) in model.layout().iter() {
        let mut worst: f64 = 0.0;
        let (mut num_sq, mut diff_sq) = (0.0, 0.0);
        for i in range {
            let keep = p[i];
            let mut at = |delta: f64| {
                p[i] = keep + delta;
                model.forward(&p, ws, dropout).0 * scale
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
        assert!(num_sq > 0.0, "{what} {}: gradient is all zero", spec.name);
        assert!(
            worst < 1e-6,
            "{what} {}: worst relative error {worst:e}",
            spec.name
        );
        assert!(
            (diff_sq / num_sq).sqrt() < 1e-7,
            "{what} {}: norm-wise error too large",
            spec.name
        );
    }
}

/// A classifier's check on B sequences of lengths `lens` (longest first, at most T).
fn classifier(cell: CellKind, readout: Readout, layers: usize, lens: [usize; B]) {
    sequences(cell, layers, false, task(readout, None), lens);
}

/// The task of a readout: classes, or (with a loss) 3 real-valued targets.
fn task(readout: Readout, loss: Option<Loss>) -> Task {
    match loss {
        None => Task::Classify {
            readout,
            steps: T,
            outputs: 3,
            classes: 10,
        },
        Some(loss) => Task::Regress {
            readout,
            steps: T,
            outputs: 3,
            targets: 3,
            loss,
        },
    }
}

/// The check of a model of sequences (one or two directions) on B sequences of lengths `lens`
/// (longest first, at most T): the loss averaged over the sequences, or, for a class at every
/// step, over the steps that are not padding.
fn sequences(cell: CellKind, layers: usize, bidirectional: bool, task: Task, lens: [usize; B]) {
    let model = Network::new(NetworkConfig {
        patch: 1,
        bidirectional,
        cell,
        input: D,
        hidden: H,
        layers,
        task,
    });
    let mut ws = common::classifier_batch(&model, T, &lens);
    let scale = match task {
        Task::Tag { .. } => 1.0 / lens.iter().sum::<usize>() as f64,
        _ => 1.0 / B as f64,
    };
    let what =
        format!("{cell:?}/{task:?}/{layers} layers/bidirectional {bidirectional}/lengths {lens:?}");
    check(&what, &model, &mut ws, scale, None);
}

/// A language model's check over a vocabulary of D symbols, from a random carried state.
fn language_model(cell: CellKind, layers: usize, dropout: Option<(f64, f64)>) {
    let model = Network::new(NetworkConfig {
        patch: 1,
        bidirectional: false,
        cell,
        input: D,
        hidden: H,
        layers,
        task: Task::NextToken,
    });
    let mut ws = common::carried_lm_batch(&model, B, T, D, dropout.is_some());
    assert!(ws.carried());
    let drop = dropout.map(|(p, top)| Dropout {
        p,
        top,
        key: 99,
        first: 0,
    });
    let what = format!("{cell:?}/{layers} layers/language model/dropout {dropout:?}");
    check(&what, &model, &mut ws, 1.0 / (B * T) as f64, drop);
}

#[test]
fn classifier_every_cell_and_readout() {
    for cell in CELLS {
        for readout in [Readout::Seq, Readout::Last, Readout::Mean] {
            classifier(cell, readout, 1, [T; B]);
        }
    }
}

#[test]
fn classifier_stacked_layers() {
    for cell in CELLS {
        for layers in [2, 3] {
            classifier(cell, Readout::Seq, layers, [T; B]);
            classifier(cell, Readout::Last, layers, [T; B]);
        }
    }
}

#[test]
fn classifier_sequences_of_mixed_lengths() {
    for cell in CELLS {
        for readout in [Readout::Last, Readout::Mean] {
            for layers in [1, 2] {
                classifier(cell, readout, layers, [4, 2, 1]);
                classifier(cell, readout, layers, [3, 3, 2]);
            }
        }
    }
}

#[test]
fn language_model_from_a_carried_state() {
    for cell in CELLS {
        for layers in [1, 2, 3] {
            language_model(cell, layers, None);
        }
    }
}

#[test]
fn language_model_with_dropout_between_layers() {
    for cell in CELLS {
        language_model(cell, 2, Some((0.3, 0.0)));
    }
}

#[test]
fn language_model_with_dropout_before_the_head() {
    for cell in CELLS {
        language_model(cell, 1, Some((0.0, 0.4)));
        language_model(cell, 2, Some((0.3, 0.4)));
    }
}

#[test]
fn bidirectional_layers_of_every_cell() {
    for cell in CELLS {
        for layers in [1, 2] {
            for readout in [Readout::Last, Readout::Mean] {
                sequences(cell, layers, true, task(readout, None), [4, 2, 1]);
            }
            sequences(cell, layers, true, task(Readout::Seq, None), [T; B]);
        }
    }
}

#[test]
fn regression_heads_of_every_loss() {
    for loss in [Loss::Mse, Loss::Mae, Loss::Huber] {
        for readout in [Readout::Last, Readout::Mean] {
            sequences(
                CellKind::Gru,
                1,
                false,
                task(readout, Some(loss)),
                [4, 3, 1],
            );
        }
        sequences(
            CellKind::Lstm,
            2,
            true,
            task(Readout::Last, Some(loss)),
            [4, 2, 2],
        );
        sequences(
            CellKind::Tanh,
            1,
            false,
            task(Readout::Seq, Some(loss)),
            [T; B],
        );
    }
    // A forecast's head: many targets (the horizon) from the last state.
    let horizon = Task::Regress {
        readout: Readout::Last,
        steps: T,
        outputs: 3,
        targets: 7,
        loss: Loss::Mse,
    };
    sequences(CellKind::Lstm, 1, false, horizon, [T; B]);
}

#[test]
fn a_class_at_every_step() {
    let tag = Task::Tag {
        steps: T,
        classes: 4,
    };
    for cell in CELLS {
        for (layers, bidirectional) in [(1, false), (2, false), (1, true), (2, true)] {
            sequences(cell, layers, bidirectional, tag, [4, 2, 1]);
        }
    }
}
