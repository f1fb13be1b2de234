"""Hinge losses, for "maximum-margin" classification (as in support vector machines)."""

import torch

from lamina.losses.loss import Loss, LossFunctionWrapper, check_compatible, convert_pair
from lamina.saving.object_registration import register_builtin
from lamina.losses._symbolic import records_function_node

_MODULE = "keras.losses"


def _to_signed_labels(y_true):
    """Map labels given as {0, 1} to {-1, 1}; labels already in another form are left alone."""
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    # A tensor condition (not a Python `if`) keeps the choice on the device: no host sync.
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def _margins(y_true, y_pred):
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    return torch.clamp(1.0 - _to_signed_labels(y_true) * y_pred, min=0.0)


@register_builtin(_MODULE)
@records_function_node()
def hinge(y_true, y_pred):
    """Hinge loss, averaged over the last axis.

    ``loss = mean(maximum(1 - y_true * y_pred, 0), axis=-1)``

    Args:
        y_true: Labels, -1 or 1 (labels that are all 0 or 1 are converted to -1 or 1).
        y_pred: Predicted scores, same shape.

    Returns:
        Loss values with the last axis removed.

    Example:

    >>> lamina.losses.hinge([[0.0, 1.0]], [[0.6, 0.4]])
    tensor([1.1000])
    """
    return torch.mean(_margins(y_true, y_pred), dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def squared_hinge(y_true, y_pred):
    """Squared hinge loss, averaged over the last axis.

    ``loss = mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``

    Args:
        y_true: Labels, -1 or 1 (labels that are all 0 or 1 are converted to -1 or 1).
        y_pred: Predicted scores, same shape.

    Returns:
        Loss values with the last axis removed.
    """
    return torch.mean(torch.square(_margins(y_true, y_pred)), dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def categorical_hinge(y_true, y_pred):
    """Categorical hinge loss.

    ``loss = maximum(neg - pos + 1, 0)`` where ``pos = sum(y_true * y_pred, axis=-1)`` is the score
    of the true class and ``neg = max((1 - y_true) * y_pred, axis=-1)`` the best other score.

    Args:
        y_true: One-hot labels, shape ``(batch_size, ..., num_classes)``.
        y_pred: Predicted scores, same shape.

    Returns:
        Loss values with the last axis removed.
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


@register_builtin(_MODULE)
class Hinge(LossFunctionWrapper):
    """Hinge loss between labels (-1 or 1; 0 or 1 are converted) and predicted scores.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss between labels (-1 or 1; 0 or 1 are converted) and predicted scores.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss between one-hot labels and predicted scores.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
