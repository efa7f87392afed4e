//! Behaviour of the batched engine and the trainer: batching, reproducibility, learning, and no
//! allocation inside a training step.

use crate::common;

use blasrnn::data::SeqSet;
use blasrnn::network::{Init, Network, NetworkConfig, Task};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::OptimizerKind;
use blasrnn::real::{Dtype, Real};
use blasrnn::train::{Data, TrainConfig, Trainer};
use common::{Lcg, config, synthetic_split};

/// A classifier trainer for `cfg` on `data`.
fn trainer<T: Real>(cfg: TrainConfig, data: &SeqSet) -> Trainer<T> {
    let model = cfg.classifier(data);
    Trainer::new(cfg, model).unwrap()
}

/// Trains `cfg` (in `T`, which must be its dtype) on a small synthetic task; the final weights.
fn train_as<T: Real>(cfg: TrainConfig) -> Vec<T> {
    let data = synthetic_split(200, 6, 5, 9);
    let iters = cfg.iters;
    let mut tr = trainer::<T>(cfg, &data);
    for it in 0..iters {
        tr.step(Data::Labelled(&data), it);
    }
    tr.params
}

fn train(cfg: TrainConfig) -> Vec<f64> {
    train_as::<f64>(cfg)
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

/// Threads in row shards, in teams splitting each shard's steps, and both (2 shards of 2): every
/// layout reruns bit for bit, and agrees with one thread to rounding. H = 64 and 16 rows a shard
/// are large enough for the teams to split every product and elementwise loop.
#[test]
fn every_thread_layout_reruns_bit_for_bit() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        let base = TrainConfig {
            hidden: 64,
            batch: 32,
            iters: 8,
            ..config(cell, Readout::Seq, 1, 5)
        };
        let one = train(base.clone());
        for (threads, team) in [(2, 1), (2, 2), (4, 2), (3, 3)] {
            let cfg = TrainConfig {
                threads,
                step_threads: Some(team),
                ..base.clone()
            };
            let (a, b) = (train(cfg.clone()), train(cfg));
            let what = format!("{cell:?}, {threads} threads in teams of {team}");
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{what}: reruns differ"
            );
            let worst = one
                .iter()
                .zip(&a)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-9, "{what}: differs from one thread by {worst}");
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
    for readout in [Readout::Seq, Readout::Last, Readout::Mean] {
        let (b, t, d) = (5, 7, 4);
        let model = Network::<f64>::new(NetworkConfig {
            patch: 1,
            bidirectional: false,
            cell: CellKind::Tanh,
            input: d,
            hidden: 6,
            layers: 2,
            task: Task::Classify {
                readout,
                steps: t,
                outputs: d,
                classes: 10,
            },
        });
        let mut g = Lcg(1);
        let p: Vec<f64> = (0..model.num_params())
            .map(|_| g.next_f64() - 0.5)
            .collect();
        let mut ws = model.workspace(b, t, false);
        ws.batch.x.iter_mut().for_each(|v| *v = g.next_f64());
        ws.batch
            .targets
            .iter_mut()
            .enumerate()
            .for_each(|(i, l)| *l = i as u32);
        ws.batch.begin_full(b, t);
        let (loss, _) = model.forward(&p, &mut ws, None);
        let probs = ws.probs(b, 10).to_vec();
        let mut one = model.workspace(1, t, false);
        let mut sum = 0.0;
        for i in 0..b {
            one.batch
                .x
                .copy_from_slice(&ws.batch.x[i * t * d..(i + 1) * t * d]);
            one.batch.targets[0] = ws.batch.targets[i];
            one.batch.begin_full(1, t);
            sum += model.forward(&p, &mut one, None).0;
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

/// Sequences of different lengths padded into one batch give the loss and the gradient that
/// each gives alone (padding changes nothing), for every cell, readout and depth.
#[test]
fn padding_changes_nothing() {
    let (t, d, k) = (6, 3, 4);
    let lens = [6, 4, 4, 1];
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for readout in [Readout::Last, Readout::Mean] {
            for layers in [1, 2] {
                let model = Network::<f64>::new(NetworkConfig {
                    patch: 1,
                    bidirectional: false,
                    cell,
                    input: d,
                    hidden: 5,
                    layers,
                    task: Task::Classify {
                        readout,
                        steps: t,
                        outputs: d,
                        classes: k,
                    },
                });
                let mut g = Lcg(3);
                let p: Vec<f64> = (0..model.num_params())
                    .map(|_| g.next_f64() - 0.5)
                    .collect();
                let b = lens.len();
                let mut ws = model.workspace(b, t, false);
                // Garbage in the padding: it must not count.
                ws.batch
                    .x
                    .iter_mut()
                    .for_each(|v| *v = g.next_f64() * 10.0 - 5.0);
                for (i, &l) in lens.iter().enumerate() {
                    ws.batch.targets[i] = (i % k) as u32;
                    ws.batch.lens[i] = l;
                }
                ws.batch.begin(b, t);
                ws.grad.fill(0.0);
                let (loss, _) = model.forward(&p, &mut ws, None);
                model.backward(&p, &mut ws, 1.0);
                let (mut sum, mut grad) = (0.0, vec![0.0; p.len()]);
                let mut one = model.workspace(1, t, false);
                for (i, &l) in lens.iter().enumerate() {
                    one.batch.x[..l * d].copy_from_slice(&ws.batch.x[i * t * d..(i * t + l) * d]);
                    one.batch.targets[0] = ws.batch.targets[i];
                    one.batch.lens[0] = l;
                    one.batch.begin(1, l);
                    one.grad.fill(0.0);
                    sum += model.forward(&p, &mut one, None).0;
                    model.backward(&p, &mut one, 1.0);
                    grad.iter_mut().zip(&one.grad).for_each(|(a, b)| *a += b);
                }
                let what = format!("{cell:?}/{readout:?}/{layers}");
                assert!((sum - loss).abs() < 1e-12, "{what}: loss {loss} vs {sum}");
                let worst = grad
                    .iter()
                    .zip(&ws.grad)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(worst < 1e-12, "{what}: gradients differ by {worst}");
            }
        }
    }
}

#[test]
fn training_learns_a_learnable_task() {
    // The label is the step at which a bright row comes: the seed readout sees every step; the
    // last state must remember it, which the gated cells do better than the tanh one.
    for (readout, cell, lr) in [
        (Readout::Seq, CellKind::Tanh, 0.01),
        (Readout::Last, CellKind::Gru, 0.03),
    ] {
        let data = synthetic_split(400, 10, 6, 2);
        let test = synthetic_split(200, 10, 6, 3);
        let mut cfg = config(cell, readout, 1, 1);
        (cfg.iters, cfg.lr) = (200, lr);
        let mut tr = trainer::<f64>(cfg, &data);
        let e0 = tr.evaluate(Data::Labelled(&test));
        let (loss0, acc0) = (e0.loss, e0.accuracy);
        for it in 0..200 {
            tr.step(Data::Labelled(&data), it);
        }
        let e1 = tr.evaluate(Data::Labelled(&test));
        let (loss1, acc1) = (e1.loss, e1.accuracy);
        let total: usize = e1.confusion.iter().sum();
        let diagonal: usize = (0..10).map(|k| e1.confusion[k * 10 + k]).sum();
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
        (cfg.optimizer, cfg.lr, cfg.init, cfg.iters) = (opt, lr, Init::Uniform, 100);
        let mut tr = trainer::<f64>(cfg, &data);
        let before = tr.evaluate(Data::Labelled(&data)).loss;
        for it in 0..100 {
            tr.step(Data::Labelled(&data), it);
        }
        let after = tr.evaluate(Data::Labelled(&data)).loss;
        assert!(after < before * 0.7, "{opt:?}: {before} -> {after}");
    }
}

#[test]
fn flop_formulas_match_what_blas_was_asked_for() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for layers in [1, 2] {
            let tasks = [
                Task::Classify {
                    readout: Readout::Seq,
                    steps: 5,
                    outputs: 3,
                    classes: 10,
                },
                Task::Classify {
                    readout: Readout::Last,
                    steps: 5,
                    outputs: 3,
                    classes: 10,
                },
                Task::NextToken,
            ];
            for task in tasks {
                let (b, t) = (7, 5);
                let model = Network::<f64>::new(NetworkConfig {
                    patch: 1,
                    bidirectional: false,
                    cell,
                    input: 4,
                    hidden: 6,
                    layers,
                    task,
                });
                let p = vec![0.1; model.num_params()];
                let mut ws = model.workspace(b, t, false);
                ws.batch.begin_full(b, t);
                let carried = task == Task::NextToken;
                if carried {
                    for l in 0..layers {
                        let s = vec![0.5; model.state(&ws, l).len()];
                        model.set_state(&mut ws, l, &s);
                    }
                }
                blasrnn::blas::take_flops();
                model.forward(&p, &mut ws, None);
                let fwd = blasrnn::blas::take_flops();
                model.backward(&p, &mut ws, 1.0 / b as f64);
                let bwd = blasrnn::blas::take_flops();
                assert_eq!(
                    (fwd, bwd),
                    model.flops(b, t, carried),
                    "{cell:?}/{layers}/{task:?}"
                );
            }
        }
    }
}

