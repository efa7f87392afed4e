//! The `blasrnn` binary: a short real run with `--json`, and bad input giving a one-line error that
//! names the file, a non-zero exit and no panic.

use crate::common;

use common::{blasrnn, fails_with, last_json};
use std::path::Path;

#[test]
fn short_training_run_prints_json_last() {
    let out = blasrnn(&[
        "train",
        "--iters",
        "40",
        "--batch",
        "50",
        "--threads",
        "2",
        "--json",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().expect("some output");
    let v: serde_json::Value = serde_json::from_str(last).expect("last line is JSON");
    let acc = v["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.5 && acc <= 1.0, "accuracy {acc} after 2000 samples");
    assert!(v["train_seconds"].as_f64().unwrap() > 0.0);
    assert!(v["train_samples_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["threads"], 2);
    assert_eq!(v["iters"], 40);
    assert_eq!(v["batch"], 50);
    assert_eq!(v["optimizer"], "adam");
    assert_eq!(
        v["dtype"], "f64",
        "the seed model computes in f64 by default"
    );
    assert!(v["backend"].as_str().unwrap().len() > 3);
    // The human-readable lines went to stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BLAS:") && err.contains("test accuracy"),
        "{err}"
    );
}

#[test]
fn a_missing_data_directory_is_a_clear_error() {
    fails_with(
        &blasrnn(&["train", "--data", "no/such/dir"]),
        &[
            "blasrnn: error:",
            "no/such/dir",
            "no such file or directory",
        ],
    );
    let empty = tempfile::tempdir().unwrap();
    fails_with(
        &blasrnn(&["train", "--data", empty.path().to_str().unwrap()]),
        &[
            "holds no data set",
            "train-images-idx3-ubyte",
            "NAME_TRAIN.ts",
        ],
    );
}

#[test]
fn a_truncated_data_file_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    // Replace the test labels by a plain file that stops short.
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let mut bytes = vec![0, 0, 8, 1, 0, 0, 0x27, 0x10];
    bytes.extend(std::iter::repeat_n(3u8, 9999));
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), bytes).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = blasrnn(&["train", "--data", d, "--iters", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(
        err.contains("t10k-labels-idx1-ubyte") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn bad_flag_values_are_rejected() {
    fails_with(
        &blasrnn(&["train", "--lr=0"]),
        &["--lr must be a positive number"],
    );
    fails_with(
        &blasrnn(&["train", "--clip=-1"]),
        &["--clip must be 0 (off) or a positive number"],
    );
    fails_with(&blasrnn(&["train", "--hidden", "0"]), &["--hidden"]);
    fails_with(&blasrnn(&["train", "--optimizer", "rmsprop"]), &["rmsprop"]);
    fails_with(
        &blasrnn(&["train", "--iters", "5", "--epochs", "1"]),
        &["cannot be used with"],
    );
    // A time budget: a positive number and a unit, and not besides a length.
    for bad in ["0s", "-5m", "abc", "5", "1.5x", "inf h"] {
        fails_with(
            &blasrnn(&["train", &format!("--time-budget={bad}")]),
            &[&format!("`{bad}` is not a duration")],
        );
    }
    fails_with(
        &blasrnn(&["train", "--time-budget", "1m", "--iters", "5"]),
        &["cannot be used with"],
    );
}

#[test]
fn the_reference_algorithm_trains_and_reports() {
    let v = last_json(&blasrnn(&[
        "train",
        "--algo",
        "reference",
        "--iters",
        "5",
        "--json",
        "--log-every",
        "5",
    ]));
    assert_eq!(v["algo"], "reference");
    assert_eq!(v["train_samples"], 500);
    let acc = v["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.3 && acc <= 1.0, "accuracy {acc} after 500 images");
    assert!(v["train_samples_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_reference_refuses_flags_that_would_change_it() {
    fails_with(
        &blasrnn(&["train", "--algo", "reference", "--optimizer", "adam"]),
        &["--optimizer does not apply to --algo reference"],
    );
    fails_with(
        &blasrnn(&["train", "--algo", "reference", "--batch", "10"]),
        &["--batch does not apply"],
    );
}

#[test]
fn bench_reports_both_algorithms_and_the_peak() {
    let v = last_json(&blasrnn(&[
        "bench",
        "--threads",
        "1",
        "--engine-samples",
        "2500",
        "--reference-samples",
        "500",
        "--gemm-size",
        "256",
        "--only",
        "seed,reference,lm,sample",
        "--lm-iters",
        "1",
        "--json",
    ]));
    for key in [
        "engine_samples_per_sec",
        "reference_samples_per_sec",
        "speedup",
        "engine_gflops",
        "dgemm_peak_gflops",
        "sgemm_peak_gflops",
        "engine_peak_fraction",
        "lm_tokens_per_sec",
        "lm_peak_fraction",
        "sample_chars_per_sec",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {}", v[key]);
    }
    let ratio = v["engine_samples_per_sec"].as_f64().unwrap()
        / v["reference_samples_per_sec"].as_f64().unwrap();
    assert!((ratio - v["speedup"].as_f64().unwrap()).abs() < 1e-9 * ratio);
    assert_eq!(v["threads"], 1);
}
