//! A training step allocates nothing: buffers are sized once, then reused (one thread, and two
//! threads with the loop inside `Trainer::in_pool`).
//!
//! A test with its own `main` (`harness = false`): the counting allocator sees every thread of the
//! process, and libtest's own threads allocate at moments of their choosing.

mod common;

use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::mnist::Split;
use blasrnn::model::Init;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::{Dtype, Real};
use blasrnn::train::{TrainConfig, Trainer};
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
    let data = common::synthetic_split(100, 28, 28, 1);
    // Trainers stay alive to the end: a dropped thread pool winding down would allocate while
    // the next configuration is being counted.
    let (mut done64, mut done32) = (Vec::new(), Vec::new());
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for readout in [Readout::Seq, Readout::Last] {
            for (optimizer, threads) in [
                (OptimizerKind::Sgd, 1),
                (OptimizerKind::Momentum, 2),
                (OptimizerKind::Adam, 1),
                (OptimizerKind::Adam, 2),
            ] {
                for dtype in [Dtype::F64, Dtype::F32] {
                    let cfg = TrainConfig {
                        cell,
                        hidden: 32,
                        readout,
                        iters: 10,
                        batch: 25,
                        optimizer,
                        lr: 0.001,
                        lr_schedule: Schedule::Cosine,
                        warmup: 2,
                        clip: Some(1.0),
                        init: Init::Seed,
                        forget_bias: None,
                        seed: 1,
                        threads,
                        raw_pixels: false,
                        dtype,
                    };
                    let n = match dtype {
                        Dtype::F64 => count_in_steps::<f64>(cfg, &data, &mut done64),
                        Dtype::F32 => count_in_steps::<f32>(cfg, &data, &mut done32),
                    };
                    let what =
                        format!("{cell:?}/{readout:?}/{optimizer:?}/{threads} threads/{dtype:?}");
                    assert_eq!(n, 0, "{what}: {n} allocations in 199 steps");
                }
            }
        }
    }
    println!("no_alloc: {} passed, 0 failed", done64.len() + done32.len());
}

/// Allocations during 199 training steps of a fresh trainer for `cfg` (kept alive in `done`).
fn count_in_steps<T: Real>(cfg: TrainConfig, data: &Split, done: &mut Vec<Trainer<T>>) -> usize {
    let mut tr = Trainer::<T>::new(cfg, 28, 28, data.len());
    let n = tr.in_pool(|tr| {
        tr.step(data, 0, 200);
        COUNT.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        // Crosses epoch boundaries (reshuffles) too: 100 images, 25 per batch.
        for it in 1..200 {
            tr.step(data, it, 200);
        }
        COUNTING.store(false, Ordering::Relaxed);
        COUNT.load(Ordering::Relaxed)
    });
    done.push(tr);
    n
}
