//! Property-based tests of every reader of a user's file: valid files (IDX plain and gzip'd,
//! model checkpoints of both tasks, PNG and PGM images, text, `.ts` series, `.npz` archives)
//! mutated at random — bits flipped,
//! bytes set, runs inserted or deleted, length fields overwritten, truncation — and fed to the
//! reader. It must never panic, never allocate more than a bound in one piece, and every error
//! must name the file.
//!
//! `cargo test` runs 2,000 cases per reader; `cargo test --release --test fuzz -- --ignored` runs
//! 100,000 per reader (over a million in all).

mod common;

use blasrnn::checkpoint::{self, Snapshot};
use blasrnn::data::DataInfo;
use blasrnn::data::Norm;
use blasrnn::data::text::{Corpus, Vocab};
use blasrnn::network::{Init, Network, NetworkConfig, Task};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::{Optimizer, OptimizerKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// Records the largest single allocation of each thread.
struct Largest;
thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}
fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note(n);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static ALLOC: Largest = Largest;

/// No reader may allocate more than this in one piece on these small files.
const BOUND: usize = 64 << 20;

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
struct Edit {
    op: u8,
    pos: usize,
    val: u8,
    len: usize,
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        (0u8..7, any::<usize>(), any::<u8>(), 1usize..64).prop_map(|(op, pos, val, len)| Edit {
            op,
            pos,
            val,
            len,
        }),
        1..6,
    )
}

