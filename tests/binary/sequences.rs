//! Classification of a user's own sequences: UCR/UEA `.ts` files and NumPy `.npz` archives read
//! to known answers, every kind of bad input a one-line error naming the file (and line), the
//! data set recognised from its path, standardisation over the real steps only, and the whole
//! path — train, eval, predict — from the command line.

use crate::common;

use blasrnn::data::npz::{self, Npz};
use blasrnn::data::{Source, ts};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::train::{Data, TrainConfig, Trainer};
use common::{blasrnn, f32s, fails_with, i64s, last_json, npy, npz_file, unicode};
use std::path::{Path, PathBuf};

const HEADER: &str = "# a comment\n@problemName Tiny\n@timeStamps false\n@missing false\n\
                      @univariate false\n@dimensions 2\n@equalLength false\n@classLabel true up down\n@data\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_ts_file_reads_to_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.ts",
        &format!("{HEADER}1,2,3:4,5,6:up\n\n# between\n7.5,-8:9,10:down\n"),
    );
    let f = ts::read(&p).unwrap();
    assert_eq!(f.dims, 2);
    assert_eq!(f.classes, ["up", "down"]);
    assert_eq!(
        f.labels.as_deref(),
        Some(&["up".to_string(), "down".to_string()][..])
    );
    // Steps are rows of D numbers: (1, 4), (2, 5), (3, 6).
    assert_eq!(f.series[0], [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!(f.series[1], [7.5, 9.0, -8.0, 10.0]);
    let classes = f.classes.clone();
    let set = f.into_set(&p, &classes).unwrap();
    assert_eq!((set.len(), set.steps, set.dims), (2, 3, 2));
    assert_eq!((set.len_of(0), set.len_of(1)), (3, 2));
    assert_eq!(set.labels, [0, 1]);
    // Standardisation counts the five real steps, not the padding.
    let norm = set.standardisation();
    let mean0 = (1.0 + 2.0 + 3.0 + 7.5 - 8.0) / 5.0;
    assert!((norm.shift[0] - mean0).abs() < 1e-12, "{:?}", norm.shift);
    let var1 = [4.0, 5.0, 6.0, 9.0, 10.0]
        .iter()
        .map(|v: &f64| (v - 6.8).powi(2))
        .sum::<f64>()
        / 5.0;
    assert!((norm.scale[1] - 1.0 / var1.sqrt()).abs() < 1e-12);
}

#[test]
fn bad_ts_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "1,2:3,4:up\n1,2:up\n",
            "line 11: 1 dimensions, but the file has 2",
        ),
        (
            "1,2:3,4:left\n",
            "line 10: class label \"left\" is not one @classLabel declares",
        ),
        (
            "1,?:3,4:up\n",
            "line 10: a missing value (?) in dimension 1",
        ),
        (
            "1,x:3,4:up\n",
            "line 10: \"x\" in dimension 1 is not a number",
        ),
        (
            "1,2,3:3,4:up\n",
            "line 10: dimension 2 has 2 values but dimension 1 has 3",
        ),
        ("", "no series after @data"),
    ];
    for (i, (data, needle)) in cases.iter().enumerate() {
        let p = write(
            dir.path(),
            &format!("bad{i}.ts"),
            &format!("{HEADER}{data}"),
        );
        let e = ts::read(&p).unwrap_err().to_string();
        assert!(
            e.contains(&p.display().to_string()) && e.contains(needle),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }
    let p = write(dir.path(), "nodata.ts", "@problemName x\n1,2:up\n");
    assert!(
        ts::read(&p)
            .unwrap_err()
            .to_string()
            .contains("unknown header")
    );
    let p = write(dir.path(), "noheader.ts", "# only comments\n");
    assert!(
        ts::read(&p)
            .unwrap_err()
            .to_string()
            .contains("no @data section")
    );
    let p = write(
        dir.path(),
        "len.ts",
        "@dimensions 1\n@equalLength true\n@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n",
    );
    assert!(
        ts::read(&p)
            .unwrap_err()
            .to_string()
            .contains("line 6: a series of 2 steps, but @seriesLength is 3")
    );
}

