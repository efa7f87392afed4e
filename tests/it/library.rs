//! The library as a caller uses it: `fit` on arrays, save, load (dtype and task from the file),
//! classify, evaluate; a `Training` driven by its callback, stopped, saved, resumed to the very
//! weights of the uninterrupted run; streaming prediction agreeing with whole-sequence
//! prediction; and misuse answered by a typed error that names no command-line flag.

use crate::common;

use blasrnn::data::{Data, Labelled, Norm};
use blasrnn::stream::Output;
use blasrnn::{
    CellKind, Control, Dataset, Dtype, Error, Event, Model, Readout, RunOptions, SampleOptions,
    SeqSet, TrainConfig, Training,
};
use common::{Lcg, synthetic_text};

/// A labelled data set of noisy two-number sequences of 3..=`t` steps whose class (of 3) is
/// which number drifts up.
fn drifting(n: usize, t: usize, seed: u64) -> (Vec<f64>, Vec<usize>, Vec<usize>) {
    let mut g = Lcg(seed);
    let (mut x, mut lens, mut y) = (vec![0.0; n * t * 2], Vec::new(), Vec::new());
    for i in 0..n {
        let class = g.below(3);
        let len = 3 + g.below(t - 2);
        for s in 0..len {
            let up = 0.3 * s as f64;
            let (a, b) = match class {
                0 => (up, 0.0),
                1 => (0.0, up),
                _ => (-up, -up),
            };
            x[(i * t + s) * 2] = a + g.next_f64() - 0.5;
            x[(i * t + s) * 2 + 1] = b + g.next_f64() - 0.5;
        }
        lens.push(len);
        y.push(class);
    }
    (x, lens, y)
}

fn dataset(t: usize) -> Dataset {
    let (x, lens, y) = drifting(120, t, 1);
    let train = SeqSet::from_arrays(&x, [120, t, 2], Some(&lens), Some(&y)).unwrap();
    let (x, lens, y) = drifting(40, t, 2);
    let test = SeqSet::from_arrays(&x, [40, t, 2], Some(&lens), Some(&y)).unwrap();
    Dataset::Labelled(Labelled::new(train, test).unwrap())
}

fn small(data: &Dataset, cell: CellKind, readout: Readout, dtype: Dtype) -> TrainConfig {
    let mut cfg = TrainConfig::for_data(data);
    (cfg.cell, cfg.readout, cfg.dtype) = (cell, readout, dtype);
    (cfg.hidden, cfg.layers, cfg.batch, cfg.threads, cfg.warmup) = (12, 2, 20, 2, 5);
    cfg.set_epochs(8, data);
    cfg
}

fn test_split(data: &Dataset) -> &SeqSet {
    let Dataset::Labelled(l) = data else {
        panic!("labelled")
    };
    &l.test
}

#[test]
fn fit_save_load_and_classify_in_the_saved_dtype() {
    let data = dataset(9);
    let dir = tempfile::tempdir().unwrap();
    for dtype in [Dtype::F32, Dtype::F64] {
        let cfg = small(&data, CellKind::Gru, Readout::Last, dtype);
        let mut reports = 0;
        let model = blasrnn::fit(&cfg, &data, |e| {
            reports += usize::from(matches!(e, Event::Report(_)));
            Control::Continue
        })
        .unwrap();
        assert_eq!(reports, 1, "one report at the end of 48 iterations");
        assert_eq!((model.dtype(), model.iteration()), (dtype, cfg.iters));
        let path = dir.path().join(format!("{dtype}.safetensors"));
        model.save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        assert_eq!(back.dtype(), dtype);
        assert_eq!(back.config(), model.config());
        assert_eq!(back.training(), Some(&cfg));
        assert_eq!(back.classes().unwrap(), ["0", "1", "2"]);
        let test = test_split(&data);
        let (a, b) = (model.classify(test).unwrap(), back.classify(test).unwrap());
        assert_eq!(a, b, "the loaded model answers as the saved one");
        let right = a
            .iter()
            .zip(&test.labels)
            .filter(|(p, l)| p.class == **l as usize)
            .count();
        assert!(right >= 32, "{dtype}: {right} of 40");
        let e = back.evaluate(Data::Labelled(test), 2).unwrap();
        assert_eq!(e.count, 40);
        assert_eq!(e.accuracy, right as f64 / 40.0);
        assert_eq!(e.confusion.iter().sum::<usize>(), 40);
    }
}

