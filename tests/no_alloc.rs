//! A training step allocates nothing: buffers are sized once, then reused (one thread; threads
//! in row shards with the loop inside `Trainer::in_pool`, in a team splitting each step, and
//! both) — classifiers, regression, a class at every step, one and two directions, language
//! models. Nor does a step of streaming prediction, on one thread or split across two.
//!
//! A test with its own `main` (`harness = false`): the counting allocator sees every thread of the
//! process, and libtest's own threads allocate at moments of their choosing.

mod common;

use blasrnn::data::SeqSet;
use blasrnn::data::text::Vocab;
use blasrnn::network::NetworkConfig;
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::{Loss, Readout};
use blasrnn::optim::OptimizerKind;
use blasrnn::real::{Dtype, Real};
use blasrnn::train::{Data, TrainConfig, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static ALLOC: Counting = Counting;

fn main() {
    let images = common::synthetic_split(100, 28, 28, 1);
    let ragged = ragged_set(100, 12, 3);
    let regression = ragged
        .clone()
        .with_values(
            (0..200).map(|i| i as f64 * 0.01).collect(),
            2,
            vec!["a".into(), "b".into()],
        )
        .unwrap();
    let steps = (0..100 * 12).map(|i| (i % 3) as u32).collect();
    let tagged = ragged
        .clone()
        .with_step_labels(steps, (0..3).map(|c| c.to_string()).collect())
        .unwrap();
    let text = common::synthetic_text(4000, 5);
    let tokens = Vocab::of(&text).encode(&text).expect("own vocabulary");
    // Trainers stay alive to the end: a dropped thread pool winding down would allocate while
    // the next configuration is being counted.
    let (mut done64, mut done32) = (Vec::new(), Vec::new());
    let mut runs = 0;
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for dtype in [Dtype::F64, Dtype::F32] {
            let mut check = |cfg: TrainConfig, model: NetworkConfig, data: Data, what: String| {
                let cfg = TrainConfig { dtype, ..cfg };
                let n = match dtype {
                    Dtype::F64 => count_in_steps::<f64>(cfg, model, data, &mut done64),
                    Dtype::F32 => count_in_steps::<f32>(cfg, model, data, &mut done32),
                };
                assert_eq!(
                    n, 0,
                    "{cell:?}/{dtype:?}/{what}: {n} allocations in 199 steps"
                );
                runs += 1;
            };
            for readout in [Readout::Seq, Readout::Last] {
                // Threads in row shards, in a team splitting the steps, and both.
                for (optimizer, threads, team) in [
                    (OptimizerKind::Sgd, 1, 1),
                    (OptimizerKind::Momentum, 2, 1),
                    (OptimizerKind::Adam, 1, 1),
                    (OptimizerKind::Adam, 2, 1),
                    (OptimizerKind::Adam, 2, 2),
                    (OptimizerKind::Sgd, 4, 2),
                ] {
                    let cfg = TrainConfig {
                        hidden: 32,
                        batch: 25,
                        optimizer,
                        lr: 0.001,
                        warmup: 2,
                        step_threads: Some(team),
                        ..common::config(cell, readout, threads, 1)
                    };
                    let model = cfg.classifier(&images);
                    let what =
                        format!("{readout:?}/{optimizer:?}/{threads} threads in teams of {team}");
                    check(cfg, model, Data::Labelled(&images), what);
                }
            }
            // Sequences of different lengths, two layers, the mean and last readouts.
            for (readout, threads) in [(Readout::Mean, 1), (Readout::Last, 2)] {
                let cfg = TrainConfig {
                    layers: 2,
                    batch: 25,
                    ..common::config(cell, readout, threads, 1)
                };
                let model = cfg.classifier(&ragged);
                check(
                    cfg,
                    model,
                    Data::Labelled(&ragged),
                    format!("ragged/{readout:?}/{threads} threads"),
                );
            }
            // Regression (a loss of each kind) and a class at every step, one and two directions.
            for (set, readout, bidirectional, threads) in [
                (&regression, Readout::Last, false, 1),
                (&regression, Readout::Mean, true, 2),
                (&tagged, Readout::Step, false, 2),
                (&tagged, Readout::Step, true, 1),
            ] {
                let cfg = TrainConfig {
                    layers: 2,
                    batch: 25,
                    bidirectional,
                    loss: if threads == 1 { Loss::Huber } else { Loss::Mse },
                    ..common::config(cell, readout, threads, 1)
                };
                let model = cfg.classifier(set);
                let what = format!("{:?}/bidirectional {bidirectional}", model.task);
                check(cfg, model, Data::Labelled(set), what);
            }
            // Language models: two layers, the state carried, with and without dropout (between
            // layers; before the head).
            for (dropout, threads, team) in [(0.0, 1, 1), (0.2, 2, 1), (0.2, 2, 2)] {
                let cfg = TrainConfig {
                    layers: 2,
                    hidden: 32,
                    batch: 4,
                    seq_len: 20,
                    dropout,
                    output_dropout: dropout,
                    step_threads: Some(team),
                    ..common::config(cell, Readout::Seq, threads, 1)
                };
                let model = cfg.language_model(Vocab::of(&text).len());
                check(
                    cfg,
                    model,
                    Data::Text(&tokens),
                    format!(
                        "language model/dropout {dropout}/{threads} threads in teams of {team}"
                    ),
                );
            }
        }
    }
    runs += streams(&images, &ragged, &text);
    runs += streams_of_values_and_steps(&regression, &tagged);
    println!("no_alloc: {runs} passed, 0 failed");
}

