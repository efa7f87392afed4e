//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use blasrnn::data::SeqSet;
use blasrnn::network::{Init, Network, Workspace};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::real::Dtype;
use blasrnn::train::TrainConfig;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small deterministic generator so that tests depend on no seed semantics.
pub struct Lcg(pub u64);

impl Lcg {
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n
    }
}

/// A workspace of `lens.len()` sequences of up to `t` steps (lengths `lens`, longest first) for
/// a model of sequences, filled as the gradient checks fill it: inputs uniform in [−1, 1), class
/// targets `(7i + 3) mod K` (one per sequence, or one per step), real-valued targets uniform in
/// [−1.5, 1.5); begun.
pub fn classifier_batch(model: &Network, t: usize, lens: &[usize]) -> Workspace {
    let b = lens.len();
    let mut ws = model.workspace(b, t, false);
    let mut g = Lcg(7);
    for v in ws.batch.x.iter_mut() {
        *v = g.next_f64() * 2.0 - 1.0;
    }
    let k = model.head().outputs() as u64;
    for (i, l) in ws.batch.targets.iter_mut().enumerate() {
        *l = ((i as u64 * 7 + 3) % k) as u32;
    }
    for v in ws.batch.values.iter_mut() {
        *v = g.next_f64() * 3.0 - 1.5;
    }
    ws.batch.lens[..b].copy_from_slice(lens);
    ws.batch.begin(b, t);
    ws
}

/// A language model's workspace of `b` streams of `t` tokens and targets below `vocab` (with room
/// for dropout masks when `dropout`), begun from a random carried state in [−0.8, 0.8) in every
/// layer.
pub fn carried_lm_batch(
    model: &Network,
    b: usize,
    t: usize,
    vocab: usize,
    dropout: bool,
) -> Workspace {
    let mut ws = model.workspace(b, t, dropout);
    let mut g = Lcg(11);
    for (x, y) in ws.batch.tokens.iter_mut().zip(ws.batch.targets.iter_mut()) {
        *x = g.below(vocab) as u32;
        *y = g.below(vocab) as u32;
    }
    ws.batch.begin_full(b, t);
    for l in 0..model.config.layers {
        let state: Vec<f64> = model
            .state(&ws, l)
            .iter()
            .map(|_| g.next_f64() * 1.6 - 0.8)
            .collect();
        model.set_state(&mut ws, l, &state);
    }
    ws
}

/// A set of `n` random `rows × cols` byte images whose label is a simple function of the pixels
/// (learnable exactly when `rows >= 10`: each label lights its own row), scaled to 0..1.
pub fn synthetic_split(n: usize, rows: usize, cols: usize, seed: u64) -> SeqSet {
    let mut g = Lcg(seed);
    let mut images = Vec::with_capacity(n * rows * cols);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = g.below(10);
        for r in 0..rows {
            for c in 0..cols {
                // A bright stripe at a label-dependent row, noise elsewhere.
                let on = r == label % rows || c == (label * 3) % cols;
                let v = if on { 200 + g.below(56) } else { g.below(60) };
                images.push(v as u8);
            }
        }
        labels.push(label as u32);
    }
    let mut set = SeqSet::from_bytes(images, labels, rows, cols, 10).unwrap();
    set.norm = blasrnn::data::Norm::scaled(cols, 1.0 / 255.0);
    set
}

/// A training configuration of `cell` for tests: small, Adam, seed initialisation, f64.
pub fn config(cell: CellKind, readout: Readout, threads: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        cell,
        hidden: 16,
        layers: 1,
        bidirectional: false,
        patch: 1,
        readout,
        loss: blasrnn::nn::head::Loss::Mse,
        iters: 30,
        batch: 20,
        seq_len: 0,
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        lr_schedule: Schedule::Cosine,
        warmup: 5,
        clip: Some(1.0),
        init: Init::Seed,
        forget_bias: None,
        dropout: 0.0,
        output_dropout: 0.0,
        seed,
        validation: 0.0,
        threads,
        step_threads: None,
        dtype: Dtype::F64,
        time_budget: None,
        keep_subnormals: false,
    }
}

/// A text of `n` characters over a small alphabet with some structure (each character mostly
/// follows from the previous two), for language-model tests.
pub fn synthetic_text(n: usize, seed: u64) -> String {
    let alphabet: Vec<char> = "abcdefgh ,.\n".chars().collect();
    let mut g = Lcg(seed);
    let (mut a, mut b) = (0usize, 1usize);
    (0..n)
        .map(|_| {
            let c = if g.next_f64() < 0.8 {
                (a * 3 + b) % alphabet.len()
            } else {
                g.below(alphabet.len())
            };
            (a, b) = (b, c);
            alphabet[c]
        })
        .collect()
}

/// Runs the `blasrnn` binary from the repository's root.
#[cfg(feature = "cli")]
pub fn blasrnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blasrnn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run blasrnn")
}

/// The JSON object on the last line of a successful run's stdout.
pub fn last_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("output")).expect("last line is JSON")
}

/// Checks that a run failed without a panic and that stderr says each of `needles`.
pub fn fails_with(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

/// The bytes of a `.npy` array (format 1.0).
pub fn npy(descr: &str, shape: &[usize], fortran: bool, data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend(data);
    v
}

pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `<U{n}` strings.
pub fn unicode(v: &[&str], n: usize) -> Vec<u8> {
    v.iter()
        .flat_map(|s| {
            let mut chars: Vec<u32> = s.chars().map(|c| c as u32).collect();
            chars.resize(n, 0);
            chars.into_iter().flat_map(|c| c.to_le_bytes())
        })
        .collect()
}

/// An `.npz` holding `arrays` (name, `.npy` bytes).
pub fn npz_file(dir: &Path, name: &str, arrays: &[(&str, Vec<u8>)]) -> PathBuf {
    let p = dir.join(name);
    let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    for (n, bytes) in arrays {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file(format!("{n}.npy"), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    p
}

/// The tensors of a saved model (parameters, optimizer and streams' state) by name, as bytes,
/// sorted: two runs' files compare bit for bit.
pub fn tensors(path: &str) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<(String, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    v.sort();
    v
}