#[test]
fn predictions_do_not_depend_on_what_the_model_predicted_before() {
    let data = dataset(9);
    let cfg = small(&data, CellKind::Lstm, Readout::Last, Dtype::F32);
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let bytes = model.to_bytes().unwrap();
    let fresh = |set: &SeqSet| Model::from_bytes(&bytes).unwrap().classify(set).unwrap();
    let test = test_split(&data);
    let (x, lens, y) = drifting(5, 14, 3);
    let longer = SeqSet::from_arrays(&x, [5, 14, 2], Some(&lens), Some(&y)).unwrap();
    let one = test.subset(&[3]);
    let first = model.classify(test).unwrap();
    assert_eq!(first, fresh(test));
    assert_eq!(model.classify(&longer).unwrap(), fresh(&longer));
    assert_eq!(model.classify(&one).unwrap(), fresh(&one));
    assert_eq!(model.classify(test).unwrap(), first);
    // Side by side, predictions share the model but not its buffers.
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    (0..20)
                        .map(|_| model.classify(test).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for run in runs {
            assert!(run.join().unwrap().iter().all(|p| *p == first));
        }
    });
}

#[test]
fn a_stopped_training_resumes_to_the_uninterrupted_weights() {
    let data = dataset(7);
    let cfg = small(&data, CellKind::Lstm, Readout::Mean, Dtype::F64);
    let dir = tempfile::tempdir().unwrap();
    let whole = {
        let mut t = Training::new(&cfg, &data).unwrap();
        t.run(&RunOptions::default(), |_| Control::Continue)
            .unwrap();
        t.model().params()
    };
    // Stop from the callback after iteration 13; save; resume from the file in a new run.
    let path = dir.path().join("part.safetensors");
    {
        let mut t = Training::new(&cfg, &data).unwrap();
        let out = t
            .run(&RunOptions::default(), |e| match e {
                Event::Step { iteration: 13, .. } => Control::Stop,
                _ => Control::Continue,
            })
            .unwrap();
        assert_eq!(
            (out.done, out.ending.clone()),
            (13, blasrnn::train::Ending::Stopped)
        );
        assert_eq!(out.reports.last().unwrap().iteration, 13);
        t.save(&path).unwrap();
    }
    let ck = blasrnn::checkpoint::load(&path).unwrap();
    let mut t = Training::resume(&cfg, &data, &ck).unwrap();
    assert_eq!(t.iteration(), 13);
    let out = t
        .run(&RunOptions::default(), |_| Control::Continue)
        .unwrap();
    assert_eq!((out.first, out.done), (13, cfg.iters));
    let resumed = t.model().params();
    assert!(
        whole
            .iter()
            .zip(&resumed)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the resumed run's weights differ"
    );
    // A run already done, another model, other data: errors that say so.
    let done = dir.path().join("done.safetensors");
    t.save(&done).unwrap();
    let e = Training::resume(&cfg, &data, &blasrnn::checkpoint::load(&done).unwrap())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("has done 48 iterations already"),
        "{e}"
    );
    let other = TrainConfig {
        hidden: 13,
        ..cfg.clone()
    };
    let e = Training::resume(&other, &data, &ck).err().unwrap();
    assert!(matches!(e, Error::Format { .. }) && e.to_string().contains("the saved model is"));
}

#[test]
fn a_stream_answers_every_step_as_the_whole_prefix_would() {
    let data = dataset(8);
    for (readout, cell) in [
        (Readout::Last, CellKind::Lstm),
        (Readout::Mean, CellKind::Gru),
        (Readout::Seq, CellKind::Tanh),
    ] {
        // The seed readout reads sequences of one length only.
        let data = if readout == Readout::Seq {
            let (x, _, y) = drifting(60, 8, 3);
            let train = SeqSet::from_arrays(&x, [60, 8, 2], None, Some(&y)).unwrap();
            Dataset::Labelled(Labelled::new(train.clone(), train).unwrap())
        } else {
            data.clone()
        };
        let cfg = small(&data, cell, readout, Dtype::F64);
        let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
        let Dataset::Labelled(sets) = &data else {
            unreachable!()
        };
        let norm: &Norm = &sets.train.norm;
        let mut live = model.stream().unwrap();
        for i in 0..3 {
            let len = sets.test.len_of(i);
            let raw = raw_sequence(&sets.test, i, norm);
            let mut answered = 0;
            for step in 1..=len {
                let frame = &raw[(step - 1) * 2..step * 2];
                let out = live.push(frame).unwrap();
                let Some(Output::Class {
                    step: s,
                    probabilities,
                    ..
                }) = out
                else {
                    assert!(
                        readout == Readout::Seq && step < 8,
                        "{readout:?}: no answer"
                    );
                    continue;
                };
                answered += 1;
                assert_eq!(s, step);
                let prefix =
                    SeqSet::from_arrays(&raw[..step * 2], [1, step, 2], None, None).unwrap();
                let whole = model.classify(&prefix).unwrap();
                for (a, b) in probabilities.iter().zip(&whole[0].probabilities) {
                    assert!((a - b).abs() < 1e-10, "{readout:?} step {step}: {a} vs {b}");
                }
            }
            let want = if readout == Readout::Seq { 1 } else { len };
            assert_eq!(answered, want, "{readout:?}");
            live.reset();
        }
    }
}

