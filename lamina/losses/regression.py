"""Regression losses: squared, absolute, percentage and logarithmic errors, Huber, log-cosh, and
cosine similarity."""

import math
import numbers

import torch
import torch.nn.functional as F

from lamina.backend import config as backend_config
from lamina.losses._symbolic import records_function_node
from lamina.losses.loss import (
    Loss,
    LossFunctionWrapper,
    check_compatible,
    convert_pair,
    squeeze_or_expand_to_same_rank,
)
from lamina.saving.object_registration import register_builtin

_MODULE = "keras.losses"


def _prepare(y_true, y_pred):
    y_true, y_pred = convert_pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_compatible(y_true, y_pred)
    return y_true, y_pred


def _mean_last_axis(values):
    """``mean(values, axis=-1)`` of non-negative ``values`` (squares, absolute values).

    Over an axis of size 1 (a single-output regression) the mean is the values themselves: a view
    gives the same numbers without a kernel, and without a node for the backward pass to run.
    (Not for values that may be ``-0.0``, which a mean turns into ``0.0``.)
    """
    if values.ndim and values.shape[-1] == 1:
        return values.squeeze(-1)
    return torch.mean(values, dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def mean_squared_error(y_true, y_pred):
    """Mean of the squared differences over the last axis.

    ``loss = mean(square(y_true - y_pred), axis=-1)``

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.

    Example:

    >>> lamina.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
    tensor([0.5000])
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return _mean_last_axis(torch.square(y_true - y_pred))


@register_builtin(_MODULE)
@records_function_node()
def mean_absolute_error(y_true, y_pred):
    """Mean of the absolute differences over the last axis.

    ``loss = mean(abs(y_true - y_pred), axis=-1)``

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return _mean_last_axis(torch.abs(y_true - y_pred))


@register_builtin(_MODULE)
@records_function_node()
def mean_absolute_percentage_error(y_true, y_pred):
    """Mean absolute error relative to ``y_true``, in percent, over the last axis.

    ``loss = 100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``, where the
    ``epsilon`` floor keeps zero targets from dividing by zero.

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    denominator = torch.clamp(torch.abs(y_true), min=backend_config.epsilon())
    return 100.0 * torch.mean(torch.abs((y_true - y_pred) / denominator), dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean squared difference of ``log(x + 1)`` over the last axis.

    Values are floored at ``epsilon`` before the logarithm, so negative inputs count as zero.

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = backend_config.epsilon()
    # log(x + 1) rather than log1p: it is what the reference computes, to the last bit.
    first_log = torch.log(torch.clamp(y_pred, min=eps) + 1.0)
    second_log = torch.log(torch.clamp(y_true, min=eps) + 1.0)
    return torch.mean(torch.square(first_log - second_log), dim=-1)


def _l2_normalize(x, axis):
    # x / ||x||, written as x * rsqrt(sum(x^2)) with the inverse norm capped at 1 / epsilon so that
    # an all-zero vector stays zero instead of turning into NaN.
    square_sum = torch.sum(torch.square(x), dim=axis, keepdim=True)
    return x * torch.clamp(torch.rsqrt(square_sum), max=1.0 / backend_config.epsilon())


@register_builtin(_MODULE)
@records_function_node()
def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity between ``y_true`` and ``y_pred`` along ``axis``.

    ``loss = -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=axis)``: a value in
    ``[-1, 1]``, where -1 means the vectors point the same way. Zero vectors give 0.

    Args:
        y_true: Ground truth vectors.
        y_pred: Predicted vectors.
        axis: The axis along which the similarity is computed. Defaults to ``-1``.

    Returns:
        Loss values with ``axis`` removed.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return -torch.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), dim=axis)


def _check_delta(delta):
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
        raise ValueError(
            "Invalid value for argument `delta`: expected a positive float. "
            f"Received: delta={delta!r}"
        )
    return float(delta)


@register_builtin(_MODULE)
@records_function_node()
def huber(y_true, y_pred, delta=1.0):
    """Huber loss, averaged over the last axis.

    For each error ``x = y_pred - y_true``: ``0.5 * x**2`` where ``|x| <= delta``, and
    ``delta * |x| - 0.5 * delta**2`` beyond, so large errors count linearly.

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.
        delta: Positive float, where the loss changes from quadratic to linear. Defaults to 1.0.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.
    """
    delta = _check_delta(delta)
    y_true, y_pred = _prepare(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        y_true, y_pred = torch.broadcast_tensors(y_true, y_pred)
    # torch's fused kernel computes the same piecewise function.
    return torch.mean(F.huber_loss(y_pred, y_true, reduction="none", delta=delta), dim=-1)


@register_builtin(_MODULE)
@records_function_node()
def log_cosh(y_true, y_pred):
    """Mean logarithm of the hyperbolic cosine of the error, over the last axis.

    ``log(cosh(x))`` is about ``x**2 / 2`` for small errors and ``|x| - log(2)`` for large ones;
    it is computed as ``x + softplus(-2x) - log(2)``, which cannot overflow.

    Args:
        y_true: Ground truth values, shape ``(batch_size, d0, .. dN)``.
        y_pred: Predicted values, same shape.

    Returns:
        Loss values of shape ``(batch_size, d0, .. dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    softplus = torch.logaddexp(-2.0 * x, torch.zeros((), dtype=x.dtype, device=x.device))
    return torch.mean(x + softplus - math.log(2.0), dim=-1)


@register_builtin(_MODULE)
class MeanSquaredError(LossFunctionWrapper):
    """Mean of the squares of the errors between labels and predictions.

    ``loss = mean(square(y_true - y_pred))``

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``. Defaults to
            ``"sum_over_batch_size"``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> loss = lamina.losses.MeanSquaredError()
    >>> loss([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    tensor(0.5000)
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of the absolute errors between labels and predictions.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error between labels and predictions.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error between labels and predictions.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


@register_builtin(_MODULE)
class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between labels and predictions.

    Values lie in ``[-1, 1]``; -1 means the vectors point the same way, so minimizing the loss
    aligns predictions with labels.

    Args:
        axis: The axis along which the similarity is computed. Defaults to ``-1``.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        # Keras leaves `axis` out, so its configs lose it; keeping it makes the round trip exact.
        return {**Loss.get_config(self), "axis": self.axis}


@register_builtin(_MODULE)
class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Args:
        delta: Positive float, where the loss changes from quadratic to linear. Defaults to 1.0.
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.

    Example:

    >>> lamina.losses.Huber(delta=1.0)([[0.0, 3.0]], [[0.5, 0.0]])
    tensor(1.3125)
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=_check_delta(delta))
        self.delta = delta

    def get_config(self):
        # Keras leaves `delta` out, so its configs lose it; keeping it makes the round trip exact.
        return {**Loss.get_config(self), "delta": self.delta}


@register_builtin(_MODULE)
class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the prediction error.

    Args:
        reduction: How to reduce the per-sample values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in. Defaults to ``floatx()``.
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
