//! The IDX reader and the MNIST loader: known answers from tiny files written here, and every kind
//! of malformed input, each an error naming the file.

use blasrnn::Error as DataError;
use blasrnn::data::Norm;
use blasrnn::data::idx;
use blasrnn::data::mnist::{Mnist, load_split};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records the largest single allocation, to show that header claims reserve nothing.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LARGEST.fetch_max(n, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static ALLOC: Largest = Largest;

fn idx_bytes(type_byte: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, type_byte, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Two 3×2 images with labels 7 and 0, then one test image labelled 9.
fn tiny_set(dir: &Path, gzip: bool, dotted: bool) {
    let name = |stem: &str| {
        let stem = if dotted {
            stem.replacen("-idx", ".idx", 1)
        } else {
            stem.to_string()
        };
        if gzip { format!("{stem}.gz") } else { stem }
    };
    let enc = |b: Vec<u8>| if gzip { gz(&b) } else { b };
    let train_images = idx_bytes(
        8,
        &[2, 3, 2],
        &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
    );
    write(dir, &name("train-images-idx3-ubyte"), &enc(train_images));
    write(
        dir,
        &name("train-labels-idx1-ubyte"),
        &enc(idx_bytes(8, &[2], &[7, 0])),
    );
    write(
        dir,
        &name("t10k-images-idx3-ubyte"),
        &enc(idx_bytes(8, &[1, 3, 2], &[9; 6])),
    );
    write(
        dir,
        &name("t10k-labels-idx1-ubyte"),
        &enc(idx_bytes(8, &[1], &[9])),
    );
}

#[test]
fn reads_known_answers_in_every_spelling() {
    for gzip in [false, true] {
        for dotted in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            tiny_set(dir.path(), gzip, dotted);
            let m = Mnist::load(dir.path()).unwrap();
            let mut train = m.train;
            assert_eq!((train.steps, train.dims, train.len()), (3, 2, 2));
            assert_eq!(train.labels, vec![7, 0]);
            assert_eq!(train.bytes(1).unwrap(), &[250, 251, 252, 253, 254, 255]);
            assert_eq!(m.test.labels, vec![9]);
            train.norm = Norm::scaled(2, 1.0 / 255.0);
            let mut x = vec![0.0f64; 6];
            train.widen(1, &mut x);
            assert_eq!(x[5], 1.0);
            train.widen(0, &mut x);
            assert_eq!(x[0], 0.0);
            assert!((x[1] - 1.0 / 255.0).abs() < 1e-15);
        }
    }
}

#[test]
fn reads_the_shipped_mnist() {
    let m = Mnist::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/mnist")
            .as_path(),
    )
    .unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60000, 10000));
    assert_eq!((m.train.steps, m.train.dims), (28, 28));
    // The first training labels of MNIST are 5, 0, 4, 1, 9; the first test labels 7, 2, 1, 0, 4.
    assert_eq!(&m.train.labels[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(&m.test.labels[..5], &[7, 2, 1, 0, 4]);
    let mut counts = [0usize; 10];
    m.test.labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

fn err_of(bytes: &[u8], ndims: u8) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "f-idx-ubyte", bytes);
    let e = idx::read(&p, ndims).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&p.display().to_string()),
        "error does not name the file: {msg}"
    );
    assert!(matches!(e, DataError::Format { .. } | DataError::Io { .. }));
    msg
}

#[test]
fn rejects_a_bad_magic_number() {
    assert!(err_of(&[1, 2, 8, 3, 0, 0, 0, 0], 3).contains("bad magic number 0x01020803"));
}

#[test]
fn rejects_a_non_byte_element_type() {
    assert!(err_of(&idx_bytes(0x0d, &[1, 1, 1], &[0; 4]), 3).contains("element type 0x0d"));
}

#[test]
fn rejects_the_wrong_number_of_dimensions() {
    assert!(err_of(&idx_bytes(8, &[2], &[1, 2]), 3).contains("1 dimensions, expected 3"));
}

#[test]
fn rejects_a_short_header() {
    assert!(err_of(&[0, 0], 3).contains("too short for an IDX header"));
    assert!(err_of(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0], 3).contains("header ends before dimension 2"));
}

#[test]
fn rejects_a_truncated_body() {
    let msg = err_of(&idx_bytes(8, &[2, 2, 2], &[0; 7]), 3);
    assert!(
        msg.contains("truncated") && msg.contains("promises 8 bytes") && msg.contains("holds 7"),
        "{msg}"
    );
}

#[test]
fn rejects_trailing_bytes() {
    let msg = err_of(&idx_bytes(8, &[2, 2, 2], &[0; 9]), 3);
    assert!(msg.contains("trailing data"), "{msg}");
}

#[test]
fn a_huge_header_claim_reserves_nothing() {
    let before = LARGEST.load(Ordering::Relaxed);
    let msg = err_of(&idx_bytes(8, &[4_000_000_000, 28, 28], &[0; 100]), 3);
    assert!(msg.contains("truncated"), "{msg}");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest.max(before) < 64 << 20,
        "an allocation of {largest} bytes was made"
    );
}

#[test]
fn rejects_corrupt_gzip() {
    let mut bytes = gz(&idx_bytes(8, &[1, 2, 2], &[1, 2, 3, 4]));
    let n = bytes.len();
    bytes.truncate(n - 10);
    let msg = err_of(&bytes, 3);
    assert!(!msg.is_empty());
}

#[test]
fn rejects_labels_outside_0_to_9() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path(), false, false);
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_bytes(8, &[2], &[3, 10]),
    );
    let msg = load_split(dir.path(), "train").unwrap_err().to_string();
    assert!(
        msg.contains("train-labels-idx1-ubyte") && msg.contains("label 10 at index 1"),
        "{msg}"
    );
}

#[test]
fn rejects_image_and_label_counts_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path(), false, false);
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_bytes(8, &[3], &[1, 2, 3]),
    );
    let msg = load_split(dir.path(), "train").unwrap_err().to_string();
    assert!(
        msg.contains("holds 2 images but") && msg.contains("3 labels"),
        "{msg}"
    );
}

#[test]
fn rejects_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let msg = Mnist::load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no train-images-idx3-ubyte file"), "{msg}");
    assert!(msg.contains("train-images.idx3-ubyte.gz"), "{msg}");
}

#[test]
fn rejects_test_images_of_another_size() {
    let dir = tempfile::tempdir().unwrap();
    tiny_set(dir.path(), false, false);
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_bytes(8, &[1, 2, 3], &[9; 6]),
    );
    let msg = Mnist::load(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("test images are 2×3"),
        "{msg}"
    );
}