/// Sequence `i` of `set` as raw values (before normalisation), `[len][D]`.
fn raw_sequence(set: &SeqSet, i: usize, norm: &Norm) -> Vec<f64> {
    let d = set.dims;
    let mut x = vec![0.0f64; set.len_of(i) * d];
    set.widen(i, &mut x);
    for step in x.chunks_exact_mut(d) {
        for ((v, scale), shift) in step.iter_mut().zip(&norm.scale).zip(&norm.shift) {
            *v = *v / scale + shift;
        }
    }
    x
}

#[test]
fn a_language_model_samples_and_streams_characters() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.txt");
    std::fs::write(&file, synthetic_text(6000, 7)).unwrap();
    let data = blasrnn::data::load_text(&file, 0.1).unwrap();
    let mut cfg = TrainConfig::for_data(&data);
    (cfg.hidden, cfg.layers, cfg.batch, cfg.seq_len, cfg.iters) = (16, 1, 8, 20, 30);
    cfg.threads = 2;
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let options = SampleOptions {
        seed: 3,
        ..SampleOptions::default()
    };
    let a = model.sample("ab", 50, &options).unwrap();
    assert_eq!(a, model.sample("ab", 50, &options).unwrap());
    assert_eq!(a.chars().count(), 50);
    // The stream's distribution after "ab" is the sampler's after priming with "ab" (in f32,
    // the model's dtype: one chunk of two against two of one round differently).
    let mut s = model.sampler(&options).unwrap();
    s.start("ab").unwrap();
    let mut live = model.stream().unwrap();
    live.push_char('a').unwrap();
    let Output::NextChar(p) = live.push_char('b').unwrap() else {
        panic!("a language model's stream answers with the next character's distribution")
    };
    for (x, y) in p.iter().zip(s.distribution()) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    let e = live.push(&[0.0]).err().unwrap();
    assert!(matches!(e, Error::Task(_)), "{e:?}");
    assert!(matches!(
        live.push_char('Z').err().unwrap(),
        Error::Shape(_)
    ));
    let e = model.sample("aZ", 5, &options).err().unwrap();
    assert!(e.to_string().contains("'Z'"), "{e}");
    assert!(matches!(
        model.classify(test_split(&dataset(5))),
        Err(Error::Task(_))
    ));
}

