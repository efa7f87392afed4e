//! Saving, loading, evaluating and predicting: round trips are bit-exact, bad files give the
//! documented errors (never a panic), and the CLI's outputs agree with each other.

use crate::common;

use common::{blasrnn, fails_with, last_json};

use blasrnn::Error as CheckpointError;
use blasrnn::checkpoint::{self, Snapshot};
use blasrnn::data::DataInfo;
use blasrnn::data::Norm;
use blasrnn::network::{Init, Network, NetworkConfig, Task};
use blasrnn::nn::cell::CellKind;
use blasrnn::nn::head::Readout;
use blasrnn::optim::{Optimizer, OptimizerKind};
use blasrnn::real::Real;
use rand::SeedableRng;
use rand::rngs::StdRng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

fn model(cell: CellKind, readout: Readout, hidden: usize) -> Network {
    model_of(cell, readout, hidden, 1)
}

fn model_of<T: Real>(cell: CellKind, readout: Readout, hidden: usize, layers: usize) -> Network<T> {
    Network::new(NetworkConfig {
        patch: 1,
        bidirectional: false,
        cell,
        input: 28,
        hidden,
        layers,
        task: Task::Classify {
            readout,
            steps: 28,
            outputs: 28,
            classes: 10,
        },
    })
}

/// MNIST's description, with raw pixels or scaled to 0..1.
fn mnist_info(raw: bool) -> DataInfo {
    DataInfo::Classes {
        norm: Norm::scaled(28, if raw { 1.0 } else { 1.0 / 255.0 }),
        names: (0..10).map(|k| k.to_string()).collect(),
        images: true,
    }
}

/// Saves a classifier of MNIST's shape.
fn save<T: Real>(
    path: &Path,
    model: &Network<T>,
    params: &[T],
    raw: bool,
    iteration: usize,
    optimizer: Option<&Optimizer<T>>,
) -> Result<(), CheckpointError> {
    checkpoint::save(
        path,
        &Snapshot {
            model,
            params,
            data: &mnist_info(raw),
            iteration,
            training: None,
            optimizer,
            state: None,
            resume: None,
        },
    )
}

#[test]
fn save_then_load_is_bit_exact_for_every_cell_and_readout() {
    let dir = tempfile::tempdir().unwrap();
    for cell in [CellKind::Tanh, CellKind::Lstm, CellKind::Gru] {
        for (readout, layers) in [(Readout::Seq, 1), (Readout::Last, 2), (Readout::Mean, 3)] {
            let m: Network = model_of(cell, readout, 9, layers);
            let p = m.init(Init::Uniform, &mut StdRng::seed_from_u64(3));
            let mut opt = Optimizer::new(OptimizerKind::Adam, p.len());
            let mut q = p.clone();
            opt.step(&mut q, &p, 0.01);
            let path = dir
                .path()
                .join(format!("{}-{}.safetensors", cell.name(), readout.name()));
            save(&path, &m, &q, true, 17, Some(&opt)).unwrap();
            let ck = checkpoint::load(&path).unwrap();
            assert_eq!(ck.config, m.config);
            assert_eq!(ck.data, mnist_info(true));
            assert_eq!(ck.iteration, 17);
            assert!(
                ck.params
                    .iter()
                    .zip(&q)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            assert_eq!(ck.optimizer, Some(("adam".to_string(), 1)));
            let (state, _) = opt.state();
            for (name, buf) in state {
                assert_eq!(ck.optimizer_state[name].as_slice(), buf, "{name}");
            }
        }
    }
    // Only the saved files are there: no temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 9);
}

/// A standardised input's normalisation comes back bit for bit, so that a resumed run
/// recognises its data: numbers whose shortest decimal a fast float parser reads one unit in
/// the last place off among them.
#[test]
fn normalisations_come_back_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(CellKind::Gru, Readout::Last, 5);
    let p = m.init(Init::Uniform, &mut StdRng::seed_from_u64(1));
    let mut g = common::Lcg(5);
    let info = DataInfo::Classes {
        norm: Norm {
            shift: (0..28).map(|_| g.next_f64() * 300.0).collect(),
            scale: (0..27)
                .map(|_| g.next_f64() * 0.05)
                .chain([0.014712581814408139])
                .collect(),
        },
        names: (0..10).map(|k| k.to_string()).collect(),
        images: false,
    };
    let path = dir.path().join("standardised.safetensors");
    let snap = Snapshot {
        model: &m,
        params: &p,
        data: &info,
        iteration: 1,
        training: None,
        optimizer: None,
        state: None,
        resume: None,
    };
    checkpoint::save(&path, &snap).unwrap();
    assert_eq!(checkpoint::load(&path).unwrap().data, info);
}

