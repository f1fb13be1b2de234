"""The built-in activation functions (what ``keras.activations`` offers).

Every function takes a tensor-like (torch tensor, numpy array, Python number or list) and returns a
torch tensor. The formulas are those of ``lamina.ops`` (their only copy); this module gives them
Keras's activation names and defaults, and registers each under its Keras name. Functions that
produce non-integer results turn integer inputs into ``floatx()`` first, as Keras does.
"""

import types

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops import nn as _nn
from lamina.ops import numpy as _numpy


def _plain(module):
    # The ops' own functions, without the wrappers that record graph nodes for symbolic tensors:
    # activations run inside layer calls (on real or fake tensors), where that check is pure cost.
    return types.SimpleNamespace(
        **{name: getattr(fn, "__wrapped__", fn) for name, fn in vars(module).items() if callable(fn)}
    )


nn = _plain(_nn)
numpy = _plain(_numpy)
from lamina.saving.object_registration import register_builtin

_MODULE = "keras.activations"


def _tensor(x):
    # Skip the generic conversion for the common case: already a tensor.
    if isinstance(x, torch.Tensor):
        return x
    return convert_to_tensor(x)


def _float_tensor(x):
    x = _tensor(x)
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(to_torch_dtype(config.floatx()))


def _scalar_like(value, x):
    """``value`` rounded the way a cast to ``x``'s dtype would (Keras casts bounds to the input dtype)."""
    if x.is_floating_point() or value is None:
        return value
    return int(value)


@register_builtin(_MODULE)
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, *, alpha=None):
    """Rectified linear unit, with optional leak, ceiling and threshold.

    With the defaults this is ``max(x, 0)``. Otherwise values above ``threshold`` pass through
    (capped at ``max_value`` when given) and values at or below it become
    ``negative_slope * (x - threshold)``.

    Args:
        x: Input tensor.
        negative_slope: Slope applied below the threshold (0 gives the plain ReLU).
        max_value: Upper bound of the output, or `None` for no bound.
        threshold: Values at or below this are treated as "below zero".
        alpha: Keras 2 name of `negative_slope`; accepted for old code.

    Returns:
        A tensor of the same shape as `x`.

    Example:

    >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], negative_slope=0.5, max_value=5.0)
    tensor([-5.0000, -2.5000,  0.0000,  5.0000,  5.0000])
    """
    if alpha is not None:
        if negative_slope != 0.0 and negative_slope != alpha:
            raise ValueError(
                "`alpha` is the Keras 2 name of `negative_slope`; pass only one of them. "
                f"Received: alpha={alpha!r}, negative_slope={negative_slope!r}"
            )
        negative_slope = alpha
    x = _tensor(x)
    if threshold == 0 and negative_slope == 0:
        if max_value is None:
            return nn.relu(x)
        if max_value == 6:
            # Keras routes this case through relu6, which always returns floats.
            return nn.relu6(x)
        return torch.clamp(x, 0, _scalar_like(max_value, x))
    if threshold == 0 and max_value is None:
        return nn.leaky_relu(x, negative_slope)
    return _general_relu(x, negative_slope, max_value, threshold)


def _general_relu(x, negative_slope, max_value, threshold):
    # Follows Keras' composition step by step so that every combination (a negative threshold,
    # a ceiling below the threshold, integer inputs) gives the same numbers.
    if negative_slope != 0:
        x = _float_tensor(x)
        below = torch.relu(threshold - x) if threshold != 0 else torch.relu(-x)
    clip = max_value is not None
    if threshold != 0:
        y = torch.where(x > _scalar_like(threshold, x), x, 0)
    elif max_value == 6:
        y = nn.relu6(x)
        clip = False
    else:
        y = torch.relu(x)
    if clip:
        y = torch.clamp(y, 0, _scalar_like(max_value, y))
    if negative_slope != 0:
        y = y - negative_slope * below
    return y


@register_builtin(_MODULE)
def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: ``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    Args:
        x: Input tensor.
        negative_slope: Slope of the negative part.
    """
    return nn.leaky_relu(x, negative_slope)


@register_builtin(_MODULE)
def relu6(x):
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    Args:
        x: Input tensor.
    """
    return nn.relu6(x)


@register_builtin(_MODULE)
def softmax(x, axis=-1):
    """Softmax: exponentials normalized to sum to 1 along ``axis``.

    Args:
        x: Input tensor.
        axis: An integer, or a tuple of integers to normalize over several axes jointly.

    Returns:
        A tensor of the same shape as `x` whose slices along `axis` are probability distributions.

    Example:

    >>> softmax([[1.0, 2.0], [3.0, 4.0]], axis=(0, 1)).sum()
    tensor(1.)
    """
    return nn.softmax(x, axis)


@register_builtin(_MODULE)
def log_softmax(x, axis=-1):
    """Logarithm of the softmax, computed stably: ``x - logsumexp(x, axis)``.

    Args:
        x: Input tensor.
        axis: An integer, or a tuple of integers to normalize over several axes jointly.
    """
    return nn.log_softmax(x, axis)


@register_builtin(_MODULE)
def sigmoid(x):
    """Logistic sigmoid: ``1 / (1 + exp(-x))``.

    Args:
        x: Input tensor.
    """
    return nn.sigmoid(x)


@register_builtin(_MODULE)
def softplus(x):
    """Softplus: ``log(1 + exp(x))``, computed without overflow for large ``x``.

    Args:
        x: Input tensor.
    """
    return nn.softplus(x)


@register_builtin(_MODULE)
def softsign(x):
    """Softsign: ``x / (1 + |x|)``.

    Args:
        x: Input tensor.
    """
    return nn.softsign(x)


@register_builtin(_MODULE)
def tanh(x):
    """Hyperbolic tangent.

    Args:
        x: Input tensor.
    """
    return numpy.tanh(x)