#[test]
fn misuse_is_a_typed_error_naming_no_flag() {
    let data = dataset(6);
    let cfg = small(&data, CellKind::Gru, Readout::Last, Dtype::F32);
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let mut errors = vec![
        model
            .sample("a", 3, &SampleOptions::default())
            .err()
            .unwrap(),
        model.evaluate(Data::Text(&[0, 1]), 1).err().unwrap(),
        model.stream().unwrap().push(&[1.0]).err().unwrap(),
        model
            .stream()
            .unwrap()
            .push(&[1.0, f64::NAN])
            .err()
            .unwrap(),
        model.stream().unwrap().push_char('a').err().unwrap(),
        SeqSet::from_arrays(&[1.0f64; 5], [2, 2, 1], None, None)
            .err()
            .unwrap(),
        SeqSet::from_arrays(&[1.0f64; 4], [2, 2, 1], Some(&[2, 3]), None)
            .err()
            .unwrap(),
        SeqSet::from_arrays(&[1.0f64; 4], [2, 2, 1], None, Some(&[0]))
            .err()
            .unwrap(),
        SeqSet::from_arrays(&[f64::INFINITY; 4], [2, 2, 1], None, None)
            .err()
            .unwrap(),
    ];
    let ones = SeqSet::from_arrays(&[1.0; 12], [2, 2, 3], None, Some(&[0, 1])).unwrap();
    errors.push(model.classify(&ones).err().unwrap());
    errors.push(
        Labelled::new(ones.clone(), test_split(&data).clone())
            .err()
            .unwrap(),
    );
    for (bad, why) in [
        (
            TrainConfig {
                lr: 0.0,
                ..cfg.clone()
            },
            "`lr` must be a positive number",
        ),
        (
            TrainConfig {
                batch: 500,
                ..cfg.clone()
            },
            "`batch` 500 is larger",
        ),
        (
            TrainConfig {
                dropout: 0.5,
                layers: 1,
                ..cfg.clone()
            },
            "needs `layers` 2",
        ),
        (
            TrainConfig {
                readout: Readout::Seq,
                ..cfg.clone()
            },
            "`readout` seq reads every step",
        ),
        (
            TrainConfig {
                forget_bias: Some(1.0),
                ..cfg.clone()
            },
            "`forget_bias` applies to `cell` lstm only",
        ),
    ] {
        let e = Training::new(&bad, &data).err().unwrap();
        assert!(
            matches!(e, Error::Config(_)) && e.to_string().contains(why),
            "{e}"
        );
        errors.push(e);
    }
    let options = SampleOptions {
        temperature: 0.0,
        ..SampleOptions::default()
    };
    errors.push(options.check().err().unwrap());
    for e in &errors {
        let msg = e.to_string();
        assert!(!msg.contains("--") && !msg.contains('\n'), "{msg}");
    }
    assert!(
        errors[..5]
            .iter()
            .all(|e| matches!(e, Error::Task(_) | Error::Shape(_)))
    );
}

/// `x` (`[n][t][d]`, lengths `lens`) regrouped into patches of `p` steps: `[n][⌈t/p⌉][p·d]`,
/// each sequence's last patch completed with zeros.
fn regrouped(x: &[f64], [n, t, d]: [usize; 3], lens: &[usize], p: usize) -> Vec<f64> {
    let s = t.div_ceil(p);
    let mut out = vec![0.0; n * s * p * d];
    for i in 0..n {
        let len = lens[i] * d;
        out[i * s * p * d..i * s * p * d + len].copy_from_slice(&x[i * t * d..i * t * d + len]);
    }
    out
}

#[test]
fn patches_are_the_regrouped_sequences_in_training_saving_and_streaming() {
    use blasrnn::network::{Network, NetworkConfig, Task};
    // The network that reads patches of 3 steps of 2 numbers computes, from the same
    // parameters, the loss and gradient of the one that reads steps of 6 numbers regrouped.
    let (n, t, p) = (6, 8, 3);
    let (x, lens, y) = drifting(n, t, 4);
    let patched = SeqSet::from_arrays(&x, [n, t, 2], Some(&lens), Some(&y)).unwrap();
    let s = t.div_ceil(p);
    let plens: Vec<usize> = lens.iter().map(|l| l.div_ceil(p)).collect();
    let wide = regrouped(&x, [n, t, 2], &lens, p);
    let wide = SeqSet::from_arrays(&wide, [n, s, 6], Some(&plens), Some(&y)).unwrap();
    let shape = |input, patch| NetworkConfig {
        cell: CellKind::Lstm,
        input,
        hidden: 5,
        layers: 2,
        bidirectional: false,
        task: Task::Classify {
            readout: Readout::Mean,
            steps: s,
            outputs: input,
            classes: 3,
        },
        patch,
    };
    let (a, b) = (
        Network::<f64>::new(shape(2, p)),
        Network::<f64>::new(shape(6, 1)),
    );
    assert_eq!(a.num_params(), b.num_params());
    let mut g = common::Lcg(7);
    let params: Vec<f64> = (0..a.num_params()).map(|_| g.next_f64() - 0.5).collect();
    let run = |net: &Network<f64>, set: &SeqSet| {
        let mut ws = net.workspace(n, s, false);
        set.load_batch(&mut (0..n).collect::<Vec<_>>(), &mut ws.batch);
        assert_eq!(ws.batch.steps(), s);
        let (loss, _) = net.forward(&params, &mut ws, None);
        net.backward(&params, &mut ws, 1.0);
        (loss, ws.grad.clone())
    };
    let ((la, ga), (lb, gb)) = (run(&a, &patched), run(&b, &wide));
    assert_eq!(la.to_bits(), lb.to_bits(), "loss {la} vs {lb}");
    assert!(ga.iter().zip(&gb).all(|(u, v)| u.to_bits() == v.to_bits()));

    // Trained, saved and loaded with its patch; a stream answers after every third step, as
    // the whole prefix would.
    let data = dataset(9);
    let mut cfg = small(&data, CellKind::Gru, Readout::Last, Dtype::F64);
    cfg.patch = 3;
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    assert_eq!((model.config().patch, model.config().width()), (3, 6));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patched.safetensors");
    model.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back.config(), model.config());
    let test = test_split(&data);
    let answers = back.classify(test).unwrap();
    assert_eq!(answers, model.classify(test).unwrap());
    let right = (answers.iter().zip(&test.labels))
        .filter(|(a, l)| a.class == **l as usize)
        .count();
    assert!(right >= 30, "{right} of 40");
    let Dataset::Labelled(sets) = &data else {
        unreachable!()
    };
    let mut live = back.stream().unwrap();
    for i in 0..4 {
        let len = test.len_of(i);
        let raw = raw_sequence(test, i, &sets.train.norm);
        for step in 1..=len {
            let out = live.push(&raw[(step - 1) * 2..step * 2]).unwrap();
            let Some(Output::Class {
                step: at,
                probabilities,
                ..
            }) = out
            else {
                assert!(step % 3 != 0, "no answer after step {step}");
                continue;
            };
            assert_eq!((at, step % 3), (step, 0));
            let prefix = SeqSet::from_arrays(&raw[..step * 2], [1, step, 2], None, None).unwrap();
            let whole = back.classify(&prefix).unwrap();
            for (u, v) in probabilities.iter().zip(&whole[0].probabilities) {
                assert!((u - v).abs() < 1e-10, "step {step}: {u} vs {v}");
            }
        }
        live.reset();
    }
}

