"""Type stubs of the compiled core. The estimators in :mod:`blasrnn` are the public face."""

from typing import Any, Callable, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

Report = dict[str, Any]
Fitted = tuple["Model", list[Report], Optional[int], Optional[BaseException]]

def blas() -> str: ...
def fit_sequences(
    x: npt.NDArray[np.floating[Any]],
    lens: Optional[Sequence[int]],
    labels: Optional[Sequence[int]],
    values: Optional[Sequence[float]],
    names: Sequence[str],
    settings: dict[str, Any],
    on_report: Optional[Callable[[Report], None]] = None,
) -> Fitted: ...
def fit_series(
    values: npt.NDArray[np.float64],
    columns: Sequence[str],
    horizon: int,
    target: Optional[str],
    window: Optional[int],
    season: Optional[int],
    test_len: Optional[int],
    residual: Optional[bool],
    settings: dict[str, Any],
    on_report: Optional[Callable[[Report], None]] = None,
) -> Fitted: ...
def fit_text(
    text: str,
    validation: float,
    settings: dict[str, Any],
    on_report: Optional[Callable[[Report], None]] = None,
) -> Fitted: ...

class Model:
    @staticmethod
    def load(path: str) -> Model: ...
    @staticmethod
    def from_bytes(data: bytes) -> Model: ...
    def save(self, path: str) -> None: ...
    def to_bytes(self) -> bytes: ...
    @property
    def task(self) -> str: ...
    @property
    def classes(self) -> Optional[list[str]]: ...
    @property
    def names(self) -> Optional[list[str]]: ...
    @property
    def n_features(self) -> Optional[int]: ...
    @property
    def forecasting(self) -> Optional[tuple[int, int, int]]: ...
    @property
    def training(self) -> Optional[str]: ...
    @property
    def iteration(self) -> int: ...
    @property
    def num_params(self) -> int: ...
    def params(self) -> npt.NDArray[np.float64]: ...
    def predict(
        self, x: npt.NDArray[np.floating[Any]], lens: Optional[Sequence[int]] = None
    ) -> npt.NDArray[np.float64]: ...
    def forecast(self, recent: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
    def sample(
        self,
        prime: str,
        length: int,
        temperature: float = 1.0,
        top_k: Optional[int] = None,
        seed: int = 1,
    ) -> str: ...
    def stream(self) -> Stream: ...

class Stream:
    def push(
        self, frame: npt.NDArray[np.float64]
    ) -> Optional[tuple[Optional[int], npt.NDArray[np.float64]]]: ...
    def reset(self) -> None: ...
    @property
    def answer(self) -> npt.NDArray[np.float64]: ...
