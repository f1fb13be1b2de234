"""``lamina.wrappers`` (mirrors ``keras.wrappers``): scikit-learn estimators around models.

Needs scikit-learn (``pip install scikit-learn``) when an estimator is made. The estimators are
loaded on first use, so ``import lamina`` does not import scikit-learn (and SciPy).
"""

import importlib

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module("lamina.wrappers.sklearn_wrapper"), name)
    raise AttributeError(f"module 'lamina.wrappers' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