#[test]
fn long_sequences_are_read_in_patches_by_default_and_bad_patches_are_refused() {
    use blasrnn::train::patch_rule;
    assert_eq!(
        [24, 128, 129, 251, 1460].map(patch_rule),
        [1, 1, 5, 8, 46],
        "at most 128 steps read step by step; longer ones in about 32 patches"
    );
    let long = dataset(200);
    let cfg = TrainConfig::for_data(&long);
    assert_eq!(cfg.patch, 7);
    let net = cfg.network(&long);
    assert_eq!((net.width(), net.task.steps()), (14, Some(29)));
    assert_eq!(TrainConfig::for_data(&dataset(9)).patch, 1);
    let e = Training::new(
        &TrainConfig {
            patch: 0,
            ..cfg.clone()
        },
        &long,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("`patch` must be at least 1"), "{e}");
}

#[test]
fn early_stopping_keeps_the_best_parameters_and_resumes_to_them() {
    // Random classes: the model learns its training sequences by heart, and its loss on the
    // validation part rises.
    let (n, t) = (80, 6);
    let (x, lens, _) = drifting(n, t, 5);
    let mut g = common::Lcg(9);
    let y: Vec<usize> = (0..n).map(|_| g.below(3)).collect();
    let set = SeqSet::from_arrays(&x, [n, t, 2], Some(&lens), Some(&y)).unwrap();
    let data = Dataset::Labelled(Labelled::new(set.clone(), set).unwrap());
    let mut cfg = small(&data, CellKind::Gru, Readout::Last, Dtype::F64);
    (cfg.hidden, cfg.layers, cfg.lr, cfg.iters, cfg.validation) = (48, 1, 0.02, 150, 0.25);
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        log_every: 10,
        ..RunOptions::default()
    };

    let mut whole = Training::new(&cfg, &data).unwrap();
    let (train, validation) = whole.validation_part().unwrap();
    assert_eq!((train.len(), validation.len()), (60, 20));
    let out = whole.run(&options, |_| Control::Continue).unwrap();
    let best = out.best.unwrap();
    assert_eq!(whole.best(), Some(best));
    let losses: Vec<f64> = out
        .reports
        .iter()
        .filter_map(|r| r.validation_loss)
        .collect();
    assert_eq!(
        losses.len(),
        15,
        "a validation every 3 iterations, the last of each report"
    );
    let last = *losses.last().unwrap();
    assert!(
        best.iteration < cfg.iters && last > best.loss + 0.1,
        "the validation loss rises: best {best:?}, last {last}"
    );
    let kept = whole.model();
    let e = kept.evaluate(Data::Labelled(test_split(&data)), 1).unwrap();
    assert_eq!(
        whole.evaluate().loss,
        e.loss,
        "evaluate reads the kept parameters"
    );
    let end = dir.path().join("end.safetensors");
    whole.save(&end).unwrap();
    let end = blasrnn::checkpoint::load(&end).unwrap();
    assert_eq!(
        end.params,
        kept.params(),
        "the file's model is the kept one"
    );
    assert_eq!(end.resume.as_ref().unwrap().1, best);

    // The kept parameters are those of the best iteration: a run stopped there has them as its
    // last ones.
    let mut there = Training::new(&cfg, &data).unwrap();
    let stop = RunOptions {
        stop_at: Some(best.iteration),
        ..options.clone()
    };
    there.run(&stop, |_| Control::Continue).unwrap();
    let path = dir.path().join("there.safetensors");
    there.save(&path).unwrap();
    let ck = blasrnn::checkpoint::load(&path).unwrap();
    let (current, b) = ck.resume.unwrap();
    assert_eq!((b, &current), (best, &ck.params));
    assert_eq!(current, kept.params());

    // Stopped in the middle, saved and resumed: the same kept parameters, the same last ones.
    let mut part = Training::new(&cfg, &data).unwrap();
    let middle = RunOptions {
        stop_at: Some(100),
        ..options.clone()
    };
    part.run(&middle, |_| Control::Continue).unwrap();
    let path = dir.path().join("part.safetensors");
    part.save(&path).unwrap();
    let ck = blasrnn::checkpoint::load(&path).unwrap();
    let mut resumed = Training::resume(&cfg, &data, &ck).unwrap();
    let out = resumed.run(&options, |_| Control::Continue).unwrap();
    assert_eq!(out.best, Some(best));
    assert_eq!(resumed.model().params(), kept.params());
    let path = dir.path().join("resumed.safetensors");
    resumed.save(&path).unwrap();
    let again = blasrnn::checkpoint::load(&path).unwrap();
    assert_eq!(again.resume, end.resume, "the last parameters agree too");

    // A validation part that leaves too little to train on, or none to validate on.
    let e = Training::new(
        &TrainConfig {
            validation: 0.9,
            ..cfg.clone()
        },
        &data,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("`validation` 0.9 leaves of 80"),
        "{e}"
    );
    let e = Training::new(
        &TrainConfig {
            validation: 1.0,
            ..cfg.clone()
        },
        &data,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string()
            .contains("`validation` must be at least 0 and below 1"),
        "{e}"
    );
}

