"""What every estimator shares: scikit-learn's base classes when scikit-learn is installed (so
that ``clone``, ``GridSearchCV``, pipelines and tags work), else the same conventions without
it; the settings handed to the engine; progress to :mod:`logging`; pickling through the model
file's bytes."""

from __future__ import annotations

import inspect
import logging

import numpy as np

from . import _core

log = logging.getLogger("blasrnn")

try:  # scikit-learn is optional: the estimators follow its conventions either way.
    from sklearn.base import BaseEstimator as _SkBase
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.exceptions import NotFittedError
except ImportError:  # pragma: no cover - exercised only without scikit-learn

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before ``fit``."""

    class _SkBase:
        """``get_params``/``set_params`` from the constructor's signature."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p for p in sig.parameters if p != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
                setattr(self, key, value)
            return self

    class ClassifierMixin:
        """``score``: the accuracy."""

        def score(self, X, y, sample_weight=None):
            return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))

    class RegressorMixin:
        """``score``: the coefficient of determination R²."""

        def score(self, X, y, sample_weight=None):
            y = np.asarray(y, dtype=float)
            p = np.asarray(self.predict(X), dtype=float).reshape(y.shape)
            residual = np.average((y - p) ** 2, axis=0, weights=sample_weight)
            total = np.average((y - np.average(y, axis=0, weights=sample_weight)) ** 2, axis=0,
                               weights=sample_weight)
            return float(np.mean(1 - residual / total))


# The engine's names of the number types.
_DTYPES = {"float32": "f32", "float64": "f64"}


class Estimator(_SkBase):
    """The shared part of blasrnn's estimators. Constructors store their arguments unchanged;
    ``fit`` checks them."""

    def _settings(self, **extra):
        """The parameters the engine reads, as its names; ``None`` leaves a setting to the
        engine's default or rule for the data."""
        names = ("cell", "hidden", "layers", "bidirectional", "readout", "epochs",
                 "time_budget", "learning_rate", "batch_size", "dtype", "n_threads",
                 "random_state", "max_iter", "seq_len", "dropout", "validation_fraction")
        settings = {n: getattr(self, n) for n in names if hasattr(self, n)}
        settings.update(extra)
        if settings.get("dtype") is not None:
            try:
                dtype = np.dtype(settings["dtype"]).name
            except TypeError:
                dtype = None
            if dtype not in _DTYPES:
                raise ValueError(
                    f"dtype must be 'float32' or 'float64', not {settings['dtype']!r}")
            settings["dtype"] = _DTYPES[dtype]
        seed = settings.get("random_state")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(
                f"random_state must be a non-negative int or None (the engine's seed 1), "
                f"not {seed!r}")
        if settings.get("bidirectional") is None:
            settings["bidirectional"] = False
        return settings

    def _progress(self):
        """The callback that logs each report when ``verbose``."""
        if not getattr(self, "verbose", False):
            return None
        name = type(self).__name__

        def report(r):
            parts = [f"iteration {r['iteration']}", f"loss {r['loss']:.4f}"]
            if r.get("accuracy") is not None:
                parts.append(f"accuracy {r['accuracy']:.3f}")
            if r.get("validation_loss") is not None:
                parts.append(f"validation loss {r['validation_loss']:.4f}")
            parts.append(f"{r['rate']:.0f}/s")
            log.info("%s: %s", name, "  ".join(parts))

        return report

    def _fitted(self, fitted):
        """Keeps what a fit handed back; raises what stopped it (Ctrl-C) once it is kept."""
        model, history, best, stopped_by = fitted
        self.model_ = model
        self.history_ = history
        self.n_iter_ = model.iteration
        self.best_iteration_ = best
        if stopped_by is not None:
            raise stopped_by
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit first")

    def save(self, path):
        """Writes the fitted model to ``path`` (safetensors): the file ``blasrnn eval``,
        ``blasrnn predict`` and :func:`blasrnn.load` read."""
        self._check_fitted()
        self.model_.save(str(path))

    def __getstate__(self):
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent() if parent is not None else self.__dict__)
        if "model_" in state:
            state["model_"] = state["model_"].to_bytes()
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            state["model_"] = _core.Model.from_bytes(state["model_"])
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(state)
        else:
            self.__dict__.update(state)
