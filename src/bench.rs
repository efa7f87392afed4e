//! `blasrnn bench`: the batched engine against the original algorithm on the same data, BLAS and
//! threads, and both against this machine's large-dgemm rate, all measured in one run.
//!
//! Each throughput is the median of several equal segments (timings here are noisy); the dgemm
//! rate is the median of several n³ products. FLOPs are exact: [`Model::flops`] counts every
//! product the engine asks BLAS for (a test checks it against the BLAS wrapper's own counter).

use crate::blas::{self, Op};
use crate::mnist::Split;
use crate::model::Model;
use crate::real::Real;
use crate::reference::{IMAGES_PER_ITER, Reference};
use crate::train::{TrainConfig, Trainer};
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

/// Training throughput of the engine (samples/s) for each configuration: `segments` timed runs
/// of `iters` iterations each after `warmup` untimed ones, the configurations' segments
/// interleaved so that drifts of a noisy machine hit all of them alike; the median segment of each.
/// Every configuration must be of `T`'s dtype.
pub fn engine_throughputs<T: Real>(
    data: &Split,
    configs: &[TrainConfig],
    warmup: usize,
    segments: usize,
    iters: usize,
) -> Vec<f64> {
    let total = warmup + segments * iters;
    let mut trainers: Vec<Trainer<T>> = configs
        .iter()
        .map(|c| Trainer::new(c.clone(), data.rows, data.cols, data.len()))
        .collect();
    for tr in &mut trainers {
        for it in 0..warmup {
            tr.step(data, it, total);
        }
    }
    let mut rates = vec![Vec::with_capacity(segments); configs.len()];
    for seg in 0..segments {
        for (tr, r) in trainers.iter_mut().zip(&mut rates) {
            let start = Instant::now();
            tr.in_pool(|tr| {
                for it in 0..iters {
                    tr.step(data, warmup + seg * iters + it, total);
                }
            });
            r.push((iters * tr.config.batch) as f64 / start.elapsed().as_secs_f64());
        }
    }
    rates.into_iter().map(median).collect()
}

/// Exact FLOPs of one trained sample (forward + backward) of `model` at batch size `batch`.
pub fn flops_per_sample<T: Real>(model: &Model<T>, batch: usize) -> f64 {
    let (f, b) = model.flops(batch);
    (f + b) as f64 / batch as f64
}

/// Training throughput of the original algorithm (images/s): `segments` timed runs of
/// `iters` iterations (100 images each), the median segment.
pub fn reference_throughput(data: &Split, hidden: usize, segments: usize, iters: usize) -> f64 {
    let mut r = Reference::new(hidden, data.rows, data.cols, 0.01, 1);
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
