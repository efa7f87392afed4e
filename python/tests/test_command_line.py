"""The package and the command line are one engine: the same run gives the same weights, and
each reads the other's model files."""

import json

import numpy as np
from conftest import ROOT, read_ts

import blasrnn

VOWELS = ROOT / "data/uea/JapaneseVowels"


def test_default_classifier_is_the_command_lines_default_run(cli, tmp_path):
    X, y = read_ts(VOWELS / "JapaneseVowels_TRAIN.ts")
    Xt, yt = read_ts(VOWELS / "JapaneseVowels_TEST.ts")
    clf = blasrnn.RNNClassifier(random_state=1).fit(X, y)
    cli("train", "--data", VOWELS, "--seed", "1", "--save", tmp_path / "cli.safetensors",
        "--quiet")
    theirs = blasrnn.load(tmp_path / "cli.safetensors")
    assert clf.model_.params().tobytes() == theirs.model_.params().tobytes()
    report = json.loads(cli("eval", "--model", tmp_path / "cli.safetensors", "--data", VOWELS,
                            "--json").splitlines()[-1])
    assert clf.score(Xt, yt) == report["test_accuracy"]
    assert theirs.score(Xt, yt) == report["test_accuracy"]


def test_a_model_saved_from_python_is_read_by_the_command_line(cli, tmp_path):
    X, y = read_ts(VOWELS / "JapaneseVowels_TRAIN.ts")
    Xt, yt = read_ts(VOWELS / "JapaneseVowels_TEST.ts")
    clf = blasrnn.RNNClassifier(hidden=16, layers=1, epochs=5, n_threads=1).fit(X, y)
    clf.save(tmp_path / "py.safetensors")
    report = json.loads(cli("eval", "--model", tmp_path / "py.safetensors", "--data", VOWELS,
                            "--json").splitlines()[-1])
    assert report["test_accuracy"] == clf.score(Xt, yt)
    again = blasrnn.load(tmp_path / "py.safetensors")
    np.testing.assert_array_equal(again.predict_proba(Xt), clf.predict_proba(Xt))


def test_forecaster_same_bits_as_the_command_line_and_reads_its_file(cli, tmp_path):
    t = np.arange(240)
    rng = np.random.default_rng(1)
    y = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.02 * t + 0.2 * rng.standard_normal(240)
    csv = tmp_path / "series.csv"
    csv.write_text("y\n" + "".join(f"{v!r}\n" for v in y.tolist()))
    model = tmp_path / "forecaster.safetensors"
    cli("train", "--series", csv, "--horizon", 6, "--epochs", 3, "--seed", 1, "--threads", 1,
        "--save", model, "--quiet")
    theirs = json.loads(cli("forecast", "--model", model, "--series", csv,
                            "--json").splitlines()[-1])
    loaded = blasrnn.load(model)
    assert isinstance(loaded, blasrnn.RNNForecaster) and loaded.horizon == 6
    assert loaded.predict(y).tolist() == theirs["forecast"]
    ours = blasrnn.RNNForecaster(horizon=6, epochs=3, random_state=1, n_threads=1).fit(y)
    assert ours.model_.params().tobytes() == loaded.model_.params().tobytes()
    ours.save(tmp_path / "py.safetensors")
    again = json.loads(cli("forecast", "--model", tmp_path / "py.safetensors", "--series", csv,
                           "--json").splitlines()[-1])
    assert again["forecast"] == theirs["forecast"]


def test_regressor_reads_the_command_lines_model(cli, tmp_path):
    covid = ROOT / "data/tser/Covid3Month"
    model = tmp_path / "regressor.safetensors"
    cli("train", "--data", covid, "--epochs", 3, "--hidden", 8, "--layers", 1, "--seed", 1,
        "--threads", 1, "--save", model, "--quiet")
    theirs = json.loads(cli("predict", "--model", model, "--data", covid, "--test-index", 0,
                            "--test-index", 5, "--json").splitlines()[-1])
    X, targets = read_ts(covid / "Covid3Month_TEST.ts")
    loaded = blasrnn.load(model)
    assert isinstance(loaded, blasrnn.RNNRegressor)
    predicted = loaded.predict([X[0], X[5]])
    assert predicted.tolist() == [p["values"][0] for p in theirs]
    assert [float(targets[0]), float(targets[5])] == [p["targets"][0] for p in theirs]
