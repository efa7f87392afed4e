//! The character-level language model: it learns, the same seed and threads give the same weights
//! and the same sampled text, a stopped run resumes to the very weights of the uninterrupted one,
//! its file has PyTorch's names, and bad input is a one-line error.

use crate::common;

use blasrnn::checkpoint;
use blasrnn::data::text::Vocab;
use blasrnn::network::Network;
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::{Readout, argmax};
use blasrnn::sample::{SampleOptions, Sampler};
use blasrnn::train::{Data, TrainConfig, Trainer};
use common::{blasrnn, fails_with, last_json, synthetic_text, tensors};
use std::path::Path;

const CELLS: [CellKind; 3] = [CellKind::Tanh, CellKind::Lstm, CellKind::Gru];

fn lm_config(cell: CellKind, threads: usize, dropout: f64) -> TrainConfig {
    TrainConfig {
        layers: 2,
        batch: 6,
        seq_len: 12,
        iters: 40,
        dropout,
        ..common::config(cell, Readout::Seq, threads, 3)
    }
}

/// Trains `cfg` on the tokens of `text`; the trainer and the final validation evaluation.
fn train(cfg: TrainConfig, text: &str) -> (Trainer<f64>, blasrnn::train::Evaluation) {
    let vocab = Vocab::of(text);
    let ids = vocab.encode(text).unwrap();
    let (train, val) = ids.split_at(ids.len() * 9 / 10);
    let iters = cfg.iters;
    let model = cfg.language_model(vocab.len());
    let mut tr = Trainer::<f64>::new(cfg, model).unwrap();
    for it in 0..iters {
        tr.step(Data::Text(train), it);
    }
    let e = tr.evaluate(Data::Text(val));
    (tr, e)
}

#[test]
fn same_seed_and_threads_give_bit_identical_weights() {
    let text = synthetic_text(3000, 1);
    for cell in CELLS {
        for (threads, dropout) in [(1, 0.0), (2, 0.25), (3, 0.0)] {
            let (a, ea) = train(lm_config(cell, threads, dropout), &text);
            let (b, eb) = train(lm_config(cell, threads, dropout), &text);
            assert!(
                a.params
                    .iter()
                    .zip(&b.params)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{cell:?} × {threads}"
            );
            assert_eq!(ea, eb);
            let mut other = lm_config(cell, threads, dropout);
            other.seed = 4;
            assert!(train(other, &text).0.params != a.params);
        }
    }
}

/// The largest absolute difference between two runs' parameters.
fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn thread_counts_agree_to_rounding_and_dropout_changes_the_run() {
    let text = synthetic_text(3000, 2);
    let (one, _) = train(lm_config(CellKind::Lstm, 1, 0.0), &text);
    let (two, _) = train(lm_config(CellKind::Lstm, 2, 0.0), &text);
    let worst = largest_difference(&one.params, &two.params);
    assert!(worst < 1e-9, "1 vs 2 threads differ by {worst}");
    // Dropout masks depend on the sequence, not on the thread: 1 and 2 threads agree with it too.
    let (d1, _) = train(lm_config(CellKind::Lstm, 1, 0.3), &text);
    let (d2, _) = train(lm_config(CellKind::Lstm, 2, 0.3), &text);
    let worst = largest_difference(&d1.params, &d2.params);
    assert!(worst < 1e-9, "dropout: 1 vs 2 threads differ by {worst}");
    assert!(d1.params != one.params);
    // Dropout before the head too: other weights than between layers alone, the same on 1 and
    // 2 threads.
    let top = |threads| TrainConfig {
        output_dropout: 0.3,
        ..lm_config(CellKind::Lstm, threads, 0.3)
    };
    let (t1, _) = train(top(1), &text);
    let (t2, _) = train(top(2), &text);
    assert!(t1.params != d1.params && t1.params != one.params);
    let worst = largest_difference(&t1.params, &t2.params);
    assert!(
        worst < 1e-9,
        "output dropout: 1 vs 2 threads differ by {worst}"
    );
}