/// Two training sequences (lengths 3 and 1, D = 2) labelled by strings, one test sequence.
fn good_arrays() -> Vec<(&'static str, Vec<u8>)> {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    vec![
        ("x_train", npy("<f4", &[2, 3, 2], false, &f32s(&x))),
        (
            "y_train",
            npy("<U4", &[2], false, &unicode(&["walk", "run"], 4)),
        ),
        ("len_train", npy("<i8", &[2], false, &i64s(&[3, 1]))),
        (
            "x_test",
            npy(
                "<f8",
                &[1, 2, 2],
                false,
                &[1.0f64, 2.0, 3.0, 4.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            ),
        ),
        ("y_test", npy("<U4", &[1], false, &unicode(&["run"], 4))),
    ]
}

#[test]
fn an_npz_reads_to_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = npz_file(dir.path(), "d.npz", &good_arrays());
    let mut z = Npz::open(&p).unwrap();
    let (train, note) =
        npz::load_split(&mut z, "train", npz::Expect::Any { regression: false }).unwrap();
    assert!(note.is_none());
    assert_eq!(train.classes, ["run", "walk"]);
    assert_eq!(train.labels, [1, 0]);
    assert_eq!((train.len_of(0), train.len_of(1), train.dims), (3, 1, 2));
    let mut x = vec![0.0f64; 6];
    train.widen(1, &mut x);
    assert_eq!(&x[..2], &[6.0, 7.0]);
    let (test, _) = npz::load_split(&mut z, "test", npz::Expect::Classes(&train.classes)).unwrap();
    assert_eq!((test.labels.clone(), test.steps), (vec![0], 2));

    // 2-D x is read as one number a step, and said so; integer labels; Fortran order.
    let x2: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let p = npz_file(
        dir.path(),
        "e.npz",
        &[
            ("x_train", npy("<f4", &[2, 3], true, &f32s(&x2))),
            ("y_train", npy("<i8", &[2], false, &i64s(&[7, 3]))),
        ],
    );
    let (set, note) = npz::load_split(
        &mut Npz::open(&p).unwrap(),
        "train",
        npz::Expect::Any { regression: false },
    )
    .unwrap();
    assert!(note.unwrap().contains("D = 1"));
    assert_eq!(set.classes, ["3", "7"]);
    // Fortran order: element (i, t) sits at i + 2t.
    let mut x = vec![0.0f64; 3];
    set.widen(0, &mut x);
    assert_eq!(x, [1.0, 3.0, 5.0]);

    let source = Source::find(&p).unwrap();
    assert_eq!(source, Source::Npz(p.clone()));
}