#[test]
fn real_numbers_keep_their_best_parameters_by_default_and_classes_train_on_everything() {
    use blasrnn::train::VALIDATION;
    let classes = dataset(9);
    let c = TrainConfig::for_data(&classes);
    assert_eq!((c.validation, c.batch, c.patch), (0.0, 32, 1));
    let (x, lens, y) = drifting(30, 9, 6);
    let values: Vec<f64> = y.iter().map(|&c| c as f64 * 0.5).collect();
    let set = SeqSet::from_arrays(&x, [30, 9, 2], Some(&lens), None)
        .unwrap()
        .with_values(values, 1, vec!["y".into()])
        .unwrap();
    let data = Dataset::Labelled(Labelled::new(set.clone(), set).unwrap());
    let c = TrainConfig::for_data(&data);
    assert_eq!(c.validation, VALIDATION);
    assert_eq!(c.batch, 24, "the 24 sequences the validation part leaves");
    assert_eq!(c.iters, 100, "100 passes over them");
    let mut run = Training::new(&c, &data).unwrap();
    assert_eq!(
        run.validation_part().map(|(t, v)| (t.len(), v.len())),
        Some((24, 6))
    );
    let out = run
        .run(&RunOptions::default(), |_| Control::Continue)
        .unwrap();
    assert!(
        out.best
            .is_some_and(|b| b.iteration >= 2 && b.iteration <= 100)
    );
}

/// `f` returns an error rather than panicking or aborting.
fn refused<T>(what: &str, f: impl FnOnce() -> blasrnn::Result<T>) -> Error {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(_)) => panic!("{what}: accepted"),
        Ok(Err(e)) => e,
        Err(_) => panic!("{what}: panicked"),
    }
}