/// `base` with `edits` applied.
fn mutate(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let n = b.len();
        let at = if n == 0 { 0 } else { e.pos % (n + 1) };
        match e.op {
            0 if n > 0 => b[at % n] ^= 1 << (e.val % 8),
            1 if n > 0 => b[at % n] = e.val,
            2 => b.truncate(at),
            3 => {
                let run = vec![e.val; e.len];
                b.splice(at..at, run);
            }
            4 => {
                let end = (at + e.len).min(n);
                b.drain(at..end);
            }
            5 if n >= 4 => {
                // A length or count field made hostile.
                let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, n as u32, 60000][e.val as usize % 6];
                let at = at.min(n - 4);
                let bytes = if e.len % 2 == 0 {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                b[at..at + 4].copy_from_slice(&bytes);
            }
            6 if n > 0 => {
                let end = (at + e.len).min(n);
                let chunk = b[at.min(end)..end].to_vec();
                b.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    b
}

/// Runs `cases` mutations of `base` through `read` (which reads the file it is given and returns
/// its error's message, if any).
fn fuzz(name: &str, base: Vec<u8>, cases: u32, read: impl Fn(&Path) -> Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let shown = path.display().to_string();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&edits(), |e| {
        std::fs::write(&path, mutate(&base, &e)).unwrap();
        LARGEST.with(|l| l.set(0));
        let err = read(&path);
        let largest = LARGEST.with(|l| l.get());
        prop_assert!(largest <= BOUND, "{name}: an allocation of {largest} bytes");
        if let Some(msg) = err {
            prop_assert!(
                msg.contains(&shown),
                "{name}: the error does not name the file: {msg}"
            );
            prop_assert!(!msg.contains('\n'), "{name}: a multi-line error: {msg}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

fn idx(dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A saved model: a two-layer LSTM classifier or a language model, with its optimizer's state.
fn model_file(lm: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let task = if lm {
        Task::NextToken
    } else {
        Task::Classify {
            readout: Readout::Last,
            steps: 5,
            outputs: 3,
            classes: 4,
        }
    };
    let model: Network = Network::new(NetworkConfig {
        patch: 1,
        bidirectional: false,
        cell: CellKind::Lstm,
        input: 3,
        hidden: 4,
        layers: 2,
        task,
    });
    let params = model.init(Init::Uniform, &mut rand::rngs::StdRng::seed_from_u64(1));
    let opt = Optimizer::new(OptimizerKind::Adam, params.len());
    let data = if lm {
        DataInfo::Text(Vocab::of("abc"))
    } else {
        DataInfo::Classes {
            norm: Norm::scaled(3, 0.5),
            names: ["w", "x", "y", "z"].map(String::from).to_vec(),
            images: false,
        }
    };
    let state = lm.then(|| vec![vec![0.25; 2 * 8]; 2]);
    checkpoint::save(
        &path,
        &Snapshot {
            model: &model,
            params: &params,
            data: &data,
            iteration: 7,
            training: None,
            optimizer: Some(&opt),
            state: state.as_deref(),
            resume: None,
        },
    )
    .unwrap();
    std::fs::read(&path).unwrap()
}

fn png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(28, 28, |x, y| image::Luma([(x * 9 + y) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn pgm() -> Vec<u8> {
    let mut v = b"P5\n28 28\n255\n".to_vec();
    v.extend((0..784).map(|i| (i % 251) as u8));
    v
}

fn err<T, E: std::fmt::Display>(r: Result<T, E>) -> Option<String> {
    r.err().map(|e| e.to_string())
}

/// Every reader, `cases` mutations each.
fn all_readers(cases: u32) {
    let body: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    let images = idx(&[2, 3, 4], &body);
    fuzz("plain-idx3-ubyte", images.clone(), cases, |p| {
        err(blasrnn::data::idx::read(p, 3))
    });
    // The gzip stream mutated, and a mutated file then compressed.
    fuzz("gz-idx3-ubyte.gz", gz(&images), cases, |p| {
        err(blasrnn::data::idx::read(p, 3))
    });
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner-idx3-ubyte.gz");
    fuzz("inner-source", images, cases, |p| {
        std::fs::write(&inner, gz(&std::fs::read(p).unwrap())).unwrap();
        let e = err(blasrnn::data::idx::read(&inner, 3));
        // Named after the file read; report it as the fuzzed file's.
        e.map(|m| m.replace(&inner.display().to_string(), &p.display().to_string()))
    });
    fuzz("classifier.safetensors", model_file(false), cases, |p| {
        err(checkpoint::load(p))
    });
    fuzz("lm.safetensors", model_file(true), cases, |p| {
        err(checkpoint::load(p))
    });
    fuzz("digit.png", png(), cases, |p| {
        err(blasrnn::data::image::read_gray(p, 28, 28))
    });
    fuzz("digit.pgm", pgm(), cases, |p| {
        err(blasrnn::data::image::read_gray(p, 28, 28))
    });
    let text = common::synthetic_text(400, 3).into_bytes();
    fuzz("input.txt", text.clone(), cases, |p| {
        err(Corpus::load(p, 0.1, None))
    });
    let vocab = Vocab::of(&common::synthetic_text(400, 3));
    fuzz("val.txt", text, cases, |p| {
        err(Corpus::load(p, 0.5, Some(&vocab)))
    });
    fuzz("series.ts", ts_file(), cases, |p| {
        err(blasrnn::data::ts::read(p))
    });
    fuzz("sets.npz", npz_bytes(), cases, |p| {
        err(blasrnn::data::Source::Npz(p.to_path_buf()).load(1.0))
    });
}

/// The header and first three series of JapaneseVowels' training file.
fn ts_file() -> Vec<u8> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/uea/JapaneseVowels/JapaneseVowels_TRAIN.ts"),
    )
    .unwrap();
    let data = text.find("@data").unwrap() + 6;
    let end = text[data..].match_indices('\n').nth(2).unwrap().0 + data + 1;
    text.as_bytes()[..end].to_vec()
}

/// A small labelled `.npz`: train (lengths given) and test splits.
fn npz_bytes() -> Vec<u8> {
    use common::{f32s, i64s, npy, unicode};
    let dir = tempfile::tempdir().unwrap();
    let p = common::npz_file(
        dir.path(),
        "d.npz",
        &[
            ("x_train", npy("<f4", &[3, 4, 2], false, &f32s(&[0.5; 24]))),
            (
                "y_train",
                npy("<U4", &[3], false, &unicode(&["a", "bb", "a"], 4)),
            ),
            ("len_train", npy("<i8", &[3], false, &i64s(&[4, 2, 1]))),
            ("x_test", npy("<f4", &[1, 4, 2], false, &f32s(&[1.0; 8]))),
            ("y_test", npy("<U4", &[1], false, &unicode(&["bb"], 4))),
        ],
    );
    std::fs::read(p).unwrap()
}

#[test]
fn mutated_files_never_panic_and_errors_name_the_file() {
    all_readers(2_000);
}

#[test]
#[ignore = "long: over a million cases (cargo test --release --test fuzz -- --ignored)"]
fn a_million_mutated_files() {
    all_readers(100_000);
}
