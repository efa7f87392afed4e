import pickle

import joblib
import numpy as np
import pytest
from conftest import waves
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from blasrnn import RNNClassifier

SMALL = dict(hidden=16, layers=1, epochs=40, n_threads=1, random_state=2)


@pytest.fixture(scope="module")
def fitted():
    X, y = waves(240)
    labels = np.array(["low", "mid", "high"])[y]
    clf = RNNClassifier(**SMALL).fit(X[:180], labels[:180])
    return clf, X[180:], labels[180:]


def test_fit_predict_score(fitted):
    clf, X, y = fitted
    assert clf.n_iter_ == 40 * 6 and clf.n_features_in_ == 1
    assert list(clf.classes_) == ["high", "low", "mid"]
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.predict(X).dtype == clf.classes_.dtype
    assert clf.score(X, y) > 0.8
    assert clf.history_[-1]["iteration"] == clf.n_iter_
    assert clf.history_[-1]["loss"] < clf.history_[0]["loss"]


def test_labels_keep_their_type():
    X, y = waves(90)
    for labels in (y + 10, y.astype(np.int8), np.array([0.5, 1.5, 2.5])[y]):
        clf = RNNClassifier(**{**SMALL, "epochs": 2}).fit(X, labels)
        assert clf.classes_.dtype == labels.dtype
        assert set(clf.predict(X)) <= set(labels)


def test_same_seed_same_bits():
    X, y = waves(90)
    a = RNNClassifier(**SMALL).fit(X, y).model_.params()
    b = RNNClassifier(**SMALL).fit(X, y).model_.params()
    c = RNNClassifier(**{**SMALL, "random_state": 3}).fit(X, y).model_.params()
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_layouts_agree(fitted):
    clf, X, _ = fitted
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X[:, :, 0]), expected)
    first = clone(clf).set_params(channels_first=True)
    first.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    np.testing.assert_array_equal(first.predict_proba(X.transpose(0, 2, 1)), expected)
    np.testing.assert_array_equal(clf.predict_proba(list(X)), expected)
    np.testing.assert_array_equal(clf.predict_proba(X.astype(np.float64)), expected)
    np.testing.assert_array_equal(clf.predict_proba(np.asfortranarray(X)), expected)


def test_variable_lengths_as_a_list_or_nan_padding(fitted):
    clf, X, _ = fitted
    cases = [x[: 8 + i % 9] for i, x in enumerate(X)]
    padded = np.full(X.shape, np.nan, dtype=np.float32)
    for i, c in enumerate(cases):
        padded[i, : len(c)] = c
    from_list = clf.predict_proba(cases)
    np.testing.assert_array_equal(clf.predict_proba(padded), from_list)
    one_by_one = np.vstack([clf.predict_proba(c[None]) for c in cases])
    np.testing.assert_array_equal(from_list, one_by_one)


def test_params_clone_and_set():
    clf = RNNClassifier(hidden=7, cell="lstm")
    params = clf.get_params()
    assert params["hidden"] == 7 and params["cell"] == "lstm" and params["epochs"] is None
    c = clone(clf)
    assert c.get_params() == params and c is not clf
    assert clf.set_params(hidden=9) is clf and clf.hidden == 9


def test_cross_validation_grid_search_and_pipeline():
    X, y = waves(90)
    scores = cross_val_score(RNNClassifier(**{**SMALL, "epochs": 5}), X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(RNNClassifier(**{**SMALL, "epochs": 3}), {"hidden": [4, 8]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["hidden"] in (4, 8)
    pipe = Pipeline([("scale", FunctionTransformer(lambda a: 2.0 * a)),
                     ("rnn", RNNClassifier(**{**SMALL, "epochs": 3}))])
    assert pipe.fit(X, y).predict(X).shape == (90,)


def test_pickle_and_joblib_round_trip(fitted, tmp_path):
    clf, X, _ = fitted
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert list(again.classes_) == list(clf.classes_)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X),
                                  clf.predict_proba(X))


def test_stream_agrees_with_predict(fitted):
    clf, X, _ = fitted
    live = clf.stream()
    for i in (0, 1):
        live.reset()
        for t in range(X.shape[1]):
            label = live.push(X[i, t])
            np.testing.assert_allclose(live.proba, clf.predict_proba(X[i : i + 1, : t + 1])[0],
                                       rtol=1e-5, atol=1e-6)
        assert label == clf.predict(X[i : i + 1])[0]
    with pytest.raises(ValueError, match="frame of 2 numbers"):
        live.push([0.0, 1.0])


def test_bad_inputs_raise_value_errors(fitted):
    clf, X, y = fitted
    X2, y2 = waves(30)
    bad = X2.copy()
    bad[3, 5, 0] = np.nan
    cases = [
        (lambda: RNNClassifier(**SMALL).fit(bad, y2), "sequence 3 holds NaN at step 5"),
        (lambda: RNNClassifier(**SMALL).fit(np.zeros((0, 4, 1)), []), "empty"),
        (lambda: RNNClassifier(**SMALL).fit(X2, y2[:-1]), "30 cases but y has 29"),
        (lambda: RNNClassifier(**SMALL).fit(X2, np.zeros(30)), "one class"),
        (lambda: RNNClassifier(**{**SMALL, "hidden": 0}).fit(X2, y2), "`hidden`"),
        (lambda: RNNClassifier(**{**SMALL, "cell": "rnn"}).fit(X2, y2), "rnn"),
        (lambda: RNNClassifier(**{**SMALL, "learning_rate": -1.0}).fit(X2, y2),
         "`learning_rate`"),
        (lambda: RNNClassifier(**{**SMALL, "random_state": -1}).fit(X2, y2), "random_state"),
        (lambda: RNNClassifier(**{**SMALL, "dtype": "int8"}).fit(X2, y2), "dtype"),
        (lambda: RNNClassifier(**SMALL).fit(np.zeros((30, 4, 2, 1)), y2), "4-D"),
        (lambda: RNNClassifier(**SMALL).fit(np.array([["a"] * 4] * 30), y2), "numbers"),
        (lambda: clf.predict(np.zeros((2, 5, 3))), "3 channels"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        RNNClassifier().predict(X)