#[test]
fn a_language_model_learns_a_structured_text() {
    let text = synthetic_text(20000, 3);
    for cell in CELLS {
        let cfg = TrainConfig {
            hidden: 32,
            batch: 16,
            seq_len: 25,
            iters: 300,
            lr: 0.01,
            ..lm_config(cell, 2, 0.0)
        };
        let (_, e) = train(cfg, &text);
        // Uniform guessing over the 12 symbols costs ln 12 = 2.48 nats; the text's own entropy is
        // about 0.2·ln 12 + H(0.8) ≈ 1.0.
        assert!(e.loss < 1.4 && e.accuracy > 0.7, "{cell:?}: {e:?}");
    }
}

#[test]
fn sampling_is_seeded_and_top_k_1_is_greedy() {
    let text = synthetic_text(3000, 4);
    let (tr, _) = train(lm_config(CellKind::Gru, 1, 0.0), &text);
    let vocab = Vocab::of(&text);
    let generate = |seed: u64, top_k: Option<usize>, temperature: f64| -> String {
        let mut out = String::new();
        let config = SampleOptions {
            temperature,
            top_k,
            seed,
            ..SampleOptions::default()
        };
        let mut s = Sampler::new(&tr.net, &tr.params, config, 100).unwrap();
        s.start(&vocab, &vocab.encode("ab").unwrap());
        for _ in 0..200 {
            out.push(vocab.char(s.next_token()));
        }
        out
    };
    assert_eq!(generate(1, None, 1.0), generate(1, None, 1.0));
    assert_ne!(generate(1, None, 1.0), generate(2, None, 1.0));
    assert_eq!(
        generate(1, Some(1), 1.0),
        generate(2, Some(1), 0.5),
        "top-k 1 takes the most likely"
    );
    // Greedy: each drawn token is the arg-max of the distribution before it.
    let config = SampleOptions {
        temperature: 0.7,
        top_k: Some(1),
        seed: 5,
        ..SampleOptions::default()
    };
    let mut s = Sampler::new(&tr.net, &tr.params, config, 7).unwrap();
    s.feed(&vocab.encode("abc").unwrap());
    for _ in 0..50 {
        let want = argmax(s.distribution());
        assert_eq!(s.next_token() as usize, want);
    }
    // Priming in chunks gives the distribution priming in one piece does.
    let model: &Network = &tr.net;
    let prime = vocab.encode(&text[..40]).unwrap();
    let config = SampleOptions {
        temperature: 1.0,
        top_k: None,
        ..SampleOptions::default()
    };
    let mut whole = Sampler::new(model, &tr.params, config, 64).unwrap();
    let mut parts = Sampler::new(model, &tr.params, config, 7).unwrap();
    whole.feed(&prime);
    parts.feed(&prime);
    for (a, b) in whole.distribution().iter().zip(parts.distribution()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

/// Sampling with each step split across threads draws the same text as one thread, from the same
/// distributions to rounding, and again the same on a rerun (H = 64: every product is split).
#[test]
fn sampling_on_several_threads_draws_what_one_thread_draws() {
    let text = synthetic_text(3000, 4);
    let cfg = TrainConfig {
        hidden: 64,
        iters: 40,
        ..lm_config(CellKind::Lstm, 1, 0.0)
    };
    let (tr, _) = train(cfg, &text);
    let vocab = Vocab::of(&text);
    let generate = |threads: usize| {
        let config = SampleOptions {
            threads,
            ..SampleOptions::default()
        };
        let mut s = Sampler::new(&tr.net, &tr.params, config, 100).unwrap();
        s.start(&vocab, &vocab.encode("ab").unwrap());
        let mut dists = Vec::new();
        let text: String = (0..200)
            .map(|_| {
                dists.extend_from_slice(s.distribution());
                vocab.char(s.next_token())
            })
            .collect();
        (text, dists)
    };
    let (one, d1) = generate(1);
    for threads in [2, 3] {
        let (many, d) = generate(threads);
        assert_eq!(one, many, "{threads} threads");
        let worst = d1
            .iter()
            .zip(&d)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-12,
            "{threads} threads: distributions differ by {worst}"
        );
        assert_eq!(
            generate(threads),
            (many, d),
            "{threads} threads: a rerun differs"
        );
    }
}

fn write_text(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A run stopped part-way (`--stop-at`) and resumed ends with the weights, optimizer state and
/// streams' state of the uninterrupted run, for every cell, for the language model and for the
/// classifier.
#[test]
fn a_stopped_run_resumes_to_the_uninterrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let text = write_text(dir.path(), "t.txt", &synthetic_text(4000, 6));
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for cell in ["tanh", "lstm", "gru"] {
        let lm = [
            "--text",
            &text,
            "--cell",
            cell,
            "--hidden",
            "12",
            "--batch",
            "4",
            "--seq-len",
            "10",
            "--iters",
            "120",
            "--dropout",
            "0.1",
            "--threads",
            "2",
            "--quiet",
        ];
        let mnist = [
            "--cell",
            cell,
            "--hidden",
            "8",
            "--batch",
            "20",
            "--iters",
            "25",
            "--threads",
            "2",
            "--quiet",
            "--layers",
            "2",
        ];
        // 120 iterations cross the text's epoch boundary (90 chunks): the stop is before it.
        for (task, args, stop) in [("lm", &lm[..], "47"), ("mnist", &mnist[..], "11")] {
            let (whole, part) = (
                path(&format!("{cell}-{task}-whole")),
                path(&format!("{cell}-{task}-part")),
            );
            let run = |extra: &[&str]| {
                let mut a = vec!["train"];
                a.extend(args);
                a.extend(extra);
                let out = blasrnn(&a);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out
            };
            run(&["--save", &whole]);
            let stopped = run(&["--save", &part, "--stop-at", stop]);
            let said = String::from_utf8_lossy(&stopped.stdout);
            assert!(
                said.contains(&format!("continue with: blasrnn train --resume {part}")),
                "{said}"
            );
            let out = blasrnn(&[
                "train", "--resume", &part, "--save", &part, "--quiet", "--text", &text,
            ]);
            let out = if task == "lm" {
                out
            } else {
                blasrnn(&["train", "--resume", &part, "--save", &part, "--quiet"])
            };
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (a, b) = (tensors(&whole), tensors(&part));
            assert_eq!(a.len(), b.len());
            for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
                assert_eq!(na, nb);
                assert!(ta == tb, "{cell}/{task}: {na} differs after resuming");
            }
        }
    }
}