#[test]
fn sizes_labels_shapes_and_weights_out_of_range_are_errors_not_aborts() {
    use blasrnn::data::MAX_CLASSES;
    use blasrnn::data::series::{Cut, Forecasting, Series};
    let x = [0.5f64; 4];
    for label in [usize::MAX, 4_000_000_000, MAX_CLASSES] {
        let e = refused("a huge label", || {
            SeqSet::from_arrays(&x, [2, 2, 1], None, Some(&[0, label]))
        });
        assert!(e.to_string().contains("classes a set may have"), "{e}");
    }
    // A test label the training split does not have; the training split's names kept.
    let train = SeqSet::from_arrays(&x, [2, 2, 1], None, Some(&[0, 1])).unwrap();
    let test = SeqSet::from_arrays(&x, [2, 2, 1], None, Some(&[0, 2])).unwrap();
    let e = refused("an unknown test class", || {
        Labelled::new(train.clone(), test.clone())
    });
    assert!(
        e.to_string()
            .contains("class 2, not one of the training split's 2"),
        "{e}"
    );
    let mut named = train.clone();
    named.classes = vec!["cat".into(), "dog".into()];
    let sets = Labelled::new(named, train.clone()).unwrap();
    assert_eq!(
        (sets.train.classes.clone(), sets.test.classes),
        (
            vec!["cat".to_string(), "dog".into()],
            vec!["cat".to_string(), "dog".into()]
        )
    );
    // Sizes past the machine's memory, or past any machine's, before anything is allocated.
    let data = dataset(6);
    for hidden in [100_000, 1 << 40] {
        let cfg = TrainConfig {
            hidden,
            ..small(&data, CellKind::Lstm, Readout::Last, Dtype::F32)
        };
        let e = refused("a huge model", || Training::new(&cfg, &data));
        assert!(e.to_string().contains(&format!("`hidden` {hidden}")), "{e}");
        assert!(e.to_string().contains("of memory"), "{e}");
    }
    // A series of 101 values for 2 columns, or of none.
    let series = |columns: usize, values: usize| Series {
        path: "s.csv".into(),
        columns: (0..columns).map(|c| format!("c{c}")).collect(),
        values: vec![1.0; values],
    };
    let e = refused("a ragged series", || {
        Forecasting::new(&series(2, 101), &Cut::new(1))
    });
    assert!(
        e.to_string()
            .contains("101 values are not whole rows of the 2 columns"),
        "{e}"
    );
    let e = refused("a series of no column", || {
        Forecasting::new(&series(0, 0), &Cut::new(1))
    });
    assert!(e.to_string().contains("no column"), "{e}");
    assert!(series(0, 0).column(0).is_empty());
    // Weights that are not numbers do not load; a regression model does not sample.
    let cfg = small(&data, CellKind::Gru, Readout::Last, Dtype::F32);
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut all: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    let weight = all.iter_mut().find(|t| t.0 == "rnn.weight_ih_l0").unwrap();
    weight.3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView)> = all
        .iter()
        .map(|(n, d, shape, data)| {
            let v = safetensors::tensor::TensorView::new(*d, shape.clone(), data).unwrap();
            (n.clone(), v)
        })
        .collect();
    let bad = safetensors::serialize(views, header.metadata().clone()).unwrap();
    std::fs::write(&path, &bad).unwrap();
    let e = refused("NaN weights", || Model::load(&path));
    assert!(e.to_string().contains("not a finite number"), "{e}");
    let (x, _, y) = drifting(30, 5, 8);
    let values: Vec<f64> = y.iter().map(|&c| c as f64).collect();
    let set = SeqSet::from_arrays(&x[..30 * 5 * 2], [30, 5, 2], None, None)
        .unwrap()
        .with_values(values, 1, vec!["y".into()])
        .unwrap();
    let data = Dataset::Labelled(Labelled::new(set.clone(), set).unwrap());
    let mut cfg = small(&data, CellKind::Gru, Readout::Last, Dtype::F32);
    cfg.validation = 0.0;
    cfg.batch = 10;
    let regressor = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let e = refused("sampling a regressor", || {
        regressor.sample("a", 3, &SampleOptions::default())
    });
    assert!(e.to_string().contains("numbers per sequence"), "{e}");
}