/// Allocations in 100 steps of `model`'s stream on `threads` threads (after a first), each a
/// frame of `dims` numbers.
fn allocations_in_pushes(model: &blasrnn::Model, dims: usize, threads: usize) -> usize {
    let mut live = model.stream_with_threads(threads).unwrap();
    let frame = vec![0.5; dims];
    live.push(&frame).unwrap();
    COUNT.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..100 {
        live.push(&frame).unwrap();
    }
    COUNTING.store(false, Ordering::Relaxed);
    COUNT.load(Ordering::Relaxed)
}

/// A regression model's stream and a tagger's, fed 100 frames each, allocate nothing.
fn streams_of_values_and_steps(regression: &SeqSet, tagged: &SeqSet) -> usize {
    use blasrnn::data::{Dataset, Labelled};
    let mut checked = 0;
    for (set, readout) in [(regression, Readout::Last), (tagged, Readout::Step)] {
        let data = Dataset::Labelled(Labelled::new(set.clone(), set.clone()).unwrap());
        let cfg = TrainConfig {
            iters: 2,
            ..common::config(CellKind::Gru, readout, 1, 1)
        };
        let model = blasrnn::fit(&cfg, &data, |_| blasrnn::Control::Continue).unwrap();
        let n = allocations_in_pushes(&model, set.dims, 1);
        assert_eq!(n, 0, "stream {readout:?}: {n} allocations in 100 steps");
        checked += 1;
    }
    checked
}

/// Streaming prediction allocates nothing per step either: a classifier of every readout (both
/// dtypes) fed 100 frames, a language model 100 characters. Returns how many were checked.
fn streams(images: &SeqSet, ragged: &SeqSet, text: &str) -> usize {
    use blasrnn::data::{Dataset, Labelled};
    let mut checked = 0;
    for dtype in [Dtype::F64, Dtype::F32] {
        for (readout, set) in [
            (Readout::Seq, images),
            (Readout::Last, ragged),
            (Readout::Mean, ragged),
        ] {
            let data = Dataset::Labelled(Labelled::new(set.clone(), set.clone()).unwrap());
            let cfg = TrainConfig {
                iters: 2,
                layers: 2,
                hidden: 64,
                dtype,
                ..common::config(CellKind::Lstm, readout, 1, 1)
            };
            let model = blasrnn::fit(&cfg, &data, |_| blasrnn::Control::Continue).unwrap();
            // One thread, and each step split across two (H = 64: every product is split).
            for threads in [1, 2] {
                let n = allocations_in_pushes(&model, set.dims, threads);
                assert_eq!(
                    n, 0,
                    "stream {readout:?}/{dtype:?}/{threads} threads: {n} allocations in 100 steps"
                );
                checked += 1;
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("blasrnn-no-alloc-{}.txt", std::process::id()));
    std::fs::write(&dir, text).unwrap();
    let data = blasrnn::data::load_text(&dir, 0.1).unwrap();
    std::fs::remove_file(&dir).unwrap();
    let cfg = TrainConfig {
        iters: 2,
        layers: 2,
        hidden: 64,
        batch: 4,
        seq_len: 20,
        ..common::config(CellKind::Gru, Readout::Seq, 1, 1)
    };
    let model = blasrnn::fit(&cfg, &data, |_| blasrnn::Control::Continue).unwrap();
    for threads in [1, 2] {
        let mut live = model.stream_with_threads(threads).unwrap();
        live.push_char('a').unwrap();
        COUNT.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        for c in text.chars().take(100) {
            live.push_char(c).unwrap();
        }
        COUNTING.store(false, Ordering::Relaxed);
        let n = COUNT.load(Ordering::Relaxed);
        assert_eq!(
            n, 0,
            "language-model stream on {threads} threads: {n} allocations in 100 characters"
        );
        checked += 1;
    }
    checked
}

/// `n` float sequences of 1..=`t` steps of 4 numbers, `k` classes.
fn ragged_set(n: usize, t: usize, k: usize) -> SeqSet {
    let mut g = common::Lcg(9);
    let d = 4;
    let mut values = vec![0.0f64; n * t * d];
    let mut lens = Vec::new();
    for i in 0..n {
        let len = 1 + g.below(t);
        for v in &mut values[i * t * d..(i * t + len) * d] {
            *v = g.next_f64();
        }
        lens.push(len as u32);
    }
    let labels = (0..n).map(|i| (i % k) as u32).collect();
    SeqSet::from_floats(
        values,
        lens,
        labels,
        t,
        d,
        (0..k).map(|c| c.to_string()).collect(),
    )
    .unwrap()
}

/// Allocations during 199 training steps of a fresh trainer for `cfg` (kept alive in `done`).
fn count_in_steps<T: Real>(
    cfg: TrainConfig,
    model: NetworkConfig,
    data: Data,
    done: &mut Vec<Trainer<T>>,
) -> usize {
    let mut tr = Trainer::<T>::new(TrainConfig { iters: 200, ..cfg }, model).unwrap();
    let n = tr.in_pool(|tr| {
        tr.step(data, 0);
        COUNT.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        // Crosses epoch boundaries (reshuffles, or the streams' reset) too.
        for it in 1..200 {
            tr.step(data, it);
        }
        COUNTING.store(false, Ordering::Relaxed);
        COUNT.load(Ordering::Relaxed)
    });
    done.push(tr);
    n
}
