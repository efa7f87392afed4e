//! The tasks beyond one class per sequence: regression (`.ts` with `@targetLabel`, `.npz` with
//! float targets), forecasting a series from a CSV file, a class at every step, and bidirectional
//! layers — known answers, bad input refused in one line, runs stopped and resumed to the very
//! weights of the uninterrupted run, and the command line end to end.

use crate::common;

use blasrnn::data::npz::{Expect, Npz, load_split};
use blasrnn::data::series::{Cut, Forecasting, read_csv};
use blasrnn::data::{Data, Dataset, Labelled, Source, Targets, ts};
use blasrnn::network::Task;
use blasrnn::train::Ending;
use blasrnn::{
    CellKind, Control, Error, Event, Readout, RunOptions, SeqSet, TrainConfig, Training,
};
use common::{blasrnn, f32s, fails_with, i64s, last_json, npy, npz_file, unicode};
use std::path::{Path, PathBuf};

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn covid3month_reads_as_regression_with_its_known_mean_baseline() {
    let sets = Source::find(root("data/tser/Covid3Month"))
        .unwrap()
        .load(1.0)
        .unwrap();
    assert_eq!(
        (sets.train.len(), sets.test.len(), sets.train.steps),
        (140, 61, 84)
    );
    let Targets::Values { k: 1, norm, .. } = &sets.train.targets else {
        panic!("regression targets")
    };
    assert!((norm.shift[0] - 0.036897630653605).abs() < 1e-12);
    assert!((1.0 / norm.scale[0] - 0.040208398390519).abs() < 1e-12);
    // The test split's RMSE of predicting the training mean (0.0447), through the library's
    // errors.
    let Targets::Values { y, .. } = &sets.test.targets else {
        panic!("regression targets")
    };
    let mean = vec![norm.shift[0]; y.len()];
    let e = blasrnn::metrics::ValueErrors::of(&mean, y, &norm.shift);
    assert!((e.rmse - 0.044719923686825).abs() < 1e-12, "{e:?}");
    assert_eq!(e.rmse, e.mean_baseline_rmse);
}

#[test]
fn taylor_baselines_are_the_known_ones() {
    let s = read_csv(root("data/forecast/taylor.csv")).unwrap();
    assert_eq!(
        (s.len(), s.columns.as_slice()),
        (4032, &["demand_mw".to_string()][..])
    );
    let cut = Cut {
        window: Some(336),
        test_len: Some(672),
        residual: Some(false),
        ..Cut::new(48)
    };
    let f = Forecasting::new(&s, &cut).unwrap();
    assert_eq!(f.origins.len(), 14);
    for (m, mape, rmse) in [
        (1, 17.8602, 6700.754),
        (48, 6.4678, 3177.008),
        (336, 1.7262, 647.668),
    ] {
        let e = f.errors(&f.seasonal_naive(m));
        assert!((e.mape - mape).abs() < 1e-4, "season {m}: {e:?}");
        assert!((e.rmse - rmse).abs() < 1e-3, "season {m}: {e:?}");
    }
    assert!((f.mase_scale(336) - 578.945105820).abs() < 1e-6);
}

/// A noisy series with a season of 24 steps (a day of hours) on a trend: deterministic noise from
/// an LCG, as large as half the season's swing.
fn daily(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let t = i as f64;
            100.0 + 0.05 * t + 10.0 * (t * std::f64::consts::TAU / 24.0).sin() + 10.0 * noise
        })
        .collect()
}