/// A model of `cell` and `readout` for 4 steps of 5 inputs, in `T`.
fn small_model<T: Real>(cell: CellKind, readout: Readout) -> Network<T> {
    Network::new(NetworkConfig {
        patch: 1,
        bidirectional: false,
        cell,
        input: 5,
        hidden: 7,
        layers: 2,
        task: Task::Classify {
            readout,
            steps: 4,
            outputs: 3,
            classes: 10,
        },
    })
}

#[test]
fn f32_forward_and_backward_follow_f64_to_f32_precision() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for readout in [Readout::Seq, Readout::Last] {
            let b = 6;
            let m64 = small_model::<f64>(cell, readout);
            let m32 = small_model::<f32>(cell, readout);
            let mut g = Lcg(7);
            // Parameters and inputs exactly representable in f32, so both start from the same
            // numbers.
            let p64: Vec<f64> = (0..m64.num_params())
                .map(|_| f64::from((g.next_f64() - 0.5) as f32))
                .collect();
            let p32: Vec<f32> = p64.iter().map(|&v| v as f32).collect();
            let (mut w64, mut w32) = (m64.workspace(b, 4, false), m32.workspace(b, 4, false));
            for (a, c) in w64.batch.x.iter_mut().zip(w32.batch.x.iter_mut()) {
                *c = g.next_f64() as f32;
                *a = f64::from(*c);
            }
            for i in 0..b {
                w64.batch.targets[i] = (3 * i % 10) as u32;
                w32.batch.targets[i] = w64.batch.targets[i];
            }
            w64.batch.begin_full(b, 4);
            w32.batch.begin_full(b, 4);
            let (l64, c64) = m64.forward(&p64, &mut w64, None);
            let (l32, c32) = m32.forward(&p32, &mut w32, None);
            let what = format!("{cell:?}/{readout:?}");
            assert!(
                (l64 - l32).abs() < 1e-5 * l64.abs(),
                "{what}: loss {l64} vs {l32}"
            );
            assert_eq!(c64, c32, "{what}");
            m64.backward(&p64, &mut w64, 1.0 / b as f64);
            m32.backward(&p32, &mut w32, 1.0 / b as f64);
            let diff: f64 = w64
                .grad
                .iter()
                .zip(&w32.grad)
                .map(|(a, c)| (a - f64::from(*c)).powi(2))
                .sum::<f64>()
                .sqrt();
            let norm: f64 = w64.grad.iter().map(|a| a * a).sum::<f64>().sqrt();
            assert!(
                norm > 0.0 && diff < 1e-5 * norm,
                "{what}: |Δgrad| {diff} of {norm}"
            );
        }
    }
}

