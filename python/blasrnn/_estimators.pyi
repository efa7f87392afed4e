"""Type stubs of the estimators."""

from os import PathLike
from typing import Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core

ArrayLike = npt.ArrayLike
Sequences = Union[npt.ArrayLike, Sequence[npt.ArrayLike]]
Path = Union[str, PathLike[str]]

class _Estimator:
    model_: _core.Model
    n_iter_: int
    history_: list[dict[str, Any]]
    best_iteration_: Optional[int]
    def get_params(self, deep: bool = ...) -> dict[str, Any]: ...
    def set_params(self, **params: Any) -> Any: ...
    def save(self, path: Path) -> None: ...

class _Sequences(_Estimator):
    n_features_in_: int
    def stream(self) -> Stream: ...

class RNNClassifier(_Sequences):
    classes_: npt.NDArray[Any]
    def __init__(
        self,
        cell: Optional[str] = None,
        hidden: Optional[int] = None,
        layers: Optional[int] = None,
        bidirectional: bool = False,
        readout: Optional[str] = None,
        epochs: Optional[int] = None,
        time_budget: Optional[float] = None,
        learning_rate: Optional[float] = None,
        batch_size: Optional[int] = None,
        dtype: str = "float32",
        n_threads: Optional[int] = None,
        random_state: Optional[int] = None,
        verbose: bool = False,
        channels_first: bool = False,
    ) -> None: ...
    def fit(self, X: Sequences, y: ArrayLike) -> RNNClassifier: ...
    def predict_proba(self, X: Sequences) -> npt.NDArray[np.float64]: ...
    def predict(self, X: Sequences) -> npt.NDArray[Any]: ...
    def score(self, X: Sequences, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> float: ...

class RNNRegressor(_Sequences):
    def __init__(
        self,
        cell: Optional[str] = None,
        hidden: Optional[int] = None,
        layers: Optional[int] = None,
        bidirectional: bool = False,
        readout: Optional[str] = None,
        epochs: Optional[int] = None,
        time_budget: Optional[float] = None,
        learning_rate: Optional[float] = None,
        batch_size: Optional[int] = None,
        dtype: str = "float32",
        n_threads: Optional[int] = None,
        random_state: Optional[int] = None,
        verbose: bool = False,
        channels_first: bool = False,
        validation_fraction: Optional[float] = None,
    ) -> None: ...
    def fit(self, X: Sequences, y: ArrayLike) -> RNNRegressor: ...
    def predict(self, X: Sequences) -> npt.NDArray[np.float64]: ...
    def score(self, X: Sequences, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> float: ...

class Stream:
    proba: Optional[npt.NDArray[np.float64]]
    def __init__(self, estimator: _Sequences) -> None: ...
    def push(self, frame: ArrayLike) -> Any: ...
    def reset(self) -> None: ...

class RNNForecaster(_Estimator):
    window_: int
    n_features_in_: int
    def __init__(
        self,
        horizon: int = 1,
        season: Optional[int] = None,
        window: Optional[int] = None,
        cell: Optional[str] = None,
        hidden: Optional[int] = None,
        layers: Optional[int] = None,
        epochs: Optional[int] = None,
        time_budget: Optional[float] = None,
        learning_rate: Optional[float] = None,
        batch_size: Optional[int] = None,
        dtype: str = "float32",
        n_threads: Optional[int] = None,
        random_state: Optional[int] = None,
        verbose: bool = False,
    ) -> None: ...
    def fit(self, y: ArrayLike, X: None = None) -> RNNForecaster: ...
    def predict(self, recent: Optional[ArrayLike] = None) -> npt.NDArray[np.float64]: ...

class CharLM(_Estimator):
    def __init__(
        self,
        cell: Optional[str] = None,
        hidden: Optional[int] = None,
        layers: Optional[int] = None,
        seq_len: Optional[int] = None,
        batch_size: Optional[int] = None,
        max_iter: Optional[int] = None,
        time_budget: Optional[float] = None,
        dropout: Optional[float] = None,
        learning_rate: Optional[float] = None,
        n_threads: Optional[int] = None,
        random_state: Optional[int] = None,
        verbose: bool = False,
    ) -> None: ...
    def fit(self, text: str, y: None = None) -> CharLM: ...
    def sample(
        self,
        prime: str = "",
        length: int = 1000,
        temperature: float = 1.0,
        top_k: Optional[int] = None,
        seed: Optional[int] = None,
    ) -> str: ...

def load(path: Path) -> Union[RNNClassifier, RNNRegressor, RNNForecaster, CharLM]: ...
