"""``lamina.wrappers`` (mirrors ``keras.wrappers``): scikit-learn estimators around models.

Needs scikit-learn (``pip install scikit-learn``) when an estimator is made.
"""

from lamina.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