/// Named arrays of an `.npz`.
type Arrays = Vec<(&'static str, Vec<u8>)>;

#[test]
fn bad_npz_archives_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut err_of = |edit: &dyn Fn(&mut Arrays)| -> String {
        let mut arrays = good_arrays();
        edit(&mut arrays);
        n += 1;
        let p = npz_file(dir.path(), &format!("bad{n}.npz"), &arrays);
        let r = Source::Npz(p.clone()).load(1.0);
        let e = r.expect_err("an error").to_string();
        assert!(
            e.contains(&p.display().to_string()) && !e.contains('\n'),
            "{e}"
        );
        e
    };
    let e = err_of(&|a| a.retain(|(n, _)| *n != "y_train"));
    assert!(
        e.contains("no array y_train") && e.contains("x_train"),
        "{e}"
    );
    let e = err_of(&|a| {
        a[1] = (
            "y_train",
            npy("<U4", &[3], false, &unicode(&["a", "b", "c"], 4)),
        )
    });
    assert!(
        e.contains("y_train has shape [3] but x_train holds 2 sequences"),
        "{e}"
    );
    let e = err_of(&|a| a[0] = ("x_train", npy("<f4", &[12], false, &f32s(&[0.0; 12]))));
    assert!(e.contains("it needs N×T×D"), "{e}");
    let e = err_of(&|a| a[2] = ("len_train", npy("<i8", &[2], false, &i64s(&[4, 1]))));
    assert!(
        e.contains("len_train[0] = 4: a length must be a whole number in 1..=3"),
        "{e}"
    );
    let e = err_of(&|a| a[2] = ("len_train", npy("<i8", &[2], false, &i64s(&[3, 0]))));
    assert!(e.contains("len_train[1] = 0"), "{e}");
    // A dtype whose first character is not ASCII (found by the fuzzer: it once panicked).
    let e = err_of(&|a| a[1] = ("y_train", npy("\u{e9}8", &[2], false, &[0; 16])));
    assert!(e.contains("is not a dtype blasrnn reads"), "{e}");
    let e = err_of(&|a| a[1] = ("y_train", npy("|O", &[2], false, &[0; 16])));
    assert!(e.contains("object array") && e.contains("dtype=str"), "{e}");
    let e = err_of(&|a| a[4] = ("y_test", npy("<U4", &[1], false, &unicode(&["swim"], 4))));
    assert!(
        e.contains("y_test[0] = \"swim\" is not a class of the training set"),
        "{e}"
    );
    let e = err_of(&|a| a[3] = ("x_test", npy("<f4", &[1, 2, 3], false, &f32s(&[0.0; 6]))));
    assert!(e.contains("x_test has 3 numbers a step, x_train 2"), "{e}");
    let e = err_of(&|a| a[0] = ("x_train", npy("<f4", &[2, 3, 2], false, &f32s(&[0.0; 5]))));
    assert!(
        e.contains("needs 48 bytes of data, the archive holds 20"),
        "{e}"
    );
    let e = err_of(&|a| {
        let mut x = vec![0.0f32; 12];
        x[3] = f32::NAN;
        a[0] = ("x_train", npy("<f4", &[2, 3, 2], false, &f32s(&x)))
    });
    assert!(e.contains("x_train[0] holds NaN at step 1"), "{e}");
    let p = write(dir.path(), "junk.npz", "PK\x03\x04 but not a zip");
    let e = Source::Npz(p.clone()).load(1.0).err().unwrap().to_string();
    assert!(e.contains("not an .npz (zip) archive"), "{e}");
}

#[test]
fn data_sets_are_recognised_from_their_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let jv = root.join("data/uea/JapaneseVowels");
    let pair = Source::Ts {
        train: jv.join("JapaneseVowels_TRAIN.ts"),
        test: jv.join("JapaneseVowels_TEST.ts"),
    };
    assert_eq!(Source::find(&jv).unwrap(), pair);
    assert_eq!(Source::find(jv.join("JapaneseVowels")).unwrap(), pair);
    assert_eq!(
        Source::find(jv.join("JapaneseVowels_TEST.ts")).unwrap(),
        pair
    );
    assert!(Source::find(root.join("data/mnist")).unwrap().images());
    let e = Source::find(root.join("data")).unwrap_err().to_string();
    assert!(e.contains("holds no data set"), "{e}");
    let e = Source::find(root.join("README.md"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("README.md") && e.contains("is not a data set"),
        "{e}"
    );
    let data = pair.load(1.0).unwrap();
    assert_eq!(
        (data.train.len(), data.test.len(), data.train.dims),
        (270, 370, 12)
    );
    assert_eq!(data.train.classes.len(), 9);
    let (lo, hi) = data.train.length_range();
    let (tlo, thi) = data.test.length_range();
    assert_eq!((lo.min(tlo), hi.max(thi)), (7, 29));
    assert_eq!(data.test.norm, data.train.norm);
}

#[test]
fn variable_length_training_is_bit_identical_per_seed_and_threads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = Source::find(root.join("data/uea/JapaneseVowels"))
        .unwrap()
        .load(1.0)
        .unwrap();
    for threads in [1, 2] {
        let run = || {
            let cfg = TrainConfig {
                layers: 2,
                batch: 32,
                iters: 25,
                hidden: 24,
                ..common::config(CellKind::Lstm, Readout::Mean, threads, 2)
            };
            let m = cfg.classifier(&data.train);
            let mut tr = Trainer::<f64>::new(cfg, m).unwrap();
            for it in 0..25 {
                tr.step(Data::Labelled(&data.train), it);
            }
            tr.params
        };
        let (a, b) = (run(), run());
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{threads} threads"
        );
    }
}