#[test]
fn f32_training_is_reproducible_and_tracks_f64() {
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for threads in [1, 2] {
            let mut cfg = config(cell, Readout::Seq, threads, 5);
            cfg.dtype = Dtype::F32;
            let a = train_as::<f32>(cfg.clone());
            let b = train_as::<f32>(cfg.clone());
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{cell:?} × {threads}: f32 runs differ"
            );
            // 30 SGD steps from the same start: the f32 weights stay within f32 rounding of the
            // f64 ones. (Adam would not show it: it scales the noise of near-zero gradients up
            // to a full step.)
            (cfg.optimizer, cfg.lr) = (OptimizerKind::Sgd, 0.5);
            let w32 = train_as::<f32>(cfg.clone());
            cfg.dtype = Dtype::F64;
            let w64 = train(cfg.clone());
            cfg.iters = 0;
            let w0 = train(cfg);
            let dist = |u: &[f64], v: &mut dyn Iterator<Item = f64>| {
                u.iter()
                    .zip(v)
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            let drift = dist(&w64, &mut w32.iter().map(|&v| f64::from(v)));
            let moved = dist(&w64, &mut w0.iter().copied());
            assert!(
                moved > 0.1 && drift < 1e-5 * moved,
                "{cell:?} × {threads}: f32 drifts {drift} from f64, which moved {moved}"
            );
        }
    }
}

