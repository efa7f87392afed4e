import pickle

import numpy as np
import pytest
from conftest import waves

from blasrnn import CharLM, RNNForecaster, RNNRegressor


def frequencies(n, seed=0):
    """Noisy waves and their frequencies (the number to predict) and amplitudes."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.1, 0.6, n)
    a = rng.uniform(0.5, 2.0, n)
    t = np.arange(24)
    X = a[:, None] * np.sin(f[:, None] * t + rng.uniform(0, 6, (n, 1)))
    return (X + 0.05 * rng.standard_normal(X.shape)).astype(np.float32), f, a


def test_regressor_one_and_several_targets():
    X, f, a = frequencies(300)
    reg = RNNRegressor(hidden=16, layers=1, epochs=40, n_threads=1).fit(X[:240], f[:240])
    p = reg.predict(X[240:])
    assert p.shape == (60,)
    assert reg.score(X[240:], f[240:]) > 0.5
    assert 0 < reg.best_iteration_ <= reg.n_iter_
    both = RNNRegressor(hidden=16, layers=1, epochs=10, n_threads=1).fit(
        X[:240], np.c_[f[:240], a[:240]])
    assert both.predict(X[240:]).shape == (60, 2)
    live = reg.stream()
    for t in range(X.shape[1]):
        value = live.push(X[240, t])
    assert value == pytest.approx(p[0], rel=1e-5)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X[240:]), p)
    with pytest.raises(ValueError, match="not a finite number"):
        RNNRegressor(epochs=1).fit(X[:10], np.r_[np.nan, f[1:10]])


def test_forecaster_beats_the_naive_forecast():
    t = np.arange(240)
    rng = np.random.default_rng(1)
    y = 10 + np.sin(2 * np.pi * t / 12) * 3 + 0.02 * t + 0.2 * rng.standard_normal(240)
    fc = RNNForecaster(horizon=6, n_threads=1).fit(y[:-6])
    assert fc.window_ >= 12
    predicted = fc.predict()
    assert predicted.shape == (6,)
    naive = np.repeat(y[-7], 6)
    assert np.abs(predicted - y[-6:]).mean() < np.abs(naive - y[-6:]).mean()
    np.testing.assert_array_equal(fc.predict(y[:-6]), predicted)
    with pytest.raises(ValueError, match="holds NaN"):
        RNNForecaster(horizon=3).fit(np.r_[y[:100], np.nan, y[101:]])
    with pytest.raises(ValueError, match="horizon"):
        RNNForecaster(horizon=0).fit(y)


def test_char_lm_samples_deterministically():
    text = "the quick brown fox jumps over the lazy dog. " * 60
    lm = CharLM(hidden=32, layers=1, seq_len=16, batch_size=8, max_iter=60, n_threads=1)
    lm.fit(text)
    a = lm.sample("the ", 80, seed=5)
    assert len(a) == 80 and a == lm.sample("the ", 80, seed=5)
    assert a != lm.sample("the ", 80, seed=6)
    assert set(a) <= set(text)
    assert pickle.loads(pickle.dumps(lm)).sample("the ", 80, seed=5) == a
    with pytest.raises(ValueError, match="not in the vocabulary|not one of|vocabulary"):
        lm.sample("Q", 5)
    with pytest.raises(ValueError, match="str"):
        CharLM().fit(b"bytes")


def test_stream_of_a_bidirectional_model_is_refused():
    X, y = waves(30)
    clf_args = dict(hidden=4, layers=1, epochs=1, bidirectional=True)
    from blasrnn import RNNClassifier
    with pytest.raises(ValueError, match="bidirectional"):
        RNNClassifier(**clf_args).fit(X, y).stream()
