"""Probabilistic metrics: cross-entropies, KL divergence and the Poisson deviance term."""

from lamina.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.metrics.reduction_metrics import _FunctionMetric
from lamina.saving.object_registration import register_builtin


class _ProbabilisticBase(_FunctionMetric):
    _goal = "down"


@register_builtin("keras.metrics")
class KLDivergence(_ProbabilisticBase):
    """The mean Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.KLDivergence()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> m.result()
    tensor(0.4581)
    """

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name, dtype)


@register_builtin("keras.metrics")
class Poisson(_ProbabilisticBase):
    """The mean of ``y_pred - y_true * log(y_pred)``, the Poisson negative log-likelihood term.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Poisson()
    >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name, dtype)


@register_builtin("keras.metrics")
class BinaryCrossentropy(_ProbabilisticBase):
    """The mean binary cross-entropy between 0/1 labels and predicted probabilities.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_logits: ``y_pred`` holds logits instead of probabilities.
        label_smoothing: Squeeze labels towards 0.5 by this amount (0 = none).

    Example:

    >>> m = lamina.metrics.BinaryCrossentropy()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> m.result()
    tensor(0.8149)
    """

    _extra_config = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


@register_builtin("keras.metrics")
class CategoricalCrossentropy(_ProbabilisticBase):
    """The mean cross-entropy between one-hot (or soft) labels and predicted distributions.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_logits: ``y_pred`` holds logits instead of probabilities.
        label_smoothing: Mix labels with the uniform distribution by this amount (0 = none).
        axis: The class axis.

    Example:

    >>> m = lamina.metrics.CategoricalCrossentropy()
    >>> m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> m.result()
    tensor(1.1769)
    """

    _extra_config = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(
            categorical_crossentropy, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


@register_builtin("keras.metrics")
class SparseCategoricalCrossentropy(_ProbabilisticBase):
    """The mean cross-entropy between integer labels and predicted distributions.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_logits: ``y_pred`` holds logits instead of probabilities.
        ignore_class: A label value left out of the mean (e.g. a padding class).
        axis: The class axis.

    Example:

    >>> m = lamina.metrics.SparseCategoricalCrossentropy()
    >>> m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> m.result()
    tensor(1.1769)
    """

    _extra_config = ("from_logits", "ignore_class", "axis")

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1
    ):
        super().__init__(
            sparse_categorical_crossentropy, name, dtype, from_logits=from_logits, ignore_class=ignore_class, axis=axis
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
