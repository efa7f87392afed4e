"""The estimators: a classifier and a regressor of sequences, a forecaster of a series and a
character-level language model, each a thin layer over the compiled engine."""

from __future__ import annotations

import json

import numpy as np

from . import _core
from ._arrays import as_sequences
from ._base import ClassifierMixin, Estimator, RegressorMixin


class _Sequences(Estimator):
    """What the classifier and the regressor share: sequences in, one answer per sequence."""

    def _inputs(self, X):
        """``X`` as the engine reads it, checked against the fitted width when fitted."""
        x, lengths = as_sequences(X, channels_first=self.channels_first)
        if hasattr(self, "n_features_in_") and x.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {x.shape[2]} channels; the model was fitted on {self.n_features_in_}")
        return x, lengths

    def _fit(self, X, labels, values, names):
        x, lengths = as_sequences(X, channels_first=self.channels_first)
        n = (labels if labels is not None else values).shape[0]
        if n != x.shape[0]:
            raise ValueError(f"X has {x.shape[0]} cases but y has {n}")
        self.n_features_in_ = x.shape[2]
        fitted = _core.fit_sequences(
            x, lengths,
            None if labels is None else labels.tolist(),
            None if values is None else values.ravel().tolist(),
            names, self._settings(), self._progress())
        return self._fitted(fitted)

    def _outputs(self, X):
        self._check_fitted()
        x, lengths = self._inputs(X)
        return self.model_.predict(x, lengths)

    def stream(self):
        """A :class:`Stream` of the fitted model: one timepoint at a time, its state carried."""
        self._check_fitted()
        return Stream(self)