#[test]
fn forecasting_rules_choose_season_window_and_held_out_part_from_the_series() {
    use blasrnn::data::series::{SeasonFrom, detect_season, test_len_rule, window_rule};
    for seed in 1..=5 {
        assert_eq!(detect_season(&daily(500, seed)), Some(24), "seed {seed}");
    }
    // Quieter weekends make a week the stronger season.
    let weekly: Vec<f64> = daily(700, 9)
        .iter()
        .enumerate()
        .map(|(i, v)| v + if (i / 24) % 7 >= 5 { -25.0 } else { 0.0 })
        .collect();
    assert_eq!(detect_season(&weekly), Some(168));
    // Noise, a straight line and a constant have none.
    let noise: Vec<f64> = daily(500, 3)
        .iter()
        .enumerate()
        .map(|(i, v)| v - 10.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin())
        .collect();
    assert_eq!(detect_season(&noise), None);
    let line: Vec<f64> = (0..100).map(f64::from).collect();
    assert_eq!(detect_season(&line), None);
    assert_eq!(detect_season(&[5.0; 100]), None);

    // The held-out part holds a forecast of the horizon; the window is two short seasons or one
    // long one, within half the training part.
    assert_eq!(test_len_rule(36, 6), 6);
    assert_eq!(test_len_rule(4032, 48), 403);
    assert_eq!(window_rule(4032, 48, 403, 336, true), 336);
    assert_eq!(window_rule(144, 12, 14, 12, true), 24);
    assert_eq!(window_rule(36, 6, 6, 1, true), 11);

    // `--series FILE --horizon H` alone: every setting chosen and said.
    let s = blasrnn::data::series::Series {
        path: "d.csv".into(),
        columns: vec!["load".into()],
        values: daily(600, 1),
    };
    let f = Forecasting::new(&s, &Cut::new(6)).unwrap();
    assert_eq!(
        (f.season, f.season_from, f.seasonal, f.test_len, f.window),
        (24, SeasonFrom::Detected, Some(24), 60, 48)
    );
    // A given season and the values themselves, when asked for.
    let cut = Cut {
        season: Some(12),
        residual: Some(false),
        ..Cut::new(6)
    };
    let f = Forecasting::new(&s, &cut).unwrap();
    assert_eq!(
        (f.season, f.season_from, f.seasonal),
        (12, SeasonFrom::Given, None)
    );
    // The held-out part is never shorter than the horizon asked for.
    let short = blasrnn::data::series::Series {
        values: daily(36, 2),
        ..s
    };
    let f = Forecasting::new(&short, &Cut::new(6)).unwrap();
    assert_eq!((f.test_len, f.origins.len()), (6, 1));
}

#[test]
fn npz_targets_become_regression_or_a_class_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let x = npy("<f4", &[3, 4, 2], false, &f32s(&[0.5; 24]));
    let lens = npy("<i8", &[3], false, &i64s(&[4, 2, 3]));
    let split = |arrays: Vec<(&str, Vec<u8>)>, expect| {
        let p = npz_file(dir.path(), "a.npz", &arrays);
        load_split(&mut Npz::open(&p).unwrap(), "train", expect)
    };
    // Float targets, N and N×K: regression.
    let y = npy(
        "<f8",
        &[3],
        false,
        &[1.5f64, -2.0, 0.25].map(f64::to_le_bytes).concat(),
    );
    let (set, _) = split(
        vec![("x_train", x.clone()), ("y_train", y)],
        Expect::Any { regression: false },
    )
    .unwrap();
    assert!(matches!(&set.targets, Targets::Values { k: 1, y, .. } if y == &[1.5, -2.0, 0.25]));
    let y2 = npy(
        "<f4",
        &[3, 2],
        false,
        &f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    );
    let (set, _) = split(
        vec![("x_train", x.clone()), ("y_train", y2)],
        Expect::Any { regression: false },
    )
    .unwrap();
    assert!(matches!(&set.targets, Targets::Values { k: 2, .. }));
    // Integers: classes, unless read as regression.
    let yi = npy("<i8", &[3], false, &i64s(&[3, 7, 3]));
    let (set, _) = split(
        vec![("x_train", x.clone()), ("y_train", yi.clone())],
        Expect::Any { regression: false },
    )
    .unwrap();
    assert_eq!(
        (set.targets.clone(), set.classes.clone()),
        (Targets::Classes, vec!["3".into(), "7".into()])
    );
    let (set, _) = split(
        vec![("x_train", x.clone()), ("y_train", yi)],
        Expect::Any { regression: true },
    )
    .unwrap();
    assert!(matches!(&set.targets, Targets::Values { k: 1, .. }));
    // Strings N×T: a class per step, the padding ignored (even an unknown name there).
    let ys = npy(
        "<U4",
        &[3, 4],
        false,
        &unicode(
            &["a", "b", "b", "a", "c", "c", "zz", "", "b", "b", "a", "?"],
            4,
        ),
    );
    let with_lens = vec![
        ("x_train", x.clone()),
        ("y_train", ys),
        ("len_train", lens.clone()),
    ];
    let (set, _) = split(with_lens, Expect::Any { regression: false }).unwrap();
    assert_eq!(set.classes, ["a", "b", "c"]);
    let Targets::Steps(l) = &set.targets else {
        panic!("a class per step")
    };
    assert_eq!(l, &[0, 1, 1, 0, 2, 2, 0, 0, 1, 1, 0, 0]);
    assert_eq!(set.class_labels().count(), 9);
    // Bad targets: each a one-line error naming the file.
    for (arrays, needle) in [
        (
            vec![
                ("x_train", x.clone()),
                (
                    "y_train",
                    npy(
                        "<f8",
                        &[3],
                        false,
                        &[1.0f64, f64::NAN, 0.0].map(f64::to_le_bytes).concat(),
                    ),
                ),
            ],
            "y_train[1] = NaN: a regression target must be a finite number",
        ),
        (
            vec![
                ("x_train", x.clone()),
                ("y_train", npy("<i8", &[3, 5], false, &i64s(&[0; 15]))),
            ],
            "labels of every step of x_train need (3, 4)",
        ),
        (
            vec![
                ("x_train", x.clone()),
                ("y_train", npy("<i8", &[2], false, &i64s(&[0, 1]))),
            ],
            "y_train has shape [2] but x_train holds 3 sequences",
        ),
    ] {
        let e = split(arrays, Expect::Any { regression: false })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.npz") && e.contains(needle) && !e.contains('\n'),
            "{e}"
        );
    }
}

