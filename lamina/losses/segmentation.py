"""Overlap losses for segmentation: Dice and Tversky."""

import numbers

import torch

from lamina.backend import config as backend_config
from lamina.losses.loss import Loss, LossFunctionWrapper, check_compatible, convert_pair
from lamina.saving.object_registration import register_builtin
from lamina.losses._symbolic import records_function_node

_MODULE = "keras.losses"


def _dims(axis):
    # `None` sums over everything; JSON configs bring tuples back as lists.
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _sum(x, axis):
    return torch.sum(x) if axis is None else torch.sum(x, dim=axis)


@register_builtin(_MODULE)
@records_function_node()
def dice(y_true, y_pred, axis=None):
    """Dice loss: one minus the Dice coefficient (twice the overlap over the total mass).

    ``loss = 1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)``

    Args:
        y_true: Target masks (0 to 1).
        y_pred: Predicted masks, same shape.
        axis: Axis or tuple of axes the sums run over; ``None`` (the default) sums over all of
            them, giving one value for the whole batch.

    Returns:
        The loss, with ``axis`` removed (a scalar for ``axis=None``).

    Example:

    >>> lamina.losses.dice([[1.0, 0.0], [1.0, 1.0]], [[0.8, 0.1], [0.7, 0.4]])
    tensor(0.2400)
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    axis = _dims(axis)
    intersection = _sum(y_true * y_pred, axis)
    denominator = _sum(y_true, axis) + _sum(y_pred, axis) + backend_config.epsilon()
    return 1.0 - 2.0 * intersection / denominator


@register_builtin(_MODULE)
@records_function_node()
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Tversky loss: one minus the Tversky index, which weighs false positives and negatives.

    ``loss = 1 - tp / (tp + alpha * fp + beta * fn + epsilon)`` with ``tp = sum(y_true * y_pred)``,
    ``fp = sum(y_true * (1 - y_pred))`` and ``fn = sum((1 - y_true) * y_pred)``, following the
    reference's naming. ``alpha = beta = 0.5`` gives the Dice loss.

    Args:
        y_true: Target masks (0 to 1).
        y_pred: Predicted masks, same shape.
        alpha: Weight of the ``fp`` term. Defaults to 0.5.
        beta: Weight of the ``fn`` term. Defaults to 0.5.
        axis: Axis or tuple of axes the sums run over; ``None`` (the default) sums over all.

    Returns:
        The loss, with ``axis`` removed (a scalar for ``axis=None``).
    """
    y_true, y_pred = convert_pair(y_true, y_pred)
    check_compatible(y_true, y_pred)
    axis = _dims(axis)
    intersection = _sum(y_true * y_pred, axis)
    fp = _sum((1.0 - y_pred) * y_true, axis)
    fn = _sum(y_pred * (1.0 - y_true), axis)
    index = intersection / (intersection + fp * alpha + fn * beta + backend_config.epsilon())
    return 1.0 - index


def _check_weight(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Invalid value for argument `{name}`: expected a float. Received: {name}={value!r}")
    return value


@register_builtin(_MODULE)
class Dice(LossFunctionWrapper):
    """Dice loss between target and predicted masks.

    Args:
        reduction: How to reduce the values; see ``Loss``.
        name: Optional name for the loss instance.
        axis: Axis or tuple of axes the sums run over; ``None`` (the default) sums over all.
            Use e.g. ``axis=(1, 2)`` on ``(batch, height, width)`` masks for one value per image.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


@register_builtin(_MODULE)
class Tversky(LossFunctionWrapper):
    """Tversky loss between target and predicted masks.

    Args:
        alpha: Weight of the false positives (see ``tversky``). Defaults to 0.5.
        beta: Weight of the false negatives. Defaults to 0.5.
        reduction: How to reduce the values; see ``Loss``.
        name: Optional name for the loss instance.
        axis: Axis or tuple of axes the sums run over; ``None`` (the default) sums over all.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(
        self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None
    ):
        super().__init__(
            tversky,
            name=name,
            reduction=reduction,
            dtype=dtype,
            alpha=_check_weight("alpha", alpha),
            beta=_check_weight("beta", beta),
            axis=axis,
        )
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta, "axis": self.axis}