class RNNClassifier(ClassifierMixin, _Sequences):
    """A recurrent network that classifies sequences.

    Parameters
    ----------
    cell : {"gru", "lstm", "tanh"}, default=None
        The recurrent cell (None: a GRU).
    hidden : int, default=None
        Units per layer (None: 128).
    layers : int, default=None
        Stacked layers (None: 2).
    bidirectional : bool, default=False
        Read each sequence both ways.
    readout : {"last", "mean", "seq"}, default=None
        How a sequence's outputs become its answer (None: the last state).
    epochs : int, default=None
        Passes over the training cases (None: the engine's rule, 100). Exclusive with
        ``time_budget``.
    time_budget : float, default=None
        Seconds of training; the run's length is fixed from its first steps' speed.
    learning_rate : float, default=None
        Adam's peak learning rate (None: 0.004), with warm-up and cosine decay.
    batch_size : int, default=None
        Sequences per step (None: 32, at most the training cases).
    dtype : {"float32", "float64"}, default="float32"
        The number type the network computes in.
    n_threads : int, default=None
        Threads (None: every core).
    random_state : int, default=None
        The seed of the initialisation and the batches (None: the engine's seed, 1). The same
        seed and threads give the same weights, bit for bit.
    verbose : bool, default=False
        Progress to the ``blasrnn`` logger (:mod:`logging`, level INFO).
    channels_first : bool, default=False
        ``X`` is ``(n_cases, n_channels, n_timepoints)`` (aeon, sktime) rather than
        ``(n_cases, n_timepoints, n_channels)``.

    Attributes
    ----------
    classes_ : ndarray
        The classes, as ``np.unique`` sorts them, in the caller's label type.
    n_features_in_ : int
        Channels of a timepoint.
    n_iter_ : int
        Training steps done.
    history_ : list of dict
        One report per interval: ``iteration``, ``loss``, ``accuracy``, ``learning_rate``,
        ``seconds``, ``rate``.
    model_ : blasrnn._core.Model
        The trained network.
    """

    def __init__(self, cell=None, hidden=None, layers=None, bidirectional=False, readout=None,
                 epochs=None, time_budget=None, learning_rate=None, batch_size=None,
                 dtype="float32", n_threads=None, random_state=None, verbose=False,
                 channels_first=False):
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.bidirectional = bidirectional
        self.readout = readout
        self.epochs = epochs
        self.time_budget = time_budget
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.channels_first = channels_first

    def fit(self, X, y):
        """Trains on sequences ``X`` and their labels ``y`` (any labels ``np.unique`` sorts).

        Returns
        -------
        self : RNNClassifier
        """
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per case), not of shape {y.shape}")
        if y.size == 0:
            raise ValueError("y is empty")
        classes, labels = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y holds one class ({classes[0]!r}); a classifier needs at least two")
        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise ValueError("two classes of y print the same: give labels that differ as text")
        self.classes_ = classes
        return self._fit(X, labels.astype(np.int64).ravel(), None, names)

    def predict_proba(self, X):
        """The probability of each class, ``(n_cases, n_classes)`` in ``classes_``' order."""
        return self._outputs(X)

    def predict(self, X):
        """The most likely class of each case, in the labels' type."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class RNNRegressor(RegressorMixin, _Sequences):
    """A recurrent network that predicts one number per sequence, or several.

    The targets are standardised for training; a fifth of the training cases (by default) is
    held out and the parameters of its lowest loss are kept (early stopping).

    Parameters
    ----------
    validation_fraction : float, default=None
        The fraction of the training cases held out to keep the best parameters (None: 0.2; 0
        turns it off).

    The other parameters and attributes are :class:`RNNClassifier`'s; ``best_iteration_`` is
    the step whose parameters were kept.
    """

    def __init__(self, cell=None, hidden=None, layers=None, bidirectional=False, readout=None,
                 epochs=None, time_budget=None, learning_rate=None, batch_size=None,
                 dtype="float32", n_threads=None, random_state=None, verbose=False,
                 channels_first=False, validation_fraction=None):
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.bidirectional = bidirectional
        self.readout = readout
        self.epochs = epochs
        self.time_budget = time_budget
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.channels_first = channels_first
        self.validation_fraction = validation_fraction

    def fit(self, X, y):
        """Trains on sequences ``X`` and their targets ``y``, ``(n_cases,)`` or
        ``(n_cases, n_targets)``.

        Returns
        -------
        self : RNNRegressor
        """
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2) or y.size == 0:
            raise ValueError(f"y must be (n_cases,) or (n_cases, n_targets), not {y.shape}")
        self._targets = y.ndim
        values = y.reshape(y.shape[0], -1)
        names = ["y"] if y.ndim == 1 else [f"y{i}" for i in range(values.shape[1])]
        return self._fit(X, None, values, names)

    def predict(self, X):
        """The numbers predicted for each case: ``(n_cases,)``, or ``(n_cases, n_targets)``
        when fitted on several targets."""
        out = self._outputs(X)
        return out[:, 0] if getattr(self, "_targets", 2) == 1 else out


class Stream:
    """A fitted estimator's stream: :meth:`push` one timepoint at a time, get the answer for
    the sequence so far. The state is carried in the engine; a step allocates nothing there."""

    def __init__(self, estimator):
        self._estimator = estimator
        self._live = estimator.model_.stream()
        self._width = estimator.n_features_in_
        self.proba = None

    def push(self, frame):
        """Feeds one timepoint (``n_channels`` numbers). Returns the class (a classifier) or
        the numbers (a regressor) for the sequence so far, or ``None`` while the model reads a
        patch of several timepoints. A classifier's probabilities are in :attr:`proba`."""
        frame = np.ascontiguousarray(frame, dtype=np.float64).ravel()
        if frame.shape[0] != self._width:
            raise ValueError(f"a frame of {frame.shape[0]} numbers; the model reads "
                             f"{self._width}")
        got = self._live.push(frame)
        if got is None:
            return None
        cls, answer = got
        if cls is None:
            return answer[0] if getattr(self._estimator, "_targets", 2) == 1 else answer
        self.proba = answer
        return self._estimator.classes_[cls]

    def reset(self):
        """Starts a new sequence."""
        self._live.reset()
        self.proba = None


class RNNForecaster(Estimator):
    """A recurrent network that forecasts the next ``horizon`` values of a series.

    By default the model corrects the seasonal naive forecast, the season found in the series,
    and it reads windows of one or two seasons; the last tenth of the series (at least one
    horizon) is held out to measure it, and a fifth of the training windows keeps the best
    parameters.

    Parameters
    ----------
    horizon : int
        Steps forecast at once.
    season : int, default=None
        The season (None: found in the series, else 1).
    window : int, default=None
        Past steps each forecast reads (None: the engine's rule from the season and length).

    The other parameters are :class:`RNNClassifier`'s.

    Attributes
    ----------
    window_ : int
        Past steps each forecast reads.
    n_features_in_ : int
        Columns of the series (the first is forecast).
    """

    def __init__(self, horizon=1, season=None, window=None, cell=None, hidden=None, layers=None,
                 epochs=None, time_budget=None, learning_rate=None, batch_size=None,
                 dtype="float32", n_threads=None, random_state=None, verbose=False):
        self.horizon = horizon
        self.season = season
        self.window = window
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.time_budget = time_budget
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.dtype = dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, y, X=None):
        """Trains on the series ``y``: ``(n_timepoints,)``, or ``(n_timepoints, n_columns)``
        whose first column is forecast.

        Returns
        -------
        self : RNNForecaster
        """
        series = _series(y)
        columns = ["y"] + [f"x{i}" for i in range(1, series.shape[1])]
        fitted = _core.fit_series(
            series, columns, _whole(self.horizon, "horizon"), None, self.window, self.season,
            None, None, self._settings(), self._progress())
        self._fitted(fitted)
        self.window_, _, _ = self.model_.forecasting
        self.n_features_in_ = series.shape[1]
        self._series = series.copy()
        return self

    def predict(self, recent=None):
        """The next ``horizon`` values after the end of the fitted series, or of ``recent``
        (the latest timepoints of the same columns: at least ``window_`` and, when the model
        corrects the seasonal naive forecast, one season more)."""
        self._check_fitted()
        recent = getattr(self, "_series", None) if recent is None else _series(recent)
        if recent is None:
            raise ValueError("a model read from a file knows no series: give `recent`")
        return self.model_.forecast(np.ascontiguousarray(recent))