#[test]
fn bad_regression_ts_and_csv_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let head = "@problemName r\n@dimensions 1\n@targetLabel true\n@data\n";
    for (body, needle) in [
        (
            "1,2,3:x\n",
            "line 5: the target \"x\" is not a finite number",
        ),
        (
            "1,2,3:inf\n",
            "line 5: the target \"inf\" is not a finite number",
        ),
    ] {
        let p = write(dir.path(), "r.ts", &format!("{head}{body}"));
        let e = ts::read(&p).unwrap_err().to_string();
        assert!(e.contains("r.ts") && e.contains(needle), "{e}");
    }
    let both = "@problemName r\n@classLabel true a b\n@targetLabel true\n@data\n1,2:0.5\n";
    let e = ts::read(&write(dir.path(), "b.ts", both))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("both class labels (@classLabel) and regression targets"),
        "{e}"
    );
    let p = write(dir.path(), "ok.ts", &format!("{head}1,2,3:0.5\n4,5:-1\n"));
    let f = ts::read(&p).unwrap();
    assert_eq!(f.targets.as_deref(), Some(&[0.5, -1.0][..]));
    let set = f.into_values(&p).unwrap();
    assert_eq!((set.len(), set.len_of(1)), (2, 2));

    for (text, needle) in [
        ("", "is empty"),
        ("a,b\n", "has a header but no rows"),
        ("date,label\n2020-01-01,x\n", "has no numeric column"),
        (
            "t,v\n1,2\n2,\n",
            "line 3: column \"v\" has a missing value (\"\")",
        ),
        (
            "t,v\n1,2\n2,NA\n",
            "line 3: column \"v\" has a missing value (\"NA\")",
        ),
        (
            "t,v\n1,2\n2,abc\n",
            "line 3: column \"v\": \"abc\" is not a finite number",
        ),
        ("t,v\n1,2\n2\n", "line 3: 1 fields, but the header names 2"),
        // Whichever row holds it, the first included.
        (
            "t,v\n1,\n2,3\n3,4\n",
            "line 2: column \"v\" has a missing value (\"\")",
        ),
        (
            "t,v\n1,abc\n2,3\n3,4\n",
            "line 2: column \"v\": \"abc\" is not a finite number",
        ),
    ] {
        let p = write(dir.path(), "s.csv", text);
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(
            e.contains("s.csv") && e.contains(needle) && !e.contains('\n'),
            "{e}"
        );
    }
    // A date column is left out; the numbers are read.
    let p = write(
        dir.path(),
        "d.csv",
        "date,a,\"b\"\n2020-01-01,1,2\n2020-01-02,3,4\n",
    );
    let s = read_csv(&p).unwrap();
    assert_eq!(
        (s.columns.as_slice(), s.values.as_slice()),
        (
            &["a".to_string(), "b".into()][..],
            &[1.0, 2.0, 3.0, 4.0][..]
        )
    );
    // So is the unnamed index column a data frame is written with (the Lynx file's `,0`).
    let p = write(dir.path(), "i.csv", ",0\n1821,269\n1822,321\n");
    let s = read_csv(&p).unwrap();
    assert_eq!(
        (s.columns.as_slice(), s.values.as_slice()),
        (&["0".to_string()][..], &[269.0, 321.0][..])
    );
}

