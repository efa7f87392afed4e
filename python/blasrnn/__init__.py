"""blasrnn: recurrent neural networks (tanh RNN, LSTM, GRU) trained on the CPU with every matrix
product through CBLAS, as scikit-learn estimators on NumPy arrays.

>>> from blasrnn import RNNClassifier
>>> clf = RNNClassifier(epochs=20).fit(X_train, y_train)     # doctest: +SKIP
>>> clf.score(X_test, y_test)                                # doctest: +SKIP
"""

from ._core import __version__
from ._core import blas as _blas
from ._estimators import CharLM, RNNClassifier, RNNForecaster, RNNRegressor, Stream, load

__all__ = ["RNNClassifier", "RNNRegressor", "RNNForecaster", "CharLM", "Stream", "load",
           "blas_config", "__version__"]


def blas_config():
    """The BLAS the engine was built with and the kernels it runs."""
    return _blas()
