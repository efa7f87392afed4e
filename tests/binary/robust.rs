//! Nothing a user made is lost: output paths are checked before any work, Ctrl-C and SIGTERM save
//! and say how to resume (a second one stops at once), an interrupted run resumes to the weights
//! of the uninterrupted one, a diverging run stops before it overwrites a good checkpoint, and
//! `eval`/`predict` read only the files they need.

use crate::common;

use common::{blasrnn, fails_with, last_json, tensors};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn bad_output_paths_stop_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (flag, value, needle) in [
        (
            "--save",
            "/no/such/dir/m.safetensors",
            "the directory /no/such/dir does not exist",
        ),
        ("--save", d, "is a directory"),
        (
            "--log",
            "/no/such/dir/m.csv",
            "the directory /no/such/dir does not exist",
        ),
        ("--plot", d, "is a directory"),
    ] {
        let out = blasrnn(&["train", flag, value, "--iters", "100000"]);
        fails_with(&out, &[flag, needle]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        // Nothing trained: no banner, no progress.
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // An unwritable directory (unless running as root, who may write anywhere).
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o555);
    std::fs::set_permissions(&ro, perm).unwrap();
    if std::fs::File::create(ro.join("probe")).is_err() {
        fails_with(
            &blasrnn(&["train", "--save", &path(&ro, "m.safetensors")]),
            &["cannot write in", "ro"],
        );
    }
}

#[test]
fn an_os_error_is_said_once() {
    let out = blasrnn(&["eval", "--model", "/no/such/model.safetensors"]);
    fails_with(
        &out,
        &["/no/such/model.safetensors", "No such file or directory"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    let out = blasrnn(&["train", "--data", "/no/such/mnist"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("/no/such/mnist").count(), 1, "{err}");
}

/// Starts a training run, waits for its first progress line, sends `signal` (`count` times).
fn interrupt(args: &[&str], signal: &str, count: usize) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blasrnn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.starts_with("iter") {
            break;
        }
    }
    for _ in 0..count {
        let ok = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for line in lines {
        said.push_str(&line.unwrap());
        said.push('\n');
    }
    (child.wait().unwrap(), said)
}

#[test]
fn ctrl_c_saves_says_how_to_resume_and_the_resumed_run_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (part, whole) = (
        path(dir.path(), "part.safetensors"),
        path(dir.path(), "whole.safetensors"),
    );
    let args = [
        "train",
        "--cell",
        "gru",
        "--hidden",
        "16",
        "--batch",
        "50",
        "--iters",
        "1500",
        "--threads",
        "2",
        "--log-every",
        "5",
    ];
    let mut run = args.to_vec();
    run.extend(["--save", &part]);
    let (status, said) = interrupt(&run, "-INT", 1);
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(
        said.contains("stopped by SIGINT (Ctrl-C) after iteration"),
        "{said}"
    );
    assert!(
        said.contains(&format!("blasrnn train --resume {part} --save {part}")),
        "{said}"
    );
    let stopped = blasrnn::checkpoint::load(Path::new(&part)).unwrap();
    assert!(
        stopped.iteration > 0 && stopped.iteration < 1500,
        "{}",
        stopped.iteration
    );
    let resumed = last_json(&blasrnn(&[
        "train", "--resume", &part, "--save", &part, "--quiet", "--json",
    ]));
    assert_eq!(resumed["start_iteration"], stopped.iteration);
    let mut run = args.to_vec();
    run.extend(["--save", &whole, "--quiet"]);
    let out = blasrnn(&run);
    assert!(out.status.success());
    assert!(
        tensors(&whole) == tensors(&part),
        "the resumed run's weights differ"
    );

    // SIGTERM: 143; without --save, it says nothing was saved.
    let (status, said) = interrupt(&args, "-TERM", 1);
    assert_eq!(status.code(), Some(143), "{said}");
    assert!(
        said.contains("stopped by SIGTERM") && said.contains("nothing was saved (no --save)"),
        "{said}"
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_leaves_the_last_checkpoint_good() {
    let dir = tempfile::tempdir().unwrap();
    let m = path(dir.path(), "m.safetensors");
    let first = last_json(&blasrnn(&[
        "train", "--hidden", "16", "--iters", "5", "--save", &m, "--json",
    ]));
    assert_eq!(first["iterations_done"], 5);
    let args = [
        "train",
        "--resume",
        &m,
        "--iters",
        "100000",
        "--save",
        &m,
        "--log-every",
        "1",
    ];
    let (status, said) = interrupt(&args, "-INT", 2);
    assert_eq!(status.code(), Some(130), "{said}");
    // Either the first signal's save finished or the second came first: the file is whole.
    let ck = blasrnn::checkpoint::load(Path::new(&m)).unwrap();
    assert!(ck.iteration >= 5);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.len() <= 1, "{leftovers:?}");
}

#[test]
fn divergence_stops_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let m = path(dir.path(), "m.safetensors");
    let log = path(dir.path(), "m.csv");
    let out = blasrnn(&[
        "train",
        "--hidden",
        "16",
        "--iters",
        "400",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--clip",
        "0",
        "--warmup",
        "0",
        "--save",
        &m,
        "--save-every",
        "1",
        "--log",
        &log,
        "--log-every",
        "1",
        "--threads",
        "1",
    ]);
    fails_with(
        &out,
        &[
            "training diverged at iteration",
            "last checkpoint",
            "is intact",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let at: usize = err
        .split("(iteration ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no iteration in: {err}"));
    let ck = blasrnn::checkpoint::load(Path::new(&m)).unwrap();
    assert_eq!(ck.iteration, at);
    assert!(
        ck.params.iter().all(|p| p.is_finite()),
        "the kept checkpoint holds non-finite weights"
    );
    assert!(std::fs::read_to_string(&log).unwrap().lines().count() > 1);
}

#[test]
fn eval_and_predict_read_only_the_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let m = path(dir.path(), "m.safetensors");
    last_json(&blasrnn(&[
        "train", "--hidden", "8", "--iters", "3", "--save", &m, "--json",
    ]));
    let test_only = dir.path().join("mnist");
    std::fs::create_dir(&test_only).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    for f in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(src.join(f), test_only.join(f)).unwrap();
    }
    let d = test_only.to_str().unwrap();
    let e = last_json(&blasrnn(&["eval", "--model", &m, "--data", d, "--json"]));
    assert!(e["test_accuracy"].as_f64().unwrap() > 0.0);
    let p = last_json(&blasrnn(&[
        "predict",
        "--model",
        &m,
        "--data",
        d,
        "--test-index",
        "0",
        "--json",
    ]));
    assert_eq!(p[0]["label"], 7);
}