@register_builtin(_MODULE)
def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        x: Input tensor.
        alpha: Scale of the negative part (its limit for very negative inputs is `-alpha`).
    """
    return nn.elu(x, alpha)


@register_builtin(_MODULE)
def selu(x):
    """Scaled exponential linear unit: ``scale * elu(x, alpha)``.

    The constants ``alpha ~= 1.67326`` and ``scale ~= 1.05070`` keep the mean and variance of
    activations fixed from layer to layer when weights use `lecun_normal` initialization.

    Args:
        x: Input tensor.
    """
    return nn.selu(x)


@register_builtin(_MODULE)
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``x`` for ``x > 0``, ``alpha * (exp(x / alpha) - 1)`` otherwise.

    Args:
        x: Input tensor.
        alpha: Scale of the negative part.
    """
    return nn.celu(x, alpha)


@register_builtin(_MODULE)
def exponential(x):
    """Exponential: ``exp(x)``.

    Args:
        x: Input tensor.
    """
    return numpy.exp(x)


@register_builtin(_MODULE)
def gelu(x, approximate=False):
    """Gaussian error linear unit: ``x * P(X <= x)`` for a standard normal ``X``.

    Args:
        x: Input tensor.
        approximate: Use the tanh approximation instead of the exact error function.
    """
    return nn.gelu(x, approximate)


@register_builtin(_MODULE)
def silu(x):
    """Sigmoid linear unit (also called swish): ``x * sigmoid(x)``.

    Args:
        x: Input tensor.
    """
    return nn.silu(x)


@register_builtin(_MODULE)
def hard_sigmoid(x):
    """Piecewise linear sigmoid: ``relu6(x + 3) / 6``.

    It is 0 below -3, 1 above 3, and ``x / 6 + 0.5`` in between.

    Args:
        x: Input tensor.
    """
    return nn.hard_sigmoid(x)


@register_builtin(_MODULE)
def hard_silu(x):
    """Hard SiLU (also called hard swish): ``x * relu6(x + 3) / 6``.

    Args:
        x: Input tensor.
    """
    return nn.hard_silu(x)


@register_builtin(_MODULE)
def linear(x):
    """Identity: returns ``x`` unchanged (as a tensor).

    Args:
        x: Input tensor.
    """
    return _tensor(x)


@register_builtin(_MODULE)
def mish(x):
    """Mish: ``x * tanh(softplus(x))``.

    Args:
        x: Input tensor.
    """
    return F.mish(_float_tensor(x))


@register_builtin(_MODULE)
def glu(x, axis=-1):
    """Gated linear unit: splits ``x`` in two halves ``a, b`` along ``axis``, returns ``a * sigmoid(b)``.

    Args:
        x: Input tensor; its size along `axis` must be even.
        axis: The axis to split.

    Returns:
        A tensor whose size along `axis` is half that of `x`.
    """
    return nn.glu(x, axis)


@register_builtin(_MODULE)
def hard_tanh(x):
    """Hard tanh: ``x`` clipped to ``[-1, 1]``.

    Args:
        x: Input tensor.
    """
    return nn.hard_tanh(x)


@register_builtin(_MODULE)
def log_sigmoid(x):
    """Logarithm of the sigmoid: ``-softplus(-x)``, computed stably.

    Args:
        x: Input tensor.
    """
    return nn.log_sigmoid(x)


@register_builtin(_MODULE)
def tanh_shrink(x):
    """Tanh shrink: ``x - tanh(x)``.

    Args:
        x: Input tensor.
    """
    return nn.tanh_shrink(x)


@register_builtin(_MODULE)
def soft_shrink(x, threshold=0.5):
    """Soft shrinkage: moves ``x`` toward 0 by ``threshold``, and zeroes ``|x| <= threshold``.

    Args:
        x: Input tensor.
        threshold: The amount of shrinkage.
    """
    return nn.soft_shrink(x, threshold)


@register_builtin(_MODULE)
def hard_shrink(x, threshold=0.5):
    """Hard shrinkage: ``x`` where ``|x| > threshold``, 0 elsewhere.

    Args:
        x: Input tensor.
        threshold: Values with a magnitude at or below this become 0.
    """
    return nn.hard_shrink(x, threshold)


@register_builtin(_MODULE)
def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, ``default_value`` elsewhere.

    Args:
        x: Input tensor.
        threshold: The value inputs must exceed to pass through.
        default_value: What replaces the inputs that do not.
    """
    return nn.threshold(x, threshold, default_value)


@register_builtin(_MODULE)
def squareplus(x, b=4):
    """Squareplus, a smooth ReLU made of square roots: ``(x + sqrt(x**2 + b)) / 2``.

    Args:
        x: Input tensor.
        b: Non-negative smoothness; 0 gives the ReLU.
    """
    return nn.squareplus(x, b)


@register_builtin(_MODULE)
def sparse_plus(x):
    """SparsePlus: 0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` in between.

    Args:
        x: Input tensor.
    """
    return nn.sparse_plus(x)


@register_builtin(_MODULE)
def sparse_sigmoid(x):
    """Sparse sigmoid: 0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` in between.

    Args:
        x: Input tensor.
    """
    return nn.sparse_sigmoid(x)


@register_builtin(_MODULE)
def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    Like softmax the output is non-negative and sums to 1, but small inputs get exactly 0.

    Args:
        x: Input tensor.
        axis: The axis to normalize.

    Example:

    >>> sparsemax([0.0, 0.5, 1.0])
    tensor([0.0000, 0.2500, 0.7500])
    """
    return nn.sparsemax(x, axis)


swish = register_builtin(_MODULE, "swish")(silu)
hard_swish = register_builtin(_MODULE, "hard_swish")(hard_silu)
