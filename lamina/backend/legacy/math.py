"""Keras 2 backend: reductions, element-wise math, comparisons and products."""

import builtins

import torch

from lamina import ops
from lamina.backend.legacy._common import real, records_backend_node
from lamina.ops._utils import canonical_axis, promote, public_names, tensor

_L2_EPSILON = 1e-12  # the fixed fuzz factor of Keras 2's l2_normalize (not epsilon())


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (an int, list of ints or ``None`` for all axes)."""
    return ops.sum(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""
    return ops.prod(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``."""
    return ops.mean(real(x), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis``."""
    return ops.std(real(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """Population variance over ``axis``."""
    return ops.var(real(x), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""
    return ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""
    return ops.min(x, axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """Logical OR over ``axis``."""
    return ops.any(x, axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """Logical AND over ``axis``."""
    return ops.all(x, axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, without overflow."""
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


@records_backend_node
def argmax(x, axis=-1):
    """Index (int64) of the maximum along ``axis``."""
    x = tensor(x)
    return torch.argmax(x, dim=canonical_axis(axis, x.ndim))


@records_backend_node
def argmin(x, axis=-1):
    """Index (int64) of the minimum along ``axis``."""
    x = tensor(x)
    return torch.argmin(x, dim=canonical_axis(axis, x.ndim))


def cumsum(x, axis=0):
    """Cumulative sum along ``axis``."""
    return ops.cumsum(x, axis=axis)


def cumprod(x, axis=0):
    """Cumulative product along ``axis``."""
    return ops.cumprod(x, axis=axis)


def square(x):
    """Element-wise square."""
    return ops.square(x)


def abs(x):
    """Element-wise absolute value."""
    return ops.abs(x)


@records_backend_node
def sqrt(x):
    """Element-wise square root; negative inputs are clipped to 0 first."""
    return torch.sqrt(torch.clamp(real(x), min=0.0))


def exp(x):
    """Element-wise exponential."""
    return ops.exp(x)


def log(x):
    """Element-wise natural logarithm."""
    return ops.log(x)


def pow(x, a):
    """Element-wise ``x ** a``."""
    return ops.power(x, a)


def round(x):
    """Round half to even."""
    return ops.round(x)


def sign(x):
    """Element-wise sign."""
    return ops.sign(x)


def sin(x):
    """Element-wise sine."""
    return ops.sin(x)


def cos(x):
    """Element-wise cosine."""
    return ops.cos(x)


def maximum(x, y):
    """Element-wise maximum."""
    return ops.maximum(x, y)


def minimum(x, y):
    """Element-wise minimum."""
    return ops.minimum(x, y)


def equal(x, y):
    """Element-wise ``x == y``."""
    return ops.equal(x, y)


def not_equal(x, y):
    """Element-wise ``x != y``."""
    return ops.not_equal(x, y)


def greater(x, y):
    """Element-wise ``x > y``."""
    return ops.greater(x, y)


def greater_equal(x, y):
    """Element-wise ``x >= y``."""
    return ops.greater_equal(x, y)


def less(x, y):
    """Element-wise ``x < y``."""
    return ops.less(x, y)


def less_equal(x, y):
    """Element-wise ``x <= y``."""
    return ops.less_equal(x, y)


@records_backend_node
def clip(x, min_value, max_value):
    """Clip ``x`` to ``[min_value, max_value]``; ``None`` leaves that side open and a
    ``max_value`` below ``min_value`` is raised to it."""
    x = tensor(x)
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)):
        max_value = builtins.max(max_value, min_value)
    if min_value is None and max_value is None:
        return x
    return torch.clamp(x, min=min_value, max=max_value)


def dot(x, y):
    """Keras 2 ``dot``: for N-D inputs, contracts the last axis of ``x`` with the second-to-last
    axis of ``y`` (``(2, 3, 4) . (5, 4, 6) -> (2, 3, 5, 6)``); for 2-D inputs, a matrix product."""
    return ops.dot(x, y)


def batch_dot(x, y, axes=None):
    """Dot product of each sample of ``x`` with the same sample of ``y``.

    Args:
        x: Tensor of rank >= 2 whose first axis is the batch.
        y: Tensor of rank >= 2 with the same batch size.
        axes: An int (the same axis of both) or a pair ``(axis_of_x, axis_of_y)`` to contract.
            Defaults to the last axis of ``x`` and the second-to-last of ``y`` (the last when ``y``
            is 2-D). The batch axis 0 cannot be contracted.

    Returns:
        A tensor with the axes of ``x`` (less the contracted one) followed by those of ``y`` (less
        the batch and the contracted axes). A rank-1 result is returned with shape ``(batch, 1)``.

    Example:

    >>> batch_dot(np.ones((32, 20, 1)), np.ones((32, 30, 20)), axes=(1, 2)).shape
    torch.Size([32, 1, 30])
    """
    x, y = promote(x, y)
    shapes = f"Received shapes {tuple(x.shape)} and {tuple(y.shape)}."
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"`batch_dot` needs inputs of rank >= 2. {shapes}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"`batch_dot` needs equal batch sizes. {shapes}")
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    if len(axes) != 2 or builtins.any(not isinstance(a, int) for a in axes):
        raise ValueError(f"`axes` must be None, an int or a pair of ints. Received: axes={axes!r}")
    ax, ay = canonical_axis(axes[0], x.ndim, "axes"), canonical_axis(axes[1], y.ndim, "axes")
    if ax == 0 or ay == 0:
        raise ValueError("`batch_dot` cannot contract the batch axis 0.")
    if x.shape[ax] != y.shape[ay]:
        raise ValueError(
            f"`batch_dot` axes do not match: x.shape[{ax}]={x.shape[ax]} != y.shape[{ay}]={y.shape[ay]}."
        )
    xm = torch.movedim(x, ax, -1)
    ym = torch.movedim(y, ay, 1)
    batch = x.shape[0]
    out = torch.bmm(xm.reshape(batch, -1, x.shape[ax]), ym.reshape(batch, y.shape[ay], -1))
    out = out.reshape(xm.shape[:-1] + ym.shape[2:])
    return out.unsqueeze(-1) if out.ndim == 1 else out


def transpose(x):
    """Reverse the order of all axes."""
    return ops.transpose(x)


@records_backend_node
def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x ** 2, axis), 1e-12))`` (all axes when ``axis`` is None)."""
    x = real(x)
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * torch.rsqrt(torch.clamp(square_sum, min=_L2_EPSILON))


__all__ = public_names(globals(), __name__)
