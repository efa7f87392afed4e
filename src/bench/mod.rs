//! `blasrnn bench`: the engine's training throughput on each workload, the original algorithm on
//! the same data, BLAS and threads, and all of it against this machine's large-GEMM rate,
//! measured in one run.
//!
//! Each throughput is the median of several equal segments (timings here are noisy), the
//! workloads' segments interleaved so that a drift of the machine hits them alike; the GEMM rate
//! is the median of several n³ products. FLOPs are exact: [`Network::flops`] counts every product
//! the engine asks BLAS for (a test checks it against the BLAS wrapper's own counter).

pub mod scaling;

use crate::blas::{self, Cutting, Op};
use crate::data::SeqSet;
use crate::network::{Network, NetworkConfig, Task};
use crate::real::Real;
use crate::reference::{IMAGES_PER_ITER, Reference};
use crate::train::{Data, TrainConfig, Trainer};
use std::time::Instant;

/// Median of a non-empty list.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// GFLOP/s of `C = A·B` for n×n matrices of `T` (dgemm or sgemm) with `threads` BLAS threads:
/// the median of `reps` runs after one warm-up. BLAS is set back to one thread afterwards (the
/// engine's setting).
pub fn gemm_peak<T: Real>(n: usize, threads: usize, reps: usize) -> f64 {
    blas::set_threads(threads);
    let a: Vec<T> = (0..n * n)
        .map(|i| T::from_f64((i % 97) as f64 * 0.01))
        .collect();
    let b: Vec<T> = (0..n * n)
        .map(|i| T::from_f64((i % 89) as f64 * 0.01))
        .collect();
    let mut c = vec![T::ZERO; n * n];
    let mut rates = Vec::with_capacity(reps);
    for rep in 0..=reps {
        let start = Instant::now();
        blas::gemm(Op::N, Op::N, n, n, n, 1.0, &a, n, &b, n, 0.0, &mut c, n);
        let secs = start.elapsed().as_secs_f64();
        if rep > 0 {
            rates.push(2.0 * (n as f64).powi(3) / secs / 1e9);
        }
    }
    blas::set_threads(1);
    median(rates)
}

/// Training throughput of the engine (predictions a second: samples, or characters of text) of
/// each `(run, model, cutting)` on `data`: `segments` timed runs of `iters` iterations each after
/// `warmup` untimed ones, the workloads' segments interleaved, each with products cut as its
/// `cutting` says; the median segment of each. Every run must be of `T`'s dtype. Cutting is back
/// to [`Cutting::Auto`] afterwards.
///
/// # Errors
/// When the operating system refuses to start the worker threads.
pub fn throughputs<T: Real>(
    data: Data,
    runs: &[(TrainConfig, NetworkConfig, Cutting)],
    warmup: usize,
    segments: usize,
    iters: usize,
) -> crate::Result<Vec<f64>> {
    let mut trainers: Vec<Trainer<T>> = runs
        .iter()
        .map(|(c, m, _)| {
            let mut c = c.clone();
            c.iters = warmup + segments * iters;
            Trainer::new(c, *m)
        })
        .collect::<Result<_, _>>()?;
    for (tr, run) in trainers.iter_mut().zip(runs) {
        blas::set_cutting(run.2);
        tr.in_pool(|tr| {
            for it in 0..warmup {
                tr.step(data, it);
            }
        });
    }
    let mut rates = vec![Vec::with_capacity(segments); runs.len()];
    for seg in 0..segments {
        for ((tr, r), run) in trainers.iter_mut().zip(&mut rates).zip(runs) {
            blas::set_cutting(run.2);
            let start = Instant::now();
            let count = tr.in_pool(|tr| {
                (0..iters)
                    .map(|it| tr.step(data, warmup + seg * iters + it).count)
                    .sum::<usize>()
            });
            r.push(count as f64 / start.elapsed().as_secs_f64());
        }
    }
    blas::set_cutting(Cutting::Auto);
    Ok(rates.into_iter().map(median).collect())
}

/// Whether subnormal numbers reach a run's products: `steps` training steps of `config` (from its
/// seed) with subnormals kept, and after each, the subnormals among the parameters and every
/// buffer the products read and write; `(subnormal, all)` summed over the steps.
///
/// # Errors
/// When the operating system refuses to start the worker threads.
pub fn subnormal_probe<T: Real>(
    data: Data,
    config: &TrainConfig,
    model: NetworkConfig,
    steps: usize,
) -> crate::Result<(usize, usize)> {
    let config = TrainConfig {
        keep_subnormals: true,
        iters: steps.max(1),
        ..config.clone()
    };
    let mut tr = Trainer::<T>::new(config, model)?;
    Ok(tr.in_pool(|tr| {
        (0..steps).fold((0, 0), |(s, a), it| {
            tr.step(data, it);
            let (ts, ta) = tr.subnormals();
            (s + ts, a + ta)
        })
    }))
}

/// Exact FLOPs of one trained prediction (forward + backward) of `model` at batch size `batch`
/// (sequences of `t` steps; a language model's predictions are its characters, its state
/// carried).
pub fn flops_per_prediction<T: Real>(model: &Network<T>, batch: usize, t: usize) -> f64 {
    let lm = model.config.task == Task::NextToken;
    let (f, b) = model.flops(batch, t, lm);
    let predictions = if lm { batch * t } else { batch };
    (f + b) as f64 / predictions as f64
}

/// Training throughput of the original algorithm (images/s): `segments` timed runs of
/// `iters` iterations (100 images each), the median segment.
pub fn reference_throughput(data: &SeqSet, hidden: usize, segments: usize, iters: usize) -> f64 {
    let mut r = Reference::new(hidden, data.steps, data.dims, 0.01, 1);
    let mut rates = Vec::with_capacity(segments);
    for _ in 0..segments {
        let start = Instant::now();
        for _ in 0..iters {
            r.iteration(data);
        }
        rates.push((iters * IMAGES_PER_ITER) as f64 / start.elapsed().as_secs_f64());
    }
    median(rates)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