/// A tiny run of `cfg` on `data` to its end, and the same stopped after 7 iterations, saved,
/// resumed from the file: the two give the very same weights.
fn resumes_exactly(cfg: &TrainConfig, data: &Dataset, what: &str) {
    let whole = {
        let mut t = Training::new(cfg, data).unwrap();
        t.run(&RunOptions::default(), |_| Control::Continue)
            .unwrap();
        t.model().params()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part.safetensors");
    {
        let mut t = Training::new(cfg, data).unwrap();
        let out = t
            .run(&RunOptions::default(), |e| match e {
                Event::Step { iteration: 7, .. } => Control::Stop,
                _ => Control::Continue,
            })
            .unwrap();
        assert_eq!(out.ending, Ending::Stopped, "{what}");
        t.save(&path).unwrap();
    }
    let ck = blasrnn::checkpoint::load(&path).unwrap();
    let mut t = Training::resume(cfg, data, &ck).unwrap();
    t.run(&RunOptions::default(), |_| Control::Continue)
        .unwrap();
    let resumed = t.model().params();
    assert!(
        whole
            .iter()
            .zip(&resumed)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{what}: the resumed run's weights differ"
    );
}

/// `n` sequences of 3..=8 steps of 2 numbers, and their targets: a number (their mean), or a
/// class at every step (whether the step's first number is above 0.5).
fn sequences(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>, Vec<f64>, Vec<u32>) {
    let mut g = common::Lcg(seed);
    let (mut x, mut lens, mut mean, mut tags) = (vec![0.0; n * 16], vec![], vec![], vec![0; n * 8]);
    for i in 0..n {
        let len = 3 + g.below(6);
        let mut sum = 0.0;
        for s in 0..len {
            let (a, b) = (g.next_f64(), g.next_f64());
            x[(i * 8 + s) * 2] = a;
            x[(i * 8 + s) * 2 + 1] = b;
            sum += a + b;
            tags[i * 8 + s] = u32::from(a > 0.5);
        }
        lens.push(len);
        mean.push(sum / len as f64);
    }
    (x, lens, mean, tags)
}

fn regression_and_tagging() -> (Dataset, Dataset) {
    let sets = |seed| {
        let (x, lens, mean, tags) = sequences(40, seed);
        let base = SeqSet::from_arrays(&x, [40, 8, 2], Some(&lens), None).unwrap();
        let values = base
            .clone()
            .with_values(mean, 1, vec!["mean".into()])
            .unwrap();
        let steps = base
            .with_step_labels(tags, vec!["low".into(), "high".into()])
            .unwrap();
        (values, steps)
    };
    let ((v1, s1), (v2, s2)) = (sets(1), sets(2));
    (
        Dataset::Labelled(Labelled::new(v1, v2).unwrap()),
        Dataset::Labelled(Labelled::new(s1, s2).unwrap()),
    )
}

#[test]
fn regression_tagging_forecasting_and_bidirectional_runs_resume_exactly() {
    let (values, steps) = regression_and_tagging();
    for (data, what) in [(&values, "regression"), (&steps, "a class per step")] {
        for bidirectional in [false, true] {
            for cell in [CellKind::Lstm, CellKind::Gru] {
                let mut cfg = TrainConfig::for_data(data);
                (cfg.cell, cfg.hidden, cfg.batch, cfg.threads) = (cell, 8, 10, 2);
                (cfg.iters, cfg.warmup, cfg.bidirectional) = (15, 3, bidirectional);
                resumes_exactly(
                    &cfg,
                    data,
                    &format!("{what}/{cell:?}/bidirectional {bidirectional}"),
                );
            }
        }
    }
    let y: Vec<f64> = (0..200)
        .map(|i| (i as f64 * 0.3).sin() + 0.01 * i as f64)
        .collect();
    let s = blasrnn::data::series::Series {
        path: "s.csv".into(),
        columns: vec!["v".into()],
        values: y,
    };
    for seasonal in [None, Some(7)] {
        let cut = Cut {
            window: Some(12),
            season: seasonal,
            residual: Some(seasonal.is_some()),
            ..Cut::new(3)
        };
        let data = Dataset::Series(Forecasting::new(&s, &cut).unwrap());
        let mut cfg = TrainConfig::for_data(&data);
        (cfg.hidden, cfg.iters, cfg.warmup, cfg.threads) = (8, 15, 3, 2);
        resumes_exactly(&cfg, &data, &format!("forecasting/seasonal {seasonal:?}"));
    }
}

#[test]
fn models_of_every_task_learn_and_answer_as_their_stream_does() {
    let (values, steps) = regression_and_tagging();
    let mut cfg = TrainConfig::for_data(&values);
    (cfg.hidden, cfg.layers, cfg.batch, cfg.threads) = (16, 1, 8, 1);
    cfg.set_epochs(40, &values);
    let model = blasrnn::fit(&cfg, &values, |_| Control::Continue).unwrap();
    let test = &values.sets().unwrap().test;
    let e = model.evaluate(Data::Labelled(test), 2).unwrap();
    let v = e.values.expect("a regression's errors");
    assert!(v.rmse < 0.5 * v.mean_baseline_rmse && v.r2 > 0.7, "{v:?}");
    // The stream's answer after the whole sequence is what the model says of it.
    let predicted = model.regress_at(test, [0]).unwrap().remove(0);
    let mut live = model.stream().unwrap();
    let mut x = vec![0.0; test.len_of(0) * 2];
    test.widen(0, &mut x);
    let norm = &test.norm;
    let mut last = vec![];
    for frame in x.chunks(2) {
        let raw: Vec<f64> = frame
            .iter()
            .enumerate()
            .map(|(k, v)| v / norm.scale[k] + norm.shift[k])
            .collect();
        if let Some(blasrnn::stream::Output::Values { values, .. }) = live.push(&raw).unwrap() {
            last = values.to_vec();
        }
    }
    assert!(
        (last[0] - predicted[0]).abs() < 1e-5,
        "{last:?} vs {predicted:?}"
    );

    let mut cfg = TrainConfig::for_data(&steps);
    assert_eq!(cfg.readout, Readout::Step);
    (
        cfg.hidden,
        cfg.layers,
        cfg.batch,
        cfg.threads,
        cfg.bidirectional,
    ) = (16, 1, 8, 2, true);
    cfg.set_epochs(40, &steps);
    let model = blasrnn::fit(&cfg, &steps, |_| Control::Continue).unwrap();
    let test = &steps.sets().unwrap().test;
    let e = model.evaluate(Data::Labelled(test), 1).unwrap();
    assert!(e.accuracy > 0.9, "{e:?}");
    assert_eq!(
        e.count,
        (0..test.len()).map(|i| test.len_of(i)).sum::<usize>()
    );
    let tags = model.tag_at(test, [0, 1]).unwrap();
    assert_eq!(
        (tags[0].len(), tags[1].len()),
        (test.len_of(0), test.len_of(1))
    );
    // Bidirectional: no stream; refused for a language model.
    assert!(matches!(model.stream().err().unwrap(), Error::Task(_)));
}

#[test]
fn bidirectional_models_are_saved_with_pytorch_names_and_refused_for_text() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("b.safetensors");
    let m = m.to_str().unwrap();
    let v = last_json(&blasrnn(&[
        "train",
        "--data",
        "data/uea/JapaneseVowels",
        "--bidirectional",
        "--hidden",
        "8",
        "--layers",
        "2",
        "--epochs",
        "1",
        "--save",
        m,
        "--json",
    ]));
    assert_eq!(v["bidirectional"], true);
    let names: Vec<String> = common::tensors(m).into_iter().map(|(n, _)| n).collect();
    for n in [
        "rnn.weight_ih_l0_reverse",
        "rnn.bias_hh_l1_reverse",
        "rnn.weight_hh_l1",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    // PyTorch's shapes: layer 1 reads both directions (2H).
    let bytes = std::fs::read(m).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        st.tensor("rnn.weight_ih_l1_reverse").unwrap().shape(),
        [24, 16]
    );
    assert_eq!(st.tensor("classifier.weight").unwrap().shape(), [9, 16]);
    let e = last_json(&blasrnn(&[
        "eval",
        "--model",
        m,
        "--data",
        "data/uea/JapaneseVowels",
        "--json",
    ]));
    assert_eq!(e["test_accuracy"], v["test_accuracy"]);
    let text = common::synthetic_text(7000, 1);
    let t = dir.path().join("t.txt");
    std::fs::write(&t, text).unwrap();
    fails_with(
        &blasrnn(&["train", "--text", t.to_str().unwrap(), "--bidirectional"]),
        &[
            "--bidirectional does not apply to a language model",
            "cannot read ahead",
        ],
    );
}

