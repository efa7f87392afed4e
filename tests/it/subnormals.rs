//! Subnormal numbers: gradients that underflow on purpose agree between f32 and f64 whether
//! subnormals are kept or flushed; training and sampling on several threads (shards and teams)
//! make none when they are flushed and many when they are kept; the library's entry points put
//! the caller's floating-point setting back.

use crate::common;

use blasrnn::blas::flush::{FlushScope, SUPPORTED, control_register, flushing};
use blasrnn::data::Labelled;
use blasrnn::network::{Network, NetworkConfig, Task, Workspace};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::real::{Dtype, Real};
use blasrnn::sample::{SampleOptions, Sampler};
use blasrnn::train::Trainer;
use blasrnn::{Control, Dataset, SeqSet};
use common::Lcg;
use std::sync::atomic::{AtomicBool, Ordering};

/// Parameters of `net` drawn uniform in ±0.8, the recurrent weights then multiplied by
/// `recurrent`.
fn params(net: &Network<f64>, recurrent: f64) -> Vec<f64> {
    let mut g = Lcg(3);
    let mut p: Vec<f64> = (0..net.num_params())
        .map(|_| (g.next_f64() * 2.0 - 1.0) * 0.8)
        .collect();
    scale_recurrent(net.layout().iter(), &mut p, recurrent);
    p
}

/// Multiplies every `weight_hh` of a layout by `by`.
fn scale_recurrent<'a, T: Real>(
    layout: impl Iterator<Item = (&'a blasrnn::nn::params::ParamSpec, std::ops::Range<usize>)>,
    p: &mut [T],
    by: f64,
) {
    for (spec, range) in layout {
        if spec.name.contains("weight_hh") {
            p[range].iter_mut().for_each(|w| *w *= T::from_f64(by));
        }
    }
}

/// The gradient of `net` at `p` on a batch of 4 sequences of `t` steps (the same inputs in
/// either number type), and the subnormals its buffers hold afterwards.
fn gradient<T: Real>(cfg: NetworkConfig, p: &[f64], t: usize) -> (Vec<f64>, usize) {
    let net = Network::<T>::new(cfg);
    let p: Vec<T> = p.iter().map(|&v| T::from_f64(v)).collect();
    let mut ws: Workspace<T> = net.workspace(4, t, false);
    let mut g = Lcg(9);
    ws.batch
        .x
        .iter_mut()
        .for_each(|v| *v = T::from_f64(g.next_f64() * 2.0 - 1.0));
    for (i, y) in ws.batch.targets.iter_mut().enumerate() {
        *y = (i % 2) as u32;
    }
    ws.batch.begin_full(4, t);
    ws.grad.fill(T::ZERO);
    net.forward(&p, &mut ws, None);
    net.backward(&p, &mut ws, 1.0);
    let sub = ws.subnormals().0;
    (ws.grad.iter().map(|v| v.to_f64()).collect(), sub)
}

/// Recurrent weights of 1e-3, gates near one half (an LSTM's forget gates nearly shut), shrink
/// the gradient carried back through the steps by a half or more a step: within 160 steps it
/// passes through f32's subnormal range. Kept or flushed, every
/// parameter's f32 gradient agrees with the f64 one to f32 precision (what underflows is below
/// f32's resolution of the sums it joins); kept, the buffers hold subnormals, flushed, none.
#[test]
fn gradients_that_underflow_agree_in_f32_and_f64() {
    let t = 160;
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        let cfg = NetworkConfig {
            patch: 1,
            cell,
            input: 3,
            hidden: 8,
            layers: 1,
            bidirectional: false,
            task: Task::Classify {
                readout: Readout::Last,
                steps: t,
                outputs: 3,
                classes: 2,
            },
        };
        let net = Network::<f64>::new(cfg);
        let mut p = params(&net, 1e-3);
        // An LSTM's cell state carries its gradient back through the forget gates, a GRU's
        // state through the update gates (z, PyTorch's second block): shut them (σ(−4) ≈ 0.02)
        // so that it vanishes there too.
        net.set_forget_bias(&mut p, -4.0);
        if cell == CellKind::Gru {
            let (_, range) = net
                .layout()
                .iter()
                .find(|(s, _)| s.name == "rnn.bias_ih_l0")
                .unwrap();
            p[range][8..16].fill(-4.0);
        }
        let (wide, _) = gradient::<f64>(cfg, &p, t);
        for flush in [false, true] {
            let _scope = FlushScope::new(flush);
            let (narrow, sub) = gradient::<f32>(cfg, &p, t);
            if !flush {
                assert!(sub > 0, "{cell:?}: the backward pass made no subnormal");
            } else if SUPPORTED {
                assert_eq!(sub, 0, "{cell:?}: subnormals made while flushing");
            }
            for (spec, range) in net.layout().iter() {
                let (a, b) = (&wide[range.clone()], &narrow[range]);
                let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
                let diff = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
                let rel = diff.sqrt() / norm.max(1e-30);
                assert!(
                    rel < 1e-5,
                    "{cell:?} {} (flush {flush}): f32 differs from f64 by {rel:e} of its norm",
                    spec.name
                );
            }
        }
    }
}

/// Sequences of 160 steps of 3 numbers whose class is the sign of their first number's sum.
fn sets() -> Dataset {
    let (n, t, d) = (60, 160, 3);
    let mut g = Lcg(5);
    let x: Vec<f64> = (0..n * t * d).map(|_| g.next_f64() * 2.0 - 1.0).collect();
    let y: Vec<usize> = x
        .chunks(t * d)
        .map(|s| usize::from(s.iter().step_by(d).sum::<f64>() > 0.0))
        .collect();
    let train = SeqSet::from_arrays(&x[..40 * t * d], [40, t, d], None, Some(&y[..40])).unwrap();
    let test = SeqSet::from_arrays(&x[40 * t * d..], [20, t, d], None, Some(&y[40..])).unwrap();
    Dataset::Labelled(Labelled::new(train, test).unwrap())
}