#[test]
fn one_sequence_as_a_slice_and_a_text_as_a_str_are_what_the_sets_and_files_give() {
    // classify_one: the prediction of the same sequence in a set, bit for bit.
    let data = dataset(9);
    let model = blasrnn::fit(
        &small(&data, CellKind::Gru, Readout::Last, Dtype::F32),
        &data,
        |_| Control::Continue,
    )
    .unwrap();
    let test = test_split(&data);
    let (x, lens, _) = drifting(40, 9, 2);
    for i in [0, 7, 39] {
        let raw = &x[i * 9 * 2..(i * 9 + lens[i]) * 2];
        let one = model.classify_one(raw, [lens[i], 2]).unwrap();
        assert_eq!(
            one,
            model.classify_at(test, [i]).unwrap()[0],
            "sequence {i}"
        );
    }
    for (x, shape) in [(&x[..17], [9, 2]), (&x[..0], [0, 2])] {
        assert!(matches!(
            model.classify_one(x, shape),
            Err(blasrnn::Error::Shape(_) | blasrnn::Error::Config(_))
        ));
    }
    assert!(model.regress_one(&x[..18], [9, 2]).is_err(), "a classifier");

    // regress_one: the numbers regress_at gives.
    let (x, lens, y) = drifting(60, 6, 3);
    let values: Vec<f64> = y
        .iter()
        .zip(&lens)
        .map(|(&c, &l)| c as f64 + 0.1 * l as f64)
        .collect();
    let set = SeqSet::from_arrays(&x, [60, 6, 2], Some(&lens), None)
        .unwrap()
        .with_values(values, 1, vec!["y".into()])
        .unwrap();
    let data = Dataset::Labelled(Labelled::new(set.clone(), set.clone()).unwrap());
    let mut cfg = small(&data, CellKind::Lstm, Readout::Mean, Dtype::F64);
    cfg.validation = 0.0;
    let model = blasrnn::fit(&cfg, &data, |_| Control::Continue).unwrap();
    let raw = &x[3 * 6 * 2..(3 * 6 + lens[3]) * 2];
    assert_eq!(
        model.regress_one(raw, [lens[3], 2]).unwrap(),
        model.regress_at(&set, [3]).unwrap()[0]
    );

    // A text from a &str trains the model its file trains.
    let words = "the quick brown fox jumps over the lazy dog. ".repeat(60);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fox.txt");
    std::fs::write(&file, &words).unwrap();
    let (a, b) = (
        blasrnn::Dataset::from_text(&words, 0.1).unwrap(),
        blasrnn::data::load_text(&file, 0.1).unwrap(),
    );
    let mut cfg = TrainConfig::for_data(&a);
    (
        cfg.hidden,
        cfg.layers,
        cfg.batch,
        cfg.seq_len,
        cfg.iters,
        cfg.threads,
    ) = (16, 1, 4, 16, 6, 1);
    let (ma, mb) = (
        blasrnn::fit(&cfg, &a, |_| Control::Continue).unwrap(),
        blasrnn::fit(&cfg, &b, |_| Control::Continue).unwrap(),
    );
    assert_eq!(ma.params(), mb.params());
    assert_eq!(ma.vocab(), mb.vocab());
    let e = blasrnn::Dataset::from_text("", 0.1)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "(text): is empty");
    assert!(blasrnn::Dataset::from_text(&words, 1.5).is_err());
}

#[test]
fn class_names_given_to_arrays_are_the_models_answers() {
    let names = || vec!["up".to_string(), "right".into(), "down".into()];
    let (x, lens, y) = drifting(90, 7, 4);
    let train = SeqSet::from_arrays(&x, [90, 7, 2], Some(&lens), Some(&y))
        .unwrap()
        .with_class_names(names())
        .unwrap();
    let data = Dataset::Labelled(Labelled::new(train.clone(), train.clone()).unwrap());
    let model = blasrnn::fit(
        &small(&data, CellKind::Tanh, Readout::Last, Dtype::F64),
        &data,
        |_| Control::Continue,
    )
    .unwrap();
    assert_eq!(model.classes().unwrap(), names());
    let p = model.classify_at(&train, [0]).unwrap().remove(0);
    assert_eq!(p.name, names()[p.class]);

    let refused = |set: SeqSet, given: Vec<String>| set.with_class_names(given).unwrap_err();
    let e = refused(train.clone(), vec!["a".into()]);
    assert_eq!(e.to_string(), "1 class names for 3 classes");
    let e = refused(train.clone(), vec!["a".into(), "b".into(), "a".into()]);
    assert_eq!(e.to_string(), "the class name \"a\" is given twice");
    let unlabelled = SeqSet::from_arrays(&x, [90, 7, 2], Some(&lens), None).unwrap();
    assert!(matches!(
        refused(unlabelled, names()),
        blasrnn::Error::Shape(_)
    ));
}