class CharLM(Estimator):
    """A character-level language model: fitted on a text, it writes more like it.

    Parameters
    ----------
    cell : {"lstm", "gru", "tanh"}, default=None
        The recurrent cell (None: an LSTM).
    hidden : int, default=None
        Units per layer (None: 256).
    layers : int, default=None
        Stacked layers (None: 2).
    seq_len : int, default=None
        Characters per stream and step (None: 100).
    batch_size : int, default=None
        Streams read side by side (None: 64).
    max_iter : int, default=None
        Training steps (None: 2000). Exclusive with ``time_budget``.
    time_budget : float, default=None
        Seconds of training.
    dropout : float, default=None
        Dropout between layers.
    learning_rate : float, default=None
        Adam's peak learning rate (None: 0.002).
    n_threads, random_state : as :class:`RNNClassifier`'s.
    """

    def __init__(self, cell=None, hidden=None, layers=None, seq_len=None, batch_size=None,
                 max_iter=None, time_budget=None, dropout=None, learning_rate=None,
                 n_threads=None, random_state=None, verbose=False):
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.time_budget = time_budget
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, text, y=None):
        """Trains on ``text`` (a ``str``), its last tenth held out to validate.

        Returns
        -------
        self : CharLM
        """
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, not {type(text).__name__}")
        return self._fitted(_core.fit_text(text, 0.1, self._settings(), self._progress()))

    def sample(self, prime="", length=1000, temperature=1.0, top_k=None, seed=None):
        """``length`` characters drawn after ``prime`` (the prime not repeated); the same
        ``seed`` draws the same text (None: seed 1)."""
        self._check_fitted()
        return self.model_.sample(prime, _whole(length, "length", 0), float(temperature),
                                  top_k, 1 if seed is None else int(seed))


def _series(y):
    """A series as a C-contiguous ``(n_timepoints, n_columns)`` float64 array."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.size == 0:
        raise ValueError(f"a series must be (n_timepoints,) or (n_timepoints, n_columns), "
                         f"not of shape {y.shape}")
    return np.ascontiguousarray(y)


def _whole(v, name, least=1):
    """``v`` as an int of at least ``least``."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {v!r}")
    return int(v)


def load(path):
    """A fitted estimator from a model file (saved by ``save`` or by ``blasrnn train --save``):
    an :class:`RNNClassifier`, :class:`RNNRegressor`, :class:`RNNForecaster` or
    :class:`CharLM`, by what the model predicts. A classifier's ``classes_`` are the file's
    class names (strings)."""
    return _adopt(_core.Model.load(str(path)))


def _adopt(model):
    """The estimator that ``model`` is the fitted part of."""
    task = model.task
    training = json.loads(model.training) if model.training else {}
    seed = training.get("seed")
    if task == "classes":
        est = RNNClassifier(random_state=seed)
        est.classes_ = np.array(model.classes)
    elif task == "values":
        est = RNNRegressor(random_state=seed)
        est._targets = 1 if len(model.names) == 1 else 2
    elif task == "series":
        window, horizon, _ = model.forecasting
        est = RNNForecaster(horizon=horizon, random_state=seed)
        est.window_ = window
    elif task == "text":
        est = CharLM(random_state=seed)
    else:
        raise ValueError(f"a model that predicts {task}: no estimator of blasrnn's reads it")
    est.model_ = model
    est.n_iter_ = model.iteration
    est.history_ = []
    est.best_iteration_ = None
    if model.n_features is not None:
        est.n_features_in_ = model.n_features
    return est