#[test]
fn regression_forecasting_and_tagging_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // Regression on Covid3Month: the figures, evaluated again, predicted.
    let r = path("r.safetensors");
    let v = last_json(&blasrnn(&[
        "train",
        "--data",
        "data/tser/Covid3Month",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--save",
        &r,
        "--json",
        "--loss",
        "huber",
    ]));
    assert_eq!(
        (v["task"].as_str(), v["loss"].as_str()),
        (Some("regress"), Some("huber"))
    );
    for key in ["test_rmse", "test_mae", "test_r2", "mean_baseline_rmse"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}: {v}");
    }
    assert!((v["mean_baseline_rmse"].as_f64().unwrap() - 0.0447).abs() < 1e-4);
    let e = last_json(&blasrnn(&[
        "eval",
        "--model",
        &r,
        "--data",
        "data/tser/Covid3Month",
        "--json",
    ]));
    // (Batches of another size: the same figure up to f32 rounding.)
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        (a - b).abs() <= 1e-6 * b.abs()
    };
    assert!(close(&e["test_rmse"], &v["test_rmse"]), "{e} vs {v}");
    let p = last_json(&blasrnn(&[
        "predict",
        "--model",
        &r,
        "--data",
        "data/tser/Covid3Month",
        "--test-index",
        "3",
        "--json",
    ]));
    assert_eq!(p[0]["values"].as_array().unwrap().len(), 1);
    assert!(p[0]["targets"][0].as_f64().is_some());
    fails_with(
        &blasrnn(&[
            "train",
            "--data",
            "data/uea/JapaneseVowels",
            "--loss",
            "mae",
        ]),
        &["--loss applies to regression and forecasting"],
    );

    // Forecasting: the figures beside the seasonal naive forecast's, then the next steps.
    let csv = path("s.csv");
    let y: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "{}",
                10.0 + (i as f64 * std::f64::consts::TAU / 24.0).sin() + 0.003 * i as f64
            )
        })
        .collect();
    std::fs::write(&csv, format!("load\n{}\n", y.join("\n"))).unwrap();
    let f = path("f.safetensors");
    let v = last_json(&blasrnn(&[
        "train",
        "--series",
        &csv,
        "--window",
        "24",
        "--horizon",
        "6",
        "--test-len",
        "36",
        "--season",
        "24",
        "--residual",
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--save",
        &f,
        "--json",
    ]));
    for key in [
        "test_rmse",
        "test_mae",
        "test_mape",
        "test_mase",
        "baseline_rmse",
    ] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}: {v}");
    }
    assert_eq!(
        (v["origins"].as_u64(), v["horizon"].as_u64()),
        (Some(6), Some(6))
    );
    let e = last_json(&blasrnn(&[
        "eval", "--model", &f, "--series", &csv, "--season", "24", "--json",
    ]));
    assert!(close(&e["test_rmse"], &v["test_rmse"]), "{e} vs {v}");
    assert_eq!(e["baseline_rmse"], v["baseline_rmse"]);
    assert_eq!(
        (v["season"].as_u64(), v["season_from"].as_str()),
        (Some(24), Some("given"))
    );
    for (flag, value) in [("--window", "12"), ("--season", "12")] {
        fails_with(
            &blasrnn(&["train", "--series", &csv, "--resume", &f, flag, value]),
            &[&format!("the saved forecaster fixes {flag}")],
        );
    }
    // The series and the horizon alone: the season found, the rest chosen and said.
    let v = last_json(&blasrnn(&[
        "train",
        "--series",
        &csv,
        "--horizon",
        "6",
        "--hidden",
        "8",
        "--json",
    ]));
    assert_eq!(
        (
            v["season"].as_u64(),
            v["season_from"].as_str(),
            v["residual"].as_bool(),
            v["window"].as_u64(),
            v["test_len"].as_u64()
        ),
        (Some(24), Some("detected"), Some(true), Some(48), Some(30))
    );
    // A fifth of the training windows, the latest, validate; the best iteration's parameters
    // are kept and said.
    let windows = v["validation_sequences"].as_u64().unwrap();
    let best = v["best_iteration"].as_u64().unwrap();
    assert_eq!(v["validation"].as_f64(), Some(0.2));
    assert!(
        windows > 0 && (1..=v["iters"].as_u64().unwrap()).contains(&best),
        "{v}"
    );
    assert!(v["best_validation_loss"].as_f64().unwrap().is_finite());
    for (flag, value, saved) in [("--validation", "0.5", "0.2"), ("--patch", "2", "1")] {
        fails_with(
            &blasrnn(&["train", "--series", &csv, "--resume", &f, flag, value]),
            &[&format!(
                "the saved model has {flag} {saved}, but {flag} {value} was given"
            )],
        );
    }
    let out = blasrnn(&["forecast", "--model", &f, "--series", &csv]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines[0], "step,load");
    assert_eq!(lines.len(), 7);
    assert!(lines[1].starts_with("301,"), "{lines:?}");
    let short = path("short.csv");
    std::fs::write(&short, "load\n1\n2\n3\n").unwrap();
    fails_with(
        &blasrnn(&["forecast", "--model", &f, "--series", &short]),
        &["short.csv", "the model reads the last 48"],
    );
    for (args, needle) in [
        (vec!["--horizon", "0"], "--horizon must be at least 1"),
        (vec!["--target", "nope"], "has no column \"nope\""),
        (vec!["--window", "290"], "too short for --window 290"),
    ] {
        let mut all = vec!["train", "--series", &csv];
        all.extend(args);
        let out = blasrnn(&all);
        fails_with(&out, &[needle]);
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }

    // A class at every step: the segmentation set; per step and per sequence.
    let t = path("t.safetensors");
    let v = last_json(&blasrnn(&[
        "train",
        "--data",
        "data/segments/basicmotions_segments.npz",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--save",
        &t,
        "--json",
    ]));
    assert_eq!(
        (v["task"].as_str(), v["readout"].as_str()),
        (Some("tag"), Some("step"))
    );
    assert!(v["test_step_accuracy"].as_f64().unwrap() > 0.0);
    assert!(v["test_sequence_accuracy"].as_f64().is_some());
    let p = last_json(&blasrnn(&[
        "predict",
        "--model",
        &t,
        "--data",
        "data/segments/basicmotions_segments.npz",
        "--test-index",
        "0",
        "--json",
    ]));
    let (names, labels) = (
        p[0]["names"].as_array().unwrap(),
        p[0]["labels"].as_array().unwrap(),
    );
    assert_eq!(names.len(), labels.len());
    assert!(names.len() > 50);
    fails_with(
        &blasrnn(&[
            "train",
            "--data",
            "data/segments/basicmotions_segments.npz",
            "--readout",
            "last",
        ]),
        &["the data label every step: --readout step reads them, not last"],
    );
    fails_with(
        &blasrnn(&[
            "train",
            "--data",
            "data/uea/JapaneseVowels",
            "--readout",
            "step",
        ]),
        &["--readout step needs a label at every step"],
    );
    let _ = Task::NextToken;
}