fn load_err(path: &Path) -> String {
    match checkpoint::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "no file name in: {msg}"
            );
            assert!(matches!(
                e,
                CheckpointError::Format { .. } | CheckpointError::Io { .. }
            ));
            msg
        }
    }
}

/// Rewrites a saved file through `edit` of its tensors and metadata.
fn rewrite(
    src: &Path,
    dst: &Path,
    edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>, &mut HashMap<String, String>),
) {
    let bytes = std::fs::read(src).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors, &mut meta);
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(dst, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

#[test]
fn bad_files_are_errors_that_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    let m = model(CellKind::Lstm, Readout::Last, 8);
    let p = m.init(Init::Seed, &mut StdRng::seed_from_u64(1));
    save(&good, &m, &p, false, 5, None).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    assert!(load_err(&truncated).contains("not a valid safetensors file"));

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a model at all").unwrap();
    assert!(load_err(&garbage).contains("not a valid safetensors file"));

    assert!(load_err(&dir.path().join("absent.safetensors")).contains("No such file"));

    let edited = dir.path().join("edited.safetensors");
    rewrite(&good, &edited, |_, meta| {
        meta.insert("hidden".into(), "16".into());
    });
    let msg = load_err(&edited);
    assert!(
        msg.contains("rnn.weight_hh_l0: shape [32, 8] in the file, [64, 16] expected"),
        "{msg}"
    );

    rewrite(&good, &edited, |t, _| {
        t.retain(|(n, ..)| n != "classifier.bias")
    });
    assert!(load_err(&edited).contains("missing tensor classifier.bias (shape [10])"));

    rewrite(&good, &edited, |t, _| {
        let b = t.iter_mut().find(|(n, ..)| n == "rnn.bias_hh_l0").unwrap();
        (b.1, b.3) = (Dtype::I64, b.3.clone());
    });
    assert!(load_err(&edited).contains("rnn.bias_hh_l0: dtype I64, expected F64 or F32"));

    rewrite(&good, &edited, |t, _| {
        t.push(("extra".into(), Dtype::F64, vec![1], vec![0; 8]))
    });
    assert!(load_err(&edited).contains("unexpected tensor \"extra\""));

    rewrite(&good, &edited, |_, meta| {
        meta.insert("cell".into(), "transformer".into());
    });
    assert!(load_err(&edited).contains("metadata `cell` = \"transformer\""));

    rewrite(&good, &edited, |_, meta| {
        meta.remove("readout");
    });
    assert!(load_err(&edited).contains("metadata lacks `readout`"));

    // A header describing a huge model is refused before anything of its size is allocated.
    rewrite(&good, &edited, |_, meta| {
        meta.insert("hidden".into(), "65536".into());
    });
    let msg = load_err(&edited);
    assert!(msg.contains("more than the file's"), "{msg}");
    rewrite(&good, &edited, |_, meta| {
        meta.insert("layers".into(), "100000".into());
    });
    assert!(load_err(&edited).contains("metadata `layers` = 100000 is larger than 64"));
}