#[test]
fn train_sample_and_eval_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = write_text(dir.path(), "t.txt", &synthetic_text(6000, 7));
    let model = dir
        .path()
        .join("lm.safetensors")
        .to_str()
        .unwrap()
        .to_string();
    let trained = last_json(&blasrnn(&[
        "train",
        "--text",
        &text,
        "--hidden",
        "16",
        "--batch",
        "8",
        "--seq-len",
        "16",
        "--iters",
        "60",
        "--warmup",
        "10",
        "--lr",
        "0.01",
        "--threads",
        "2",
        "--save",
        &model,
        "--json",
    ]));
    assert_eq!(trained["task"], "lm");
    assert_eq!(
        (trained["cell"].as_str(), trained["layers"].as_u64()),
        (Some("lstm"), Some(2))
    );
    let loss = trained["val_loss"].as_f64().unwrap();
    assert!(loss < (12f64).ln(), "validation loss {loss}");
    assert!((trained["val_bpc"].as_f64().unwrap() - loss / 2f64.ln()).abs() < 1e-12);
    assert!(trained["train_tokens_per_sec"].as_f64().unwrap() > 0.0);

    // PyTorch's names for nn.LSTM(V, H, num_layers=2) and nn.Linear(H, V), the streams' state.
    let names: Vec<String> = tensors(&model).into_iter().map(|(n, _)| n).collect();
    for n in [
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l1",
        "rnn.bias_ih_l1",
        "rnn.bias_hh_l0",
        "out.weight",
        "out.bias",
        "state.h_n",
        "state.c_n",
        "optimizer.exp_avg",
    ] {
        assert!(names.iter().any(|m| m == n), "{n} missing from {names:?}");
    }
    let ck = checkpoint::load(Path::new(&model)).unwrap();
    assert_eq!(
        ck.state.as_ref().map(|s| (s.len(), s[0].len())),
        Some((2, 8 * 32))
    );

    let evaluated = last_json(&blasrnn(&[
        "eval", "--model", &model, "--text", &text, "--json",
    ]));
    assert_eq!(evaluated["val_loss"], trained["val_loss"]);

    let sample = |seed: &str| {
        let out = blasrnn(&[
            "sample",
            "--model",
            &model,
            "--prime",
            "ab",
            "--length",
            "80",
            "--temperature",
            "0.8",
            "--seed",
            seed,
            "--json",
        ]);
        last_json(&out)
    };
    let (a, b, c) = (sample("3"), sample("3"), sample("4"));
    assert_eq!(a["text"], b["text"]);
    assert_ne!(a["text"], c["text"]);
    assert_eq!(a["text"].as_str().unwrap().chars().count(), 80);
    assert!(a["chars_per_sec"].as_f64().unwrap() > 0.0);
    let out = blasrnn(&[
        "sample", "--model", &model, "--prime", "ab", "--length", "30", "--seed", "3",
    ]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.starts_with("ab"), "{printed}");

    // Bad input: one line, the reason, no panic.
    fails_with(
        &blasrnn(&["sample", "--model", &model, "--prime", "aXbY!"]),
        &["--prime", "'X', 'Y', '!'"],
    );
    fails_with(
        &blasrnn(&["sample", "--model", &model, "--temperature", "0"]),
        &["--temperature must be a positive number"],
    );
    fails_with(
        &blasrnn(&["sample", "--model", &model, "--temperature", "-1"]),
        &["--temperature must be a positive number"],
    );
    fails_with(
        &blasrnn(&["sample", "--model", &model, "--temperature", "NaN"]),
        &["--temperature must be a positive number"],
    );
    fails_with(
        &blasrnn(&["sample", "--model", &model, "--top-k", "0"]),
        &["--top-k must be at least 1"],
    );
    fails_with(
        &blasrnn(&["predict", "--model", &model, "--test-index", "0"]),
        &["a language model", "blasrnn sample"],
    );
    fails_with(
        &blasrnn(&["eval", "--model", &model]),
        &["give the text", "--text"],
    );
    let other = write_text(dir.path(), "o.txt", "XYZ XYZ");
    fails_with(
        &blasrnn(&["eval", "--model", &model, "--text", &other]),
        &["o.txt", "vocabulary lacks", "'X'"],
    );
    let classifier = dir
        .path()
        .join("c.safetensors")
        .to_str()
        .unwrap()
        .to_string();
    last_json(&blasrnn(&[
        "train",
        "--iters",
        "2",
        "--hidden",
        "8",
        "--save",
        &classifier,
        "--json",
    ]));
    fails_with(
        &blasrnn(&["sample", "--model", &classifier]),
        &["predicts a class per sequence", "language model"],
    );
}

