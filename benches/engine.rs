//! Criterion benchmarks: a forward pass and a whole training step per batch of 100 (T = 28) at
//! H = 50, 128, 256 (tanh) and H = 128 (LSTM, GRU), a training step of the default language model
//! (LSTM 2×256, 64 streams × 100 characters, f32), one sample of the reference algorithm, and
//! the products that are cut for OpenBLAS's small-matrix kernels, cut and whole.
//! `cargo bench` (`cargo bench -- gemm_` for the products alone).

use blasrnn::blas::{self, Cutting, Op};
use blasrnn::data::SeqSet;
use blasrnn::data::mnist::Mnist;
use blasrnn::data::text::Corpus;
use blasrnn::network::{Init, Network};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::Dtype;
use blasrnn::reference::Reference;
use blasrnn::train::{Data, TrainConfig, Trainer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::path::Path;

const BATCH: usize = 100;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn data() -> SeqSet {
    let mut train = Mnist::load(&root().join("data/mnist"))
        .expect("data/mnist")
        .train;
    train.norm = blasrnn::data::Norm::scaled(train.dims, 1.0 / 255.0);
    train
}

fn config(cell: CellKind, hidden: usize) -> TrainConfig {
    TrainConfig {
        cell,
        hidden,
        layers: 1,
        readout: Readout::Seq,
        iters: 1_000_000,
        batch: BATCH,
        optimizer: OptimizerKind::Adam,
        lr: 0.001,
        lr_schedule: Schedule::Constant,
        warmup: 0,
        init: Init::Seed,
        threads: 1,
        dtype: Dtype::F64,
        ..TrainConfig::for_kind(blasrnn::data::Kind::Images)
    }
}

fn engine(c: &mut Criterion) {
    let train = data();
    let cells: &[(CellKind, &[usize])] = &[
        (CellKind::Tanh, &[50, 128, 256]),
        (CellKind::Lstm, &[128]),
        (CellKind::Gru, &[128]),
    ];
    for &(cell, sizes) in cells {
        for &h in sizes {
            let mut g = c.benchmark_group(format!("{}_h{h}", cell.name()));
            g.throughput(Throughput::Elements(BATCH as u64));
            let cfg = config(cell, h);
            let model = Network::<f64>::new(cfg.classifier(&train));
            let params = model.init(Init::Seed, &mut StdRng::seed_from_u64(1));
            let mut ws = model.workspace(BATCH, train.steps, false);
            let mut idx: Vec<usize> = (0..BATCH).collect();
            train.load_batch(&mut idx, &mut ws.batch);
            g.bench_function("forward_batch100", |b| {
                b.iter(|| black_box(model.forward(black_box(&params), &mut ws, None)))
            });
            let mut tr = Trainer::<f64>::new(cfg.clone(), cfg.classifier(&train)).unwrap();
            let mut it = 0;
            g.bench_function("train_step_batch100", |b| {
                b.iter(|| {
                    it += 1;
                    black_box(tr.step(Data::Labelled(&train), it))
                })
            });
            if cell != CellKind::Tanh {
                let cfg = TrainConfig {
                    dtype: Dtype::F32,
                    ..cfg
                };
                let mut tr = Trainer::<f32>::new(cfg.clone(), cfg.classifier(&train)).unwrap();
                g.bench_function("train_step_batch100_f32", |b| {
                    b.iter(|| {
                        it += 1;
                        black_box(tr.step(Data::Labelled(&train), it))
                    })
                });
            }
            g.finish();
        }
    }
}

fn language_model(c: &mut Criterion) {
    let corpus = Corpus::load(&root().join("data/tinyshakespeare/input.txt"), 0.1, None)
        .expect("data/tinyshakespeare/input.txt");
    let cfg = TrainConfig {
        cell: CellKind::Lstm,
        hidden: 256,
        layers: 2,
        batch: 64,
        seq_len: 100,
        init: Init::Uniform,
        dtype: Dtype::F32,
        ..config(CellKind::Lstm, 256)
    };
    let mut tr = Trainer::<f32>::new(cfg.clone(), cfg.language_model(corpus.vocab.len())).unwrap();
    let mut g = c.benchmark_group("lm_lstm_2x256");
    g.throughput(Throughput::Elements(64 * 100));
    g.sample_size(10);
    let mut it = 0;
    g.bench_function("train_step_64x100_f32", |b| {
        b.iter(|| {
            it += 1;
            black_box(tr.step(Data::Text(&corpus.train), it))
        })
    });
    g.finish();
}

fn reference(c: &mut Criterion) {
    let train = data();
    let mut r = Reference::new(50, train.steps, train.dims, 0.01, 1);
    let mut i = 0;
    let mut g = c.benchmark_group("reference_h50");
    g.throughput(Throughput::Elements(1));
    g.bench_function("train_one_image", |b| {
        b.iter(|| {
            i = (i + 1) % train.len();
            r.train_image(black_box(train.bytes(i).expect("bytes")), train.labels[i])
        })
    });
    g.finish();
}

/// One product, cut for OpenBLAS's small-matrix kernels (`blas::Cutting::Auto`) and whole
/// (`Off`), on one thread: throughput in elements is FLOPs (2mnk a call).
fn product<T: blasrnn::real::Real>(
    c: &mut Criterion,
    name: &str,
    (ta, tb): (Op, Op),
    (m, n, k): (usize, usize, usize),
) {
    blas::set_threads(1);
    let (ar, ac) = if ta == Op::N { (m, k) } else { (k, m) };
    let (br, bc) = if tb == Op::N { (k, n) } else { (n, k) };
    let a: Vec<T> = (0..ar * ac)
        .map(|i| T::from_f64((i % 7) as f64 * 0.01))
        .collect();
    let b: Vec<T> = (0..br * bc)
        .map(|i| T::from_f64((i % 5) as f64 * 0.01))
        .collect();
    let mut out = vec![T::ZERO; m * n];
    let mut g = c.benchmark_group(format!("gemm_{name}"));
    g.throughput(Throughput::Elements((2 * m * n * k) as u64));
    for (label, mode) in [("cut", Cutting::Auto), ("whole", Cutting::Off)] {
        g.bench_function(label, |bench| {
            blas::set_cutting(mode);
            bench.iter(|| {
                blas::gemm(ta, tb, m, n, k, 1.0, &a, ac, &b, bc, 1.0, &mut out, n);
                black_box(&out);
            })
        });
    }
    blas::set_cutting(Cutting::Auto);
    g.finish();
}

/// The products cutting is for, at the engine's shapes (per thread: 50 rows of a batch of 100
/// on 2 threads, 32 of the language model's 64 streams).
fn products(c: &mut Criterion) {
    use Op::{N, T};
    product::<f32>(c, "lstm_h128_backward_step_f32", (N, N), (50, 128, 512));
    // The forward step as stored (H·W_hhᵀ, which no cut makes small) and from the transpose.
    product::<f32>(c, "lstm_h128_step_stored_f32", (N, T), (50, 512, 128));
    product::<f32>(c, "lstm_h128_step_transposed_f32", (N, N), (50, 512, 128));
    product::<f32>(c, "lm_h256_step_stored_f32", (N, T), (32, 1024, 256));
    product::<f32>(c, "lm_h256_step_transposed_f32", (N, N), (32, 1024, 256));
    product::<f32>(c, "lm_h256_backward_step_f32", (N, N), (32, 256, 1024));
    product::<f64>(c, "seed_dw_hh_f64", (T, N), (50, 50, 2799));
    product::<f64>(c, "seed_logits_f64", (N, T), (100, 10, 1400));
    // The input projection of 28 pixels over all 50 × 28 rows, and the seed readout's outputs,
    // as stored (X·W_ihᵀ, S·Vᵀ) and from the weight's transpose, which is then cut along m.
    product::<f32>(c, "lstm_h128_input_stored_f32", (N, T), (1400, 512, 28));
    product::<f32>(c, "lstm_h128_input_transposed_f32", (N, N), (1400, 512, 28));
    product::<f64>(c, "seed_input_stored_f64", (N, T), (1400, 50, 28));
    product::<f64>(c, "seed_input_transposed_f64", (N, N), (1400, 50, 28));
    product::<f64>(c, "seed_outputs_stored_f64", (N, T), (1400, 28, 50));
    product::<f64>(c, "seed_outputs_transposed_f64", (N, N), (1400, 28, 50));
}

criterion_group!(benches, engine, language_model, reference, products);
criterion_main!(benches);