#[test]
fn f32_tensors_and_a_pytorch_style_bias_hh_load() {
    let dir = tempfile::tempdir().unwrap();
    let f64_path = dir.path().join("a.safetensors");
    let m = model(CellKind::Tanh, Readout::Seq, 4);
    let p = m.init(Init::Uniform, &mut StdRng::seed_from_u64(2));
    save(&f64_path, &m, &p, false, 0, None).unwrap();
    let f32_path = dir.path().join("b.safetensors");
    rewrite(&f64_path, &f32_path, |t, _| {
        for (name, dtype, _, bytes) in t.iter_mut() {
            let mut vals: Vec<f64> = bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            if name == "rnn.bias_hh_l0" {
                vals.iter_mut().for_each(|v| *v = 0.5);
            }
            *bytes = vals
                .iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect();
            *dtype = Dtype::F32;
        }
    });
    let ck = checkpoint::load(&f32_path).unwrap();
    let b = m.layout().range("rnn.bias_ih_l0").unwrap();
    for (i, (&got, &saved)) in ck.params.iter().zip(&p).enumerate() {
        let want = f64::from(saved as f32) + if b.contains(&i) { 0.5 } else { 0.0 };
        assert_eq!(got, want, "parameter {i}");
    }
}

#[test]
fn eval_resume_predict_log_and_plot_agree_with_training() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (model, log, plot) = (path("m.safetensors"), path("m.csv"), path("m.svg"));
    let trained = last_json(&blasrnn(&[
        "train",
        "--iters",
        "40",
        "--batch",
        "50",
        "--threads",
        "2",
        "--save",
        &model,
        "--save-every",
        "20",
        "--log",
        &log,
        "--log-every",
        "10",
        "--plot",
        &plot,
        "--eval-every",
        "20",
        "--json",
    ]));
    let evaluated = last_json(&blasrnn(&[
        "eval",
        "--model",
        &model,
        "--threads",
        "1",
        "--json",
    ]));
    assert_eq!(evaluated["test_accuracy"], trained["test_accuracy"]);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(evaluated["confusion"].clone()).unwrap();
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 10000);

    let csv = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[2].starts_with("20,1000,") && !lines[2].ends_with(",,"),
        "{}",
        lines[2]
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("loss") && svg.contains("accuracy"));

    let resumed = last_json(&blasrnn(&[
        "train", "--resume", &model, "--iters", "60", "--batch", "50", "--json",
    ]));
    assert_eq!(resumed["start_iteration"], 40);
    assert_eq!(resumed["train_samples"], 1000);
    fails_with(
        &blasrnn(&[
            "train", "--resume", &model, "--iters", "60", "--hidden", "64",
        ]),
        &["the saved model has --hidden 50"],
    );
    fails_with(
        &blasrnn(&["train", "--resume", &model, "--iters", "40"]),
        &["has done 40 iterations already"],
    );

    // A PNG of test image 0, written here, predicts exactly what --test-index 0 does.
    let data = blasrnn::data::mnist::Mnist::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"),
    )
    .unwrap();
    let png = path("seven.png");
    image::GrayImage::from_raw(28, 28, data.test.bytes(0).unwrap().to_vec())
        .unwrap()
        .save(&png)
        .unwrap();
    // A binary PGM of test image 1 likewise.
    let pgm = path("two.pgm");
    let mut bytes = b"P5\n28 28\n255\n".to_vec();
    bytes.extend_from_slice(data.test.bytes(1).unwrap());
    std::fs::write(&pgm, bytes).unwrap();
    let preds = last_json(&blasrnn(&[
        "predict",
        "--model",
        &model,
        &png,
        &pgm,
        "--test-index",
        "0",
        "--test-index",
        "1",
        "--json",
    ]));
    assert_eq!(preds[0]["probabilities"], preds[2]["probabilities"]);
    assert_eq!(preds[0]["digit"], preds[2]["digit"]);
    assert_eq!(preds[2]["label"], 7);
    assert_eq!(preds[1]["probabilities"], preds[3]["probabilities"]);
    assert_eq!(preds[3]["label"], 2);

    let big = path("big.png");
    image::GrayImage::new(32, 32).save(&big).unwrap();
    fails_with(
        &blasrnn(&["predict", "--model", &model, &big]),
        &["32×32 pixels; the model reads 28×28 images"],
    );
    let rgb = path("rgb.png");
    image::RgbImage::new(28, 28).save(&rgb).unwrap();
    fails_with(
        &blasrnn(&["predict", "--model", &model, &rgb]),
        &["colour type Rgb8"],
    );
    fails_with(
        &blasrnn(&["predict", "--model", &model, "--test-index", "10000"]),
        &["the test set of data/mnist holds 10000 sequences"],
    );
    fails_with(
        &blasrnn(&["eval", "--model", &png]),
        &["not a valid safetensors file"],
    );
}

