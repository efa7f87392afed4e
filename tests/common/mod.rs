//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use blasrnn::mnist::Split;
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

/// A split of `n` random `rows × cols` images whose label is a simple function of the pixels
/// (learnable exactly when `rows >= 10`: each label lights its own row).
pub fn synthetic_split(n: usize, rows: usize, cols: usize, seed: u64) -> Split {
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
        labels.push(label as u8);
    }
    Split {
        images,
        labels,
        rows,
        cols,
    }
}

/// Runs the `blasrnn` binary from the repository's root.
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