#[test]
fn train_eval_and_predict_on_ts_and_npz_data() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir
        .path()
        .join("v.safetensors")
        .to_str()
        .unwrap()
        .to_string();
    let trained = last_json(&blasrnn(&[
        "train",
        "--data",
        "data/uea/JapaneseVowels",
        "--epochs",
        "20",
        "--hidden",
        "32",
        "--save",
        &m,
        "--json",
    ]));
    assert_eq!(
        (trained["cell"].as_str(), trained["readout"].as_str()),
        (Some("gru"), Some("last"))
    );
    assert!(
        trained["test_accuracy"].as_f64().unwrap() > 0.8,
        "{trained}"
    );
    let evaluated = last_json(&blasrnn(&[
        "eval",
        "--model",
        &m,
        "--data",
        "data/uea/JapaneseVowels",
        "--json",
    ]));
    assert_eq!(evaluated["test_accuracy"], trained["test_accuracy"]);
    // predict on a file of its own: the test file's first series, labelled, and unlabelled.
    let test = std::fs::read_to_string("data/uea/JapaneseVowels/JapaneseVowels_TEST.ts")
        .or_else(|_| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("data/uea/JapaneseVowels/JapaneseVowels_TEST.ts"),
            )
        })
        .unwrap();
    let (head, body) = test.split_at(test.find("@data").unwrap() + 6);
    let first = body.lines().next().unwrap();
    let labelled = write(dir.path(), "mine.ts", &format!("{head}{first}\n"));
    let unlabelled = write(
        dir.path(),
        "mine2.ts",
        &format!(
            "{}{}\n",
            head.replace("@classLabel true 1 2 3 4 5 6 7 8 9", "@classLabel false"),
            &first[..first.rfind(':').unwrap()]
        ),
    );
    let p1 = last_json(&blasrnn(&[
        "predict",
        "--model",
        &m,
        "--data",
        labelled.to_str().unwrap(),
        "--json",
    ]));
    let p2 = last_json(&blasrnn(&[
        "predict",
        "--model",
        &m,
        "--data",
        unlabelled.to_str().unwrap(),
        "--json",
    ]));
    let p3 = last_json(&blasrnn(&[
        "predict",
        "--model",
        &m,
        "--data",
        "data/uea/JapaneseVowels",
        "--test-index",
        "0",
        "--json",
    ]));
    assert_eq!(p1[0]["probabilities"], p2[0]["probabilities"]);
    assert_eq!(p1[0]["probabilities"], p3[0]["probabilities"]);
    assert_eq!(p1[0]["label_name"], "1");
    assert!(p2[0]["label"].is_null());
    // A model given data of other classes, or of another D.
    fails_with(
        &blasrnn(&["eval", "--model", &m, "--data", "data/uea/BasicMotions"]),
        &[
            "BasicMotions_TEST.ts",
            "class \"Standing\" is not one of the model's",
        ],
    );
    fails_with(
        &blasrnn(&[
            "predict",
            "--model",
            &m,
            "--data",
            "data/mnist",
            "--test-index",
            "0",
        ]),
        &["12 numbers a step"],
    );
    fails_with(
        &blasrnn(&[
            "train",
            "--data",
            "data/uea/JapaneseVowels",
            "--readout",
            "seq",
        ]),
        &["--readout seq", "7..29 steps", "last or mean"],
    );
    fails_with(
        &blasrnn(&["train", "--data", "data/uea/JapaneseVowels", "--raw-pixels"]),
        &["--raw-pixels applies to MNIST"],
    );

    // An .npz written here trains and evaluates the same way; its test set's D must agree.
    let npz = npz_file(dir.path(), "d.npz", &good_arrays());
    let out = last_json(&blasrnn(&[
        "train",
        "--data",
        npz.to_str().unwrap(),
        "--epochs",
        "3",
        "--batch",
        "2",
        "--json",
    ]));
    assert_eq!(out["iters"], 3);
    let mut arrays = good_arrays();
    arrays[3] = ("x_test", npy("<f4", &[1, 2, 3], false, &f32s(&[0.0; 6])));
    let bad = npz_file(dir.path(), "bad.npz", &arrays);
    fails_with(
        &blasrnn(&["train", "--data", bad.to_str().unwrap()]),
        &["bad.npz", "x_test has 3 numbers a step"],
    );
}