#[test]
fn bad_texts_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let one_line = |args: &[&str], needles: &[&str]| {
        let out = blasrnn(args);
        fails_with(&out, needles);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{:?}",
            out
        );
    };
    let empty = write_text(dir.path(), "empty.txt", "");
    one_line(&["train", "--text", &empty], &["empty.txt", "is empty"]);
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9 au lait").unwrap();
    one_line(
        &["train", "--text", latin1.to_str().unwrap()],
        &["latin1.txt", "not UTF-8", "0xe9", "byte offset 3"],
    );
    let short = write_text(dir.path(), "short.txt", &synthetic_text(500, 1));
    one_line(
        &["train", "--text", &short],
        &["short.txt", "too few", "at least 6401"],
    );
    one_line(
        &["train", "--text", "no/such/file.txt"],
        &["no/such/file.txt", "No such file"],
    );
    one_line(
        &["train", "--text", &short, "--readout", "last"],
        &["--readout applies to classifiers only"],
    );
    one_line(
        &["train", "--seq-len", "5"],
        &["--seq-len applies to language models"],
    );
    one_line(
        &["train", "--text", &short, "--dropout", "1"],
        &["--dropout must be"],
    );
    one_line(
        &["train", "--text", &short, "--output-dropout", "1.5"],
        &["--output-dropout must be at least 0 and below 1"],
    );
    one_line(
        &[
            "train",
            "--text",
            &short,
            "--layers",
            "1",
            "--dropout",
            "0.5",
        ],
        &["needs --layers 2"],
    );
}

