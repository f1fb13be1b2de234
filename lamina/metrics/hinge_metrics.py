"""Hinge metrics for maximum-margin classifiers: ``Hinge``, ``SquaredHinge``, ``CategoricalHinge``."""

from lamina.losses import categorical_hinge, hinge, squared_hinge
from lamina.metrics.reduction_metrics import _FunctionMetric
from lamina.saving.object_registration import register_builtin


class _HingeBase(_FunctionMetric):
    _goal = "down"


@register_builtin("keras.metrics")
class Hinge(_HingeBase):
    """The mean of ``max(1 - y_true * y_pred, 0)``.

    Labels are expected in {-1, 1}; labels given in {0, 1} are mapped to {-1, 1} first.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Hinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> m.result()
    tensor(1.3000)
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name, dtype)


@register_builtin("keras.metrics")
class SquaredHinge(_HingeBase):
    """The mean of ``max(1 - y_true * y_pred, 0) ** 2``.

    Labels are expected in {-1, 1}; labels given in {0, 1} are mapped to {-1, 1} first.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.SquaredHinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> m.result()
    tensor(1.8600)
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name, dtype)


@register_builtin("keras.metrics")
class CategoricalHinge(_HingeBase):
    """The mean of ``max(neg - pos + 1, 0)`` for one-hot labels.

    ``pos`` is the score of the true class and ``neg`` the highest score of the other classes.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.CategoricalHinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> m.result()
    tensor(1.4000)
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name, dtype)