#[test]
fn f32_training_learns_a_learnable_task() {
    let data = synthetic_split(400, 10, 6, 2);
    let test = synthetic_split(200, 10, 6, 3);
    let mut cfg = config(CellKind::Gru, Readout::Last, 2, 1);
    (cfg.iters, cfg.dtype, cfg.lr) = (200, Dtype::F32, 0.03);
    let mut tr = trainer::<f32>(cfg, &data);
    let before = tr.evaluate(Data::Labelled(&test));
    for it in 0..200 {
        tr.step(Data::Labelled(&data), it);
    }
    let after = tr.evaluate(Data::Labelled(&test));
    assert!(
        before.accuracy < 0.5 && after.accuracy > 0.95 && after.loss < before.loss / 4.0,
        "accuracy {} -> {}, loss {} -> {}",
        before.accuracy,
        after.accuracy,
        before.loss,
        after.loss
    );
}

#[test]
fn a_trainer_refuses_a_configuration_of_another_dtype() {
    let data = synthetic_split(50, 6, 5, 9);
    let cfg = config(CellKind::Tanh, Readout::Seq, 1, 1);
    let model = cfg.classifier(&data);
    let e = Trainer::<f32>::new(cfg, model)
        .err()
        .expect("an f64 configuration ran in f32");
    assert!(
        matches!(
            e,
            blasrnn::Error::Dtype {
                expected: Dtype::F32,
                found: Dtype::F64
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the model computes in f64, but f32 was asked for"
    );
}

/// `--init orthogonal`: every gate's block of every `weight_hh` (both directions, each layer)
/// has orthonormal rows; the input weights stay PyTorch's uniform ones.
#[test]
fn orthogonal_init_makes_each_gate_block_orthogonal() {
    use rand::SeedableRng;
    for (cell, gates) in [(CellKind::Tanh, 1), (CellKind::Lstm, 4), (CellKind::Gru, 3)] {
        let h = 7;
        let model = Network::<f64>::new(NetworkConfig {
            patch: 1,
            bidirectional: true,
            cell,
            input: 5,
            hidden: h,
            layers: 2,
            task: Task::Classify {
                readout: Readout::Last,
                steps: 4,
                outputs: 5,
                classes: 3,
            },
        });
        let p = model.init(Init::Orthogonal, &mut rand::rngs::StdRng::seed_from_u64(9));
        for name in ["rnn.weight_hh_l0", "rnn.weight_hh_l1_reverse"] {
            let w = model.view(&p, name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(w.len(), gates * h * h);
            for block in w.chunks_exact(h * h) {
                for i in 0..h {
                    for j in 0..h {
                        let dot: f64 = (0..h).map(|k| block[i * h + k] * block[j * h + k]).sum();
                        let want = if i == j { 1.0 } else { 0.0 };
                        assert!(
                            (dot - want).abs() < 1e-12,
                            "{cell:?} {name}: {dot} at {i},{j}"
                        );
                    }
                }
            }
        }
        let bound = 1.0 / (h as f64).sqrt();
        let w_ih = model.view(&p, "rnn.weight_ih_l1").unwrap();
        assert!(w_ih.iter().all(|v| v.abs() <= bound) && w_ih.iter().any(|&v| v != 0.0));
    }
}

/// A library caller who picks another cell for MNIST gets that cell's defaults, as `train
/// --cell` does: the gated cells start from the seed's initialisation in f32, not from the tanh
/// cell's orthogonal start in f64.
#[test]
fn a_config_for_another_cell_takes_that_cells_defaults() {
    use blasrnn::data::Kind;
    let tanh = TrainConfig::for_kind(Kind::Images);
    assert_eq!(
        (tanh.cell, tanh.init, tanh.dtype),
        (CellKind::Tanh, Init::Orthogonal, Dtype::F64)
    );
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let c = TrainConfig::for_cell(Kind::Images, cell);
        assert_eq!((c.cell, c.init, c.dtype), (cell, Init::Seed, Dtype::F32));
        assert_eq!(
            (c.hidden, c.batch, c.lr),
            (tanh.hidden, tanh.batch, tanh.lr)
        );
    }
    let text = TrainConfig::for_cell(Kind::Text, CellKind::Gru);
    assert_eq!((text.init, text.dtype), (Init::Uniform, Dtype::F32));
}
