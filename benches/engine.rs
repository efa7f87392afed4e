//! Criterion benchmarks: a forward pass and a whole training step per batch of 100 (T = 28) at
//! H = 50, 128, 256 (tanh) and H = 128 (LSTM, GRU), and one sample of the reference algorithm.
//! `cargo bench`.

use blasrnn::cell::CellKind;
use blasrnn::head::Readout;
use blasrnn::mnist::{CLASSES, Mnist, Split};
use blasrnn::model::{Init, Model, ModelConfig};
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::Dtype;
use blasrnn::reference::Reference;
use blasrnn::train::{TrainConfig, Trainer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::path::Path;

const BATCH: usize = 100;

fn data() -> Split {
    Mnist::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))
        .expect("data/mnist")
        .train
}

fn config(cell: CellKind, hidden: usize) -> TrainConfig {
    TrainConfig {
        cell,
        hidden,
        readout: Readout::Seq,
        iters: 1_000_000,
        batch: BATCH,
        optimizer: OptimizerKind::Adam,
        lr: 0.001,
        lr_schedule: Schedule::Constant,
        warmup: 0,
        clip: Some(1.0),
        init: Init::Seed,
        forget_bias: None,
        seed: 1,
        threads: 1,
        raw_pixels: false,
        dtype: Dtype::F64,
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
            let model = Model::<f64>::new(ModelConfig {
                cell,
                input: train.cols,
                steps: train.rows,
                hidden: h,
                outputs: train.cols,
                classes: CLASSES,
                readout: Readout::Seq,
            });
            let params = model.init(Init::Seed, &mut StdRng::seed_from_u64(1));
            let mut ws = model.workspace(BATCH);
            let idx: Vec<usize> = (0..BATCH).collect();
            train.widen(&idx, 1.0 / 255.0, &mut ws.x, &mut ws.labels);
            g.bench_function("forward_batch100", |b| {
                b.iter(|| black_box(model.forward(black_box(&params), &mut ws, BATCH)))
            });
            let mut tr = Trainer::<f64>::new(config(cell, h), train.rows, train.cols, train.len());
            let mut it = 0;
            g.bench_function("train_step_batch100", |b| {
                b.iter(|| {
                    it += 1;
                    black_box(tr.step(&train, it, 1_000_000))
                })
            });
            if cell != CellKind::Tanh {
                let cfg = TrainConfig {
                    dtype: Dtype::F32,
                    ..config(cell, h)
                };
                let mut tr = Trainer::<f32>::new(cfg, train.rows, train.cols, train.len());
                g.bench_function("train_step_batch100_f32", |b| {
                    b.iter(|| {
                        it += 1;
                        black_box(tr.step(&train, it, 1_000_000))
                    })
                });
            }
            g.finish();
        }
    }
}

fn reference(c: &mut Criterion) {
    let train = data();
    let mut r = Reference::new(50, train.rows, train.cols, 0.01, 1);
    let mut i = 0;
    let mut g = c.benchmark_group("reference_h50");
    g.throughput(Throughput::Elements(1));
    g.bench_function("train_one_image", |b| {
        b.iter(|| {
            i = (i + 1) % train.len();
            r.train_image(black_box(train.image(i)), train.labels[i])
        })
    });
    g.finish();
}

criterion_group!(benches, engine, reference);
criterion_main!(benches);
