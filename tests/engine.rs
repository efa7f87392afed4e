//! Behaviour of the batched engine and the trainer: batching, reproducibility, learning, and no
//! allocation inside a training step.

mod common;

use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::model::{Init, Model, ModelConfig};
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::train::{TrainConfig, Trainer};
use common::{Lcg, synthetic_split};

fn config(cell: CellKind, readout: Readout, threads: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        cell,
        hidden: 16,
        readout,
        iters: 30,
        batch: 20,
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        lr_schedule: Schedule::Cosine,
        warmup: 5,
        clip: Some(1.0),
        init: Init::Seed,
        forget_bias: None,
        seed,
        threads,
        raw_pixels: false,
    }
}

fn train(cfg: TrainConfig) -> Vec<f64> {
    let data = synthetic_split(200, 6, 5, 9);
    let iters = cfg.iters;
    let mut tr = Trainer::new(cfg, data.rows, data.cols, data.len());
    for it in 0..iters {
        tr.step(&data, it, iters);
    }
    tr.params
}

#[test]
fn same_seed_and_threads_give_bit_identical_weights() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for threads in [1, 2, 3] {
            let a = train(config(cell, Readout::Seq, threads, 5));
            let b = train(config(cell, Readout::Seq, threads, 5));
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{cell:?} × {threads}"
            );
            let c = train(config(cell, Readout::Seq, threads, 6));
            assert!(a != c, "another seed must give other weights");
        }
    }
}

#[test]
fn thread_counts_agree_to_rounding() {
    let one = train(config(CellKind::Tanh, Readout::Last, 1, 3));
    let two = train(config(CellKind::Tanh, Readout::Last, 2, 3));
    let worst = one
        .iter()
        .zip(&two)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-9, "1 vs 2 threads differ by {worst}");
}

#[test]
fn a_batch_gives_what_each_sequence_gives_alone() {
    for readout in [Readout::Seq, Readout::Last] {
        let (b, t, d) = (5, 7, 4);
        let model = Model::new(ModelConfig {
            cell: CellKind::Tanh,
            input: d,
            steps: t,
            hidden: 6,
            outputs: d,
            classes: 10,
            readout,
        });
        let mut g = Lcg(1);
        let p: Vec<f64> = (0..model.num_params())
            .map(|_| g.next_f64() - 0.5)
            .collect();
        let mut ws = model.workspace(b);
        ws.x.iter_mut().for_each(|v| *v = g.next_f64());
        ws.labels
            .iter_mut()
            .enumerate()
            .for_each(|(i, l)| *l = i as u8);
        let (loss, _) = model.forward(&p, &mut ws, b);
        let probs = ws.probs(b, 10).to_vec();
        let mut one = model.workspace(1);
        let mut sum = 0.0;
        for i in 0..b {
            one.x.copy_from_slice(&ws.x[i * t * d..(i + 1) * t * d]);
            one.labels[0] = ws.labels[i];
            sum += model.forward(&p, &mut one, 1).0;
            for (a, e) in one.probs(1, 10).iter().zip(&probs[i * 10..(i + 1) * 10]) {
                assert!(
                    (a - e).abs() < 1e-13,
                    "{readout:?} sequence {i}: {a} vs {e}"
                );
            }
        }
        assert!((sum - loss).abs() < 1e-12);
    }
}

#[test]
fn training_learns_a_learnable_task() {
    for readout in [Readout::Seq, Readout::Last] {
        let data = synthetic_split(400, 10, 6, 2);
        let test = synthetic_split(200, 10, 6, 3);
        let mut cfg = config(CellKind::Tanh, readout, 1, 1);
        cfg.iters = 200;
        let mut tr = Trainer::new(cfg, data.rows, data.cols, data.len());
        let e0 = tr.evaluate(&test);
        let (loss0, acc0) = (e0.loss, e0.accuracy);
        for it in 0..200 {
            tr.step(&data, it, 200);
        }
        let e1 = tr.evaluate(&test);
        let (loss1, acc1) = (e1.loss, e1.accuracy);
        let total: usize = e1.confusion.iter().flatten().sum();
        let diagonal: usize = (0..10).map(|k| e1.confusion[k][k]).sum();
        assert_eq!(total, test.len());
        assert!((diagonal as f64 / total as f64 - acc1).abs() < 1e-12);
        assert!(loss1 < loss0 / 4.0, "{readout:?}: loss {loss0} -> {loss1}");
        assert!(
            acc0 < 0.5 && acc1 > 0.95,
            "{readout:?}: accuracy {acc0} -> {acc1}"
        );
    }
}

#[test]
fn sgd_momentum_and_adam_all_lower_the_loss() {
    for (opt, lr) in [
        (OptimizerKind::Sgd, 0.5),
        (OptimizerKind::Momentum, 0.05),
        (OptimizerKind::Adam, 0.01),
    ] {
        let data = synthetic_split(200, 6, 5, 4);
        let mut cfg = config(CellKind::Tanh, Readout::Seq, 1, 1);
        (cfg.optimizer, cfg.lr, cfg.init) = (opt, lr, Init::Uniform);
        let mut tr = Trainer::new(cfg, data.rows, data.cols, data.len());
        let before = tr.evaluate(&data).loss;
        for it in 0..100 {
            tr.step(&data, it, 100);
        }
        let after = tr.evaluate(&data).loss;
        assert!(after < before * 0.7, "{opt:?}: {before} -> {after}");
    }
}

#[test]
fn flop_formulas_match_what_blas_was_asked_for() {
    for readout in [Readout::Seq, Readout::Last] {
        for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
            let (b, t, d) = (7, 5, 4);
            let model = Model::new(ModelConfig {
                cell,
                input: d,
                steps: t,
                hidden: 6,
                outputs: 3,
                classes: 10,
                readout,
            });
            let p = vec![0.1; model.num_params()];
            let mut ws = model.workspace(b);
            blasrnn::blas::take_flops();
            model.forward(&p, &mut ws, b);
            let fwd = blasrnn::blas::take_flops();
            model.backward(&p, &mut ws, b, 1.0 / b as f64);
            let bwd = blasrnn::blas::take_flops();
            assert_eq!((fwd, bwd), model.flops(b), "{cell:?}/{readout:?}");
        }
    }
}