/// An f32 LSTM of 64 units on 4 threads: 2 shards of the batch, each split across a team of 2
/// (so that the teams' members compute blocks of the products and of the elementwise work too),
/// its recurrent weights scaled down so that the backward pass underflows, a learning rate too
/// small to undo that.
fn trainer(keep_subnormals: bool) -> (Trainer<f32>, Dataset) {
    let data = sets();
    let mut cfg = common::config(CellKind::Lstm, Readout::Last, 4, 1);
    (cfg.hidden, cfg.dtype, cfg.step_threads, cfg.lr) = (64, Dtype::F32, Some(2), 1e-7);
    cfg.keep_subnormals = keep_subnormals;
    let model = cfg.network(&data);
    let mut tr = Trainer::<f32>::new(cfg, model).unwrap();
    let layout = tr.net.layout().clone();
    scale_recurrent(layout.iter(), &mut tr.params, 1e-3);
    (tr, data)
}

/// Training on every thread: kept, subnormals reach the buffers; flushed (the default), none
/// does, on any shard's or member's part — whatever the caller's own setting.
#[test]
fn training_flushes_on_every_thread() {
    if !SUPPORTED {
        return;
    }
    for (keep, caller) in [(true, true), (false, false), (false, true)] {
        let _caller = FlushScope::new(caller);
        let (mut tr, data) = trainer(keep);
        let Dataset::Labelled(sets) = &data else {
            unreachable!()
        };
        let train = blasrnn::data::Data::Labelled(&sets.train);
        let sub = tr.in_pool(|tr| {
            (0..3)
                .map(|it| {
                    tr.step(train, it);
                    tr.subnormals().0
                })
                .sum::<usize>()
        });
        if keep {
            assert!(sub > 0, "kept: no subnormal reached the buffers");
        } else {
            assert_eq!(
                sub, 0,
                "flushed (caller {caller}): subnormals in the buffers"
            );
        }
        assert_eq!(flushing(), caller, "the caller's setting after training");
    }
}

/// `fit` computes with subnormals flushed on its training thread (where the callback runs),
/// whatever the caller's setting, and leaves the caller's control register as it found it; so
/// do a model's predictions. With `keep_subnormals`, the training thread keeps them.
#[test]
fn entry_points_restore_the_callers_setting() {
    let data = sets();
    let Dataset::Labelled(sets_) = &data else {
        unreachable!()
    };
    for (keep, caller) in [(false, false), (false, true), (true, true), (true, false)] {
        let _caller = FlushScope::new(caller);
        let before = control_register();
        let mut cfg = common::config(CellKind::Gru, Readout::Last, 2, 1);
        (cfg.dtype, cfg.iters, cfg.keep_subnormals) = (Dtype::F32, 4, keep);
        let (seen, wrong) = (AtomicBool::new(false), AtomicBool::new(false));
        let model = blasrnn::fit(&cfg, &data, |_| {
            seen.store(true, Ordering::SeqCst);
            if flushing() != (!keep && SUPPORTED) {
                wrong.store(true, Ordering::SeqCst);
            }
            Control::Continue
        })
        .unwrap();
        assert!(seen.load(Ordering::SeqCst), "the callback never ran");
        assert!(
            !wrong.load(Ordering::SeqCst),
            "keep {keep}: the training thread's setting"
        );
        assert_eq!(
            control_register(),
            before,
            "keep {keep}, caller {caller}: after fit"
        );
        assert_eq!(model.keep_subnormals(), keep);
        model.classify(&sets_.test).unwrap();
        let mut stream = model.stream().unwrap();
        stream.push(&[0.1, 0.2, 0.3]).unwrap();
        assert_eq!(control_register(), before, "after classify and push");
    }
}

/// Sampling on a team of 2 from a language model whose recurrent products underflow: kept,
/// subnormals in the step's buffers; flushed (the default), none, on either thread's part.
#[test]
fn sampling_flushes_on_every_thread() {
    if !SUPPORTED {
        return;
    }
    let cfg = NetworkConfig {
        patch: 1,
        cell: CellKind::Lstm,
        input: 20,
        hidden: 256,
        layers: 1,
        bidirectional: false,
        task: Task::NextToken,
    };
    // Every weight of the input but token 1's zero, no biases, recurrent weights of 1e-20: after
    // token 1, the state is about 1e-20 and its recurrent products about 1e-39.
    let net = Network::<f32>::new(cfg);
    let wide = Network::<f64>::new(cfg);
    let mut p: Vec<f32> = params(&wide, 1e-20).iter().map(|&v| v as f32).collect();
    for (spec, range) in net.layout().iter() {
        let w = &mut p[range];
        if spec.name.contains("rnn.weight_ih") {
            w.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = if i % 20 == 1 { *v * 1e-20 } else { 0.0 });
        } else if spec.name.contains("rnn.bias") {
            w.fill(0.0);
        }
    }
    for keep in [true, false] {
        let options = SampleOptions {
            threads: 2,
            keep_subnormals: keep,
            ..SampleOptions::default()
        };
        let mut s = Sampler::new(&net, &p, options, 4).unwrap();
        let mut sub = 0;
        for token in [1, 2, 3, 4, 5] {
            s.feed(&[token]);
            sub += s.subnormals().0;
        }
        if keep {
            assert!(sub > 0, "kept: no subnormal in the sampler's buffers");
        } else {
            assert_eq!(sub, 0, "flushed: subnormals in the sampler's buffers");
        }
        assert!(!flushing(), "the caller's setting after sampling");
    }
}