#[test]
fn the_preset_is_its_recipe_and_the_flags_still_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = write_text(dir.path(), "t.txt", &synthetic_text(3000, 5));
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let preset = |flags: &[&str]| {
        let mut args = vec!["train", "--text", &text, "--preset", "shakespeare-30m"];
        args.extend_from_slice(flags);
        blasrnn(&args)
    };
    // The recipe, with its length and width overridden to keep the test short.
    let j = last_json(&preset(&[
        "--iters", "3", "--hidden", "16", "--batch", "4", "--json", "--quiet",
    ]));
    assert_eq!(
        (j["cell"].as_str(), j["layers"].as_u64()),
        (Some("gru"), Some(2))
    );
    assert_eq!(
        (j["hidden"].as_u64(), j["iters"].as_u64()),
        (Some(16), Some(3))
    );
    assert_eq!(j["dropout"].as_f64(), Some(0.4));
    assert_eq!(j["output_dropout"].as_f64(), Some(0.4));
    assert!(
        j["time_budget"].is_null(),
        "--iters replaces the preset's budget"
    );
    // Without a length, the preset's 30 minutes (seen before the run starts: --stop-at 1).
    let stopped = path("stopped.safetensors");
    let j = last_json(&preset(&[
        "--hidden",
        "16",
        "--batch",
        "4",
        "--stop-at",
        "1",
        "--save",
        &stopped,
        "--json",
        "--quiet",
    ]));
    assert_eq!(j["time_budget"]["seconds"].as_f64(), Some(1800.0), "{j}");
    // The preset evaluates every 500 iterations (its figures were measured so); --eval-every
    // still overrides it.
    let log = path("preset.csv");
    let evaluated_at = |eval_every: &[&str]| {
        let mut flags = vec![
            "--iters",
            "1000",
            "--hidden",
            "8",
            "--batch",
            "2",
            "--seq-len",
            "10",
            "--log",
            &log,
            "--quiet",
        ];
        flags.extend_from_slice(eval_every);
        let out = preset(&flags);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = std::fs::read_to_string(&log).unwrap();
        rows.lines()
            .skip(1)
            .filter(|r| !r.split(',').nth(4).unwrap_or("").is_empty())
            .map(|r| r.split(',').next().unwrap().parse::<usize>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(evaluated_at(&[]), [500, 1000]);
    assert_eq!(evaluated_at(&["--eval-every", "0"]), [] as [usize; 0]);
    // Not a recipe for MNIST.
    fails_with(
        &blasrnn(&["train", "--preset", "shakespeare-30m"]),
        &["--preset shakespeare-30m is a recipe for --text"],
    );
    fails_with(&blasrnn(&["train", "--preset", "mnist-1h"]), &["mnist-1h"]);
}