#[test]
fn f32_models_save_as_f32_and_load_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let m: Network<f32> = model_of(CellKind::Lstm, Readout::Seq, 5, 2);
    let p = m.init(Init::Uniform, &mut StdRng::seed_from_u64(4));
    let mut opt = Optimizer::<f32>::new(OptimizerKind::Adam, p.len());
    let mut q = p.clone();
    opt.step(&mut q, &p, 0.01);
    let path = dir.path().join("f32.safetensors");
    save(&path, &m, &q, false, 3, Some(&opt)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for name in st.names() {
        assert_eq!(st.tensor(name).unwrap().dtype(), Dtype::F32, "{name}");
    }
    let ck = checkpoint::load(&path).unwrap();
    assert_eq!(ck.dtype, blasrnn::real::Dtype::F32);
    assert!(ck.params.iter().zip(&q).all(|(&a, &b)| a == f64::from(b)));
    let (state, _) = opt.state();
    for (name, buf) in state {
        let back: Vec<f32> = ck.optimizer_state[name].iter().map(|&v| v as f32).collect();
        assert_eq!(back.as_slice(), buf, "{name}");
    }
    // An f64 model's file loads as F64.
    let m64 = model(CellKind::Lstm, Readout::Seq, 5);
    let p64 = m64.init(Init::Uniform, &mut StdRng::seed_from_u64(4));
    let path64 = dir.path().join("f64.safetensors");
    save(&path64, &m64, &p64, false, 3, None).unwrap();
    assert_eq!(
        checkpoint::load(&path64).unwrap().dtype,
        blasrnn::real::Dtype::F64
    );
}

#[test]
fn an_f32_run_saves_evaluates_resumes_and_predicts_in_f32() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir
        .path()
        .join("g.safetensors")
        .to_str()
        .unwrap()
        .to_string();
    let common = ["--cell", "gru", "--hidden", "16", "--batch", "50"];
    // The gated cells compute in f32 unless told otherwise.
    let mut args = vec!["train", "--iters", "20"];
    args.extend(common);
    args.extend(["--save", &model, "--json"]);
    let trained = last_json(&blasrnn(&args));
    assert_eq!(trained["dtype"], "f32");
    let evaluated = last_json(&blasrnn(&["eval", "--model", &model, "--json"]));
    assert_eq!(evaluated["test_accuracy"], trained["test_accuracy"]);
    assert_eq!(evaluated["dtype"], "f32");
    let mut args = vec![
        "train", "--resume", &model, "--iters", "30", "--batch", "50",
    ];
    args.push("--json");
    let resumed = last_json(&blasrnn(&args));
    assert_eq!(resumed["dtype"], "f32");
    assert_eq!(resumed["start_iteration"], 20);
    fails_with(
        &blasrnn(&[
            "train", "--resume", &model, "--iters", "30", "--dtype", "f64",
        ]),
        &["the saved model has --dtype f32, but --dtype f64 was given"],
    );
    let preds = last_json(&blasrnn(&[
        "predict",
        "--model",
        &model,
        "--test-index",
        "0",
        "--json",
    ]));
    let p: Vec<f64> = serde_json::from_value(preds[0]["probabilities"].clone()).unwrap();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
}
