"""Sequences as the engine reads them: one C-contiguous ``(n_cases, n_timepoints, n_channels)``
array of float32 or float64, and each case's length when they differ."""

from __future__ import annotations

import numpy as np


def as_sequences(X, channels_first=False):
    """``X`` as ``(array, lengths)``: a C-contiguous 3-D float32/float64 array and the length of
    each case (``None`` when every case has all the timepoints).

    ``X`` may be

    - a 3-D array ``(n_cases, n_timepoints, n_channels)``, or ``(n_cases, n_channels,
      n_timepoints)`` with ``channels_first=True`` (aeon, sktime);
    - a 2-D array ``(n_cases, n_timepoints)``: one channel;
    - a list of 2-D arrays ``(n_timepoints_i, n_channels)`` (or 1-D, one channel) of varying
      lengths.

    Trailing timepoints that are NaN in every channel are padding: a case ends before them.
    A C-contiguous float32 or float64 array without padding is passed on without a copy.
    """
    if isinstance(X, (list, tuple)):
        return _ragged(X, channels_first)
    X = np.asarray(X)
    if X.dtype == object:
        return _ragged(list(X), channels_first)
    if X.ndim == 2:
        X = X[:, :, None]
    elif X.ndim == 3:
        if channels_first:
            X = X.transpose(0, 2, 1)
    else:
        raise ValueError(
            f"X must be 2-D (n_cases, n_timepoints) or 3-D (n_cases, n_timepoints, n_channels), "
            f"not {X.ndim}-D"
        )
    X = _floats(X)
    if X.size == 0:
        raise ValueError(f"X is empty: shape {X.shape}")
    X = np.ascontiguousarray(X)
    return _padding(X)


def _floats(X):
    """``X`` as float32 or float64 (other numbers as float64)."""
    if X.dtype in (np.float32, np.float64):
        return X
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numbers, not {X.dtype}")
    return X.astype(np.float64)


def _ragged(cases, channels_first):
    """A list of cases of varying lengths, padded with zeros into one array."""
    if len(cases) == 0:
        raise ValueError("X is empty: no case")
    arrays = []
    for i, case in enumerate(cases):
        a = np.asarray(case)
        if a.ndim == 1:
            a = a[:, None]
        elif a.ndim == 2 and channels_first:
            a = a.T
        elif a.ndim != 2:
            raise ValueError(f"case {i} of X is {a.ndim}-D; each case must be 1-D or 2-D")
        arrays.append(_floats(a))
    channels = {a.shape[1] for a in arrays}
    if len(channels) != 1:
        raise ValueError(f"the cases of X have different numbers of channels: {sorted(channels)}")
    dtype = np.result_type(*arrays)
    steps = max(a.shape[0] for a in arrays)
    if steps == 0:
        raise ValueError("X is empty: every case has 0 timepoints")
    out = np.zeros((len(arrays), steps, channels.pop()), dtype=dtype)
    lengths = []
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
        lengths.append(a.shape[0])
    X, padded = _padding(out)
    if padded is not None:
        lengths = [min(a, b) for a, b in zip(lengths, padded)]
    if any(n == 0 for n in lengths):
        raise ValueError(f"case {lengths.index(0)} of X has no timepoint")
    return X, (None if all(n == steps for n in lengths) else lengths)


def _padding(X):
    """Each case's length before its trailing all-NaN timepoints (``None`` when there are
    none); the padding itself set to zero (in a copy)."""
    blank = np.isnan(X).all(axis=2)
    if not blank[:, -1].any():
        return X, None
    # The first timepoint of the trailing run of blanks: the case's length.
    filled = ~blank
    last = np.where(filled.any(axis=1), X.shape[1] - np.argmax(filled[:, ::-1], axis=1), 0)
    if (last == 0).any():
        raise ValueError(f"case {int(np.argmin(last))} of X is NaN at every timepoint")
    X = X.copy()
    for i, n in enumerate(last):
        X[i, n:] = 0
    return X, [int(n) for n in last]
