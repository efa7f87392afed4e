//! Behaviour digests: one short run of each kind, with every setting written out, and a digest of
//! its final weights checked against `tests/it/behaviour.digests`.
//!
//! A change that is meant to leave the engine's behaviour alone (a renaming, a module moved, a
//! buffer regrouped) must leave every digest as it is. The bits of a run depend on the BLAS build
//! that multiplies (its kernels round differently), so the file records digests per BLAS build,
//! keyed by the library's own description of itself (`blas::config()`). On a build the file does
//! not know, the test still checks that two runs give the same bits, and prints the lines to add.

use blasrnn::data::series::Cut;
use blasrnn::optim::{OptimizerKind, Schedule};
use blasrnn::train::TrainConfig;
use blasrnn::{CellKind, Control, Dataset, Dtype, Init, Readout};
use std::path::Path;

/// FNV-1a over the bits of every weight.
fn digest(params: &[f64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in params {
        for b in p.to_bits().to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// `cfg` with every setting that a rule could choose written out.
#[allow(clippy::too_many_arguments)]
fn explicit(
    data: &Dataset,
    cell: CellKind,
    hidden: usize,
    layers: usize,
    readout: Readout,
    dtype: Dtype,
    iters: usize,
    batch: usize,
) -> TrainConfig {
    let mut cfg = TrainConfig::for_data(data);
    cfg.cell = cell;
    cfg.hidden = hidden;
    cfg.layers = layers;
    cfg.bidirectional = false;
    cfg.patch = 1;
    cfg.readout = readout;
    cfg.iters = iters;
    cfg.batch = batch;
    cfg.optimizer = OptimizerKind::Adam;
    cfg.lr = 0.003;
    cfg.lr_schedule = Schedule::Cosine;
    cfg.warmup = 5;
    cfg.clip = Some(1.0);
    cfg.init = Init::Uniform;
    cfg.forget_bias = (cell == CellKind::Lstm).then_some(1.0);
    cfg.dropout = 0.0;
    cfg.output_dropout = 0.0;
    cfg.seed = 11;
    cfg.validation = 0.0;
    cfg.threads = 2;
    cfg.step_threads = Some(1);
    cfg.dtype = dtype;
    cfg.time_budget = None;
    cfg.keep_subnormals = false;
    cfg
}

/// The runs: (name, data, settings).
fn runs() -> Vec<(&'static str, Dataset, TrainConfig)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut out = Vec::new();

    let mnist = blasrnn::data::load(root.join("mnist")).unwrap();
    let mut cfg = explicit(
        &mnist,
        CellKind::Tanh,
        20,
        1,
        Readout::Seq,
        Dtype::F64,
        10,
        50,
    );
    cfg.init = Init::Seed;
    cfg.optimizer = OptimizerKind::Sgd;
    cfg.lr = 0.004;
    cfg.clip = None;
    out.push(("images: the seed model", mnist, cfg));

    let vowels = blasrnn::data::load(root.join("uea/JapaneseVowels")).unwrap();
    let mut cfg = explicit(
        &vowels,
        CellKind::Gru,
        12,
        2,
        Readout::Last,
        Dtype::F64,
        30,
        16,
    );
    cfg.bidirectional = true;
    cfg.validation = 0.2;
    out.push(("classes: bidirectional GRU, validation", vowels, cfg));

    let motions = blasrnn::data::load(root.join("uea/BasicMotions")).unwrap();
    let mut cfg = explicit(
        &motions,
        CellKind::Tanh,
        10,
        1,
        Readout::Mean,
        Dtype::F32,
        30,
        8,
    );
    cfg.patch = 4;
    cfg.optimizer = OptimizerKind::Momentum;
    cfg.lr = 0.01;
    cfg.lr_schedule = Schedule::Constant;
    cfg.output_dropout = 0.2;
    out.push(("classes: tanh in patches, momentum", motions, cfg));

    let covid = blasrnn::data::load(root.join("tser/Covid3Month")).unwrap();
    let mut cfg = explicit(
        &covid,
        CellKind::Lstm,
        12,
        1,
        Readout::Mean,
        Dtype::F32,
        30,
        8,
    );
    cfg.validation = 0.2;
    out.push(("regression: LSTM, validation", covid, cfg));

    let mut cut = Cut::new(48);
    cut.window = Some(96);
    cut.season = Some(48);
    cut.test_len = Some(96);
    cut.residual = Some(true);
    let taylor = blasrnn::data::load_series(root.join("forecast/taylor.csv"), &cut).unwrap();
    let mut cfg = explicit(
        &taylor,
        CellKind::Gru,
        8,
        1,
        Readout::Last,
        Dtype::F32,
        20,
        32,
    );
    cfg.validation = 0.1;
    out.push(("series: residual GRU", taylor, cfg));

    let segments = blasrnn::data::load(root.join("segments/basicmotions_segments.npz")).unwrap();
    let cfg = explicit(
        &segments,
        CellKind::Lstm,
        8,
        2,
        Readout::Step,
        Dtype::F64,
        20,
        4,
    );
    out.push(("tags: a class at every step", segments, cfg));

    let text = blasrnn::data::load_text(root.join("tinyshakespeare/input.txt"), 0.1).unwrap();
    let readout = TrainConfig::for_data(&text).readout;
    let mut cfg = explicit(&text, CellKind::Lstm, 24, 2, readout, Dtype::F32, 15, 8);
    cfg.seq_len = 32;
    cfg.dropout = 0.1;
    out.push(("text: two-layer LSTM with dropout", text, cfg));

    out
}

fn trained(data: &Dataset, cfg: &TrainConfig) -> u64 {
    let model = blasrnn::fit(cfg, data, |_| Control::Continue).unwrap_or_else(|e| panic!("{e}"));
    digest(&model.params())
}

#[test]
fn every_kind_of_run_keeps_its_recorded_weights() {
    let build = blasrnn::blas::config().unwrap_or_else(|| blasrnn::blas::backend().to_string());
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/behaviour.digests");
    let recorded = std::fs::read_to_string(&file).unwrap();
    let mut ours = Vec::new();
    let mut lines = Vec::new();
    for (name, data, cfg) in runs() {
        let d = trained(&data, &cfg);
        assert_eq!(d, trained(&data, &cfg), "{name}: a rerun gives other bits");
        lines.push(format!("{build} | {name} | {d:016x}"));
        ours.push((name, d));
    }
    let known: Vec<&str> = recorded
        .lines()
        .filter(|l| l.starts_with(&format!("{build} |")))
        .collect();
    if known.is_empty() {
        eprintln!(
            "no digests recorded for `{build}`; to record them, add to {}:\n{}",
            file.display(),
            lines.join("\n")
        );
        return;
    }
    for (name, d) in ours {
        let line = known
            .iter()
            .find(|l| l.split(" | ").nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no digest recorded for `{name}` on `{build}`"));
        let want = line.rsplit(" | ").next().unwrap();
        assert_eq!(
            format!("{d:016x}"),
            want,
            "{name}: the weights changed on `{build}`"
        );
    }
}
