"""NumPy-like tensor functions on torch tensors (what ``keras.ops`` offers from ``keras.ops.numpy``).

Array creation (``zeros``, ``arange``, ...) and manipulation (``reshape``, ``pad``, ``take``, ...)
live in ``array_creation`` and ``array_manipulation``, the rest by concept in ``numpy_*`` modules
(``numpy_stats``, ``numpy_bitwise``, ``numpy_matrix``, ...); all are re-exported here, where Keras
has them.

Every function accepts torch tensors, NumPy arrays, Python lists and scalars, and returns torch
tensors. ``axis`` arguments take an int, a tuple of ints or ``None`` (all axes). Dtypes follow Keras:
Python scalars do not widen tensor dtypes, functions of real numbers (``sqrt``, ``mean``, ``divide``,
...) give ``floatx()`` for integer inputs, and index results (``argmax``, ``argsort``, ...) are int32.
"""

import builtins

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops import array_creation, array_manipulation
from lamina.ops._utils import (
    canonical_axis,
    promote,
    public_names,
    reduce_dims,
    tensor,
    to_float,
    widen_narrow_int,
)
from lamina.ops.array_creation import *  # noqa: F401,F403
from lamina.ops.array_manipulation import *  # noqa: F401,F403


# --------------------------------------------------------------------------- element-wise, one input


def abs(x):
    """Element-wise absolute value (integers stay integers)."""
    x = tensor(x)
    return x if x.dtype == torch.bool else torch.abs(x)


absolute = abs


def negative(x):
    """Element-wise numerical negative."""
    return torch.neg(tensor(x))


def square(x):
    """Element-wise square; booleans are squared as int32."""
    x = tensor(x)
    return torch.square(x.to(torch.int32) if x.dtype == torch.bool else x)


def sign(x):
    """Element-wise sign: -1, 0 or 1 in the dtype of ``x``."""
    return torch.sign(tensor(x))


def round(x, decimals=0):
    """Round half to even, to ``decimals`` decimal places (negative values round to tens, ...)."""
    x = tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals)
    if decimals >= 0:
        return x
    return torch.round(x.double(), decimals=decimals).to(x.dtype)


def floor(x):
    """Element-wise floor; integer inputs give ``floatx()``."""
    return torch.floor(to_float(x))


def ceil(x):
    """Element-wise ceiling; integer inputs give ``floatx()``."""
    return torch.ceil(to_float(x))


def trunc(x):
    """Round towards zero (integers are returned unchanged)."""
    x = tensor(x)
    return torch.trunc(x) if x.is_floating_point() else x


def reciprocal(x):
    """Element-wise ``1 / x``; integer inputs give ``floatx()``."""
    return torch.reciprocal(to_float(x))


def sqrt(x):
    """Element-wise square root; integer inputs give ``floatx()``."""
    return torch.sqrt(to_float(x))


def exp(x):
    """Element-wise exponential."""
    return torch.exp(to_float(x))


def expm1(x):
    """Element-wise ``exp(x) - 1``, accurate for small ``x``."""
    return torch.expm1(to_float(x))


def log(x):
    """Element-wise natural logarithm."""
    return torch.log(to_float(x))


def log1p(x):
    """Element-wise ``log(1 + x)``, accurate for small ``x``."""
    return torch.log1p(to_float(x))


def log2(x):
    """Element-wise base-2 logarithm."""
    return torch.log2(to_float(x))


def log10(x):
    """Element-wise base-10 logarithm."""
    return torch.log10(to_float(x))


def sin(x):
    """Element-wise sine."""
    return torch.sin(to_float(x))


def cos(x):
    """Element-wise cosine."""
    return torch.cos(to_float(x))


def tan(x):
    """Element-wise tangent."""
    return torch.tan(to_float(x))


def arcsin(x):
    """Element-wise inverse sine."""
    return torch.asin(to_float(x))


def arccos(x):
    """Element-wise inverse cosine."""
    return torch.acos(to_float(x))


def arctan(x):
    """Element-wise inverse tangent."""
    return torch.atan(to_float(x))


def sinh(x):
    """Element-wise hyperbolic sine."""
    return torch.sinh(to_float(x))


def cosh(x):
    """Element-wise hyperbolic cosine."""
    return torch.cosh(to_float(x))


def tanh(x):
    """Element-wise hyperbolic tangent."""
    return torch.tanh(to_float(x))


def arcsinh(x):
    """Element-wise inverse hyperbolic sine."""
    return torch.asinh(to_float(x))


def arccosh(x):
    """Element-wise inverse hyperbolic cosine."""
    return torch.acosh(to_float(x))


def arctanh(x):
    """Element-wise inverse hyperbolic tangent."""
    return torch.atanh(to_float(x))


def isnan(x):
    """Element-wise test for NaN (always False for integers)."""
    return torch.isnan(tensor(x))


def isinf(x):
    """Element-wise test for positive or negative infinity."""
    return torch.isinf(tensor(x))


def isfinite(x):
    """Element-wise test for finite values (not NaN, not infinite)."""
    return torch.isfinite(tensor(x))


def logical_not(x):
    """Element-wise logical NOT; non-zero values count as True."""
    return torch.logical_not(tensor(x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and infinities by ``posinf`` / ``neginf`` (default: the dtype's
    largest / smallest finite value)."""
    return torch.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def clip(x, x_min, x_max):
    """Limit the values of ``x`` to ``[x_min, x_max]`` (``x_max`` wins where ``x_min > x_max``).

    Booleans are clipped as int32; float bounds make an integer ``x`` float, as in Keras.
    """
    x, lo, hi = promote(x, x_min, x_max)
    if x.dtype == torch.bool:
        x, lo, hi = (t.to(torch.int32) for t in (x, lo, hi))
    return torch.minimum(torch.maximum(x, lo), hi)


# --------------------------------------------------------------------------- element-wise, two inputs


def add(x1, x2):
    """Element-wise ``x1 + x2`` with broadcasting."""
    x1, x2 = promote(x1, x2)
    return torch.add(x1, x2)


def subtract(x1, x2):
    """Element-wise ``x1 - x2`` with broadcasting."""
    x1, x2 = promote(x1, x2)
    return torch.subtract(x1, x2)


def multiply(x1, x2):
    """Element-wise ``x1 * x2`` with broadcasting."""
    x1, x2 = promote(x1, x2)
    return torch.multiply(x1, x2)


def divide(x1, x2):
    """Element-wise true division; integer operands give ``floatx()``."""
    x1, x2 = promote(x1, x2, force_float=True)
    return torch.divide(x1, x2)


true_divide = divide


def floor_divide(x1, x2):
    """Element-wise division rounded down (``x1 // x2``)."""
    x1, x2 = promote(x1, x2)
    return torch.floor_divide(x1, x2)


def mod(x1, x2):
    """Element-wise remainder with the sign of the divisor, as Python's ``%``."""
    x1, x2 = promote(x1, x2)
    return torch.remainder(x1, x2)


def power(x1, x2):
    """Element-wise ``x1 ** x2``."""
    x1, x2 = promote(x1, x2)
    return torch.pow(x1, x2)


def maximum(x1, x2):
    """Element-wise maximum (NaN propagates)."""
    x1, x2 = promote(x1, x2)
    return torch.maximum(x1, x2)


def minimum(x1, x2):
    """Element-wise minimum (NaN propagates)."""
    x1, x2 = promote(x1, x2)
    return torch.minimum(x1, x2)


def arctan2(x1, x2):
    """Element-wise angle of the point ``(x2, x1)``, in ``[-pi, pi]``."""
    x1, x2 = promote(x1, x2, force_float=True)
    return torch.atan2(x1, x2)


def equal(x1, x2):
    """Element-wise ``x1 == x2``."""
    return torch.eq(*promote(x1, x2))


def not_equal(x1, x2):
    """Element-wise ``x1 != x2``."""
    return torch.ne(*promote(x1, x2))


def greater(x1, x2):
    """Element-wise ``x1 > x2``."""
    return torch.gt(*promote(x1, x2))


def greater_equal(x1, x2):
    """Element-wise ``x1 >= x2``."""
    return torch.ge(*promote(x1, x2))


def less(x1, x2):
    """Element-wise ``x1 < x2``."""
    return torch.lt(*promote(x1, x2))


def less_equal(x1, x2):
    """Element-wise ``x1 <= x2``."""
    return torch.le(*promote(x1, x2))


def logical_and(x1, x2):
    """Element-wise logical AND; non-zero values count as True."""
    return torch.logical_and(*promote(x1, x2))


def logical_or(x1, x2):
    """Element-wise logical OR; non-zero values count as True."""
    return torch.logical_or(*promote(x1, x2))


def logical_xor(x1, x2):
    """Element-wise logical XOR; non-zero values count as True."""
    return torch.logical_xor(*promote(x1, x2))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Element-wise ``|x1 - x2| <= atol + rtol * |x2|``."""
    x1, x2 = promote(x1, x2)
    return torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


def where(condition, x1=None, x2=None):
    """Pick from ``x1`` where ``condition`` holds and from ``x2`` elsewhere.

    With only ``condition``, return a tuple of int32 index tensors of its non-zero entries.
    """
    condition = tensor(condition)
    if x1 is None and x2 is None:
        return tuple(i.to(torch.int32) for i in torch.nonzero(condition, as_tuple=True))
    if x1 is None or x2 is None:
        raise ValueError("`x1` and `x2` must be given together (or both left out) in `where`.")
    x1, x2 = promote(x1, x2)
    return torch.where(condition.to(device=x1.device, dtype=torch.bool), x1, x2)


# --------------------------------------------------------------------------- products


def matmul(x1, x2):
    """Matrix product with NumPy's rules (1-D operands are vectors, leading axes broadcast)."""
    x1, x2 = promote(x1, x2)
    return torch.matmul(x1, x2)


def dot(x1, x2):
    """NumPy ``dot``: a product over the last axis of ``x1`` and the second-to-last axis of ``x2``
    (the only axis when ``x2`` is 1-D); scalars multiply."""
    x1, x2 = promote(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return torch.multiply(x1, x2)
    return torch.tensordot(x1, x2, dims=([x1.ndim - 1], [builtins.max(x2.ndim - 2, 0)]))


def tensordot(x1, x2, axes=2):
    """Sum of products over the given axes.

    Args:
        x1: First tensor.
        x2: Second tensor.
        axes: An int ``N`` (the last ``N`` axes of ``x1`` against the first ``N`` of ``x2``), or a
            pair ``(axes_1, axes_2)`` of ints or sequences of ints.

    Returns:
        The contracted tensor.
    """
    x1, x2 = promote(x1, x2)
    if isinstance(axes, int):
        return torch.tensordot(x1, x2, dims=axes)
    if len(axes) != 2:
        raise ValueError(f"`axes` must be an int or a pair of axis lists. Received: axes={axes!r}")
    a1, a2 = ([a] if isinstance(a, int) else list(a) for a in axes)
    return torch.tensordot(x1, x2, dims=(a1, a2))


def einsum(subscripts, *operands):
    """Einstein summation, e.g. ``einsum("ij,jk->ik", a, b)``."""
    return torch.einsum(subscripts, *promote(*operands))


def outer(x1, x2):
    """Outer product of the flattened inputs."""
    x1, x2 = promote(x1, x2)
    return torch.outer(x1.reshape(-1), x2.reshape(-1))


# --------------------------------------------------------------------------- reductions


def _reduce(fn, x, axis, keepdims, **kwargs):
    dims = reduce_dims(x, axis)
    if not dims:
        return x  # `axis=()` reduces nothing, as in NumPy.
    return fn(x, dim=dims, keepdim=keepdims, **kwargs)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes when ``None``); booleans and small integers sum as int32."""
    x = widen_narrow_int(tensor(x))
    # Pin the dtype: torch would widen int32 sums to int64, Keras keeps int32.
    return _reduce(torch.sum, x, axis, keepdims, dtype=x.dtype)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integer inputs give ``floatx()``."""
    return _reduce(torch.mean, to_float(x), axis, keepdims)


def _extreme(fn, pick, x, axis, keepdims, initial):
    x = tensor(x)
    out = _reduce(fn, x, axis, keepdims)
    return out if initial is None else pick(*promote(out, initial))


def max(x, axis=None, keepdims=False, initial=None):
    """Maximum over ``axis``; ``initial`` is a lower bound for the result."""
    return _extreme(torch.amax, torch.maximum, x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):
    """Minimum over ``axis``; ``initial`` is an upper bound for the result."""
    return _extreme(torch.amin, torch.minimum, x, axis, keepdims, initial)


def amax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (alias of ``max``)."""
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` (alias of ``min``)."""
    return min(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``, computed in ``dtype`` when given."""
    x = widen_narrow_int(tensor(x))
    if dtype is not None:
        x = x.to(to_torch_dtype(dtype))
    # torch.prod reduces one axis at a time; going from the last keeps the other indices valid.
    for d in sorted(reduce_dims(x, axis), reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdims, dtype=x.dtype)
    return x


def var(x, axis=None, keepdims=False):
    """Population variance (``ddof=0``) over ``axis``."""
    return _reduce(torch.var, to_float(x), axis, keepdims, correction=0)


def std(x, axis=None, keepdims=False):
    """Population standard deviation (``ddof=0``) over ``axis``."""
    return _reduce(torch.std, to_float(x), axis, keepdims, correction=0)


def any(x, axis=None, keepdims=False):
    """Whether any element over ``axis`` is non-zero."""
    return _reduce(torch.any, tensor(x).bool(), axis, keepdims)


def all(x, axis=None, keepdims=False):
    """Whether all elements over ``axis`` are non-zero."""
    return _reduce(torch.all, tensor(x).bool(), axis, keepdims)


def count_nonzero(x, axis=None):
    """Number of non-zero elements over ``axis`` (int32)."""
    x = tensor(x)
    dims = reduce_dims(x, axis)
    return torch.count_nonzero(x, dim=dims).to(torch.int32) if dims else (x != 0).to(torch.int32)


def _arg_extreme(fn, x, axis, keepdims):
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        out = fn(x.reshape(-1))
        if keepdims:
            out = out.reshape((1,) * x.ndim)
    else:
        out = fn(x, dim=canonical_axis(axis, x.ndim), keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the first maximum along ``axis``, or into the flattened tensor."""
    return _arg_extreme(torch.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the first minimum along ``axis``, or into the flattened tensor."""
    return _arg_extreme(torch.argmin, x, axis, keepdims)


def _along(x, axis):
    """``x`` and a torch dim, flattening ``x`` when ``axis`` is None."""
    x = tensor(x)
    if axis is None:
        return x.reshape(-1), 0
    return x, canonical_axis(axis, builtins.max(x.ndim, 1))


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened tensor when ``None``)."""
    x, dim = _along(widen_narrow_int(tensor(x)), axis)
    return torch.cumsum(x, dim=dim, dtype=x.dtype if dtype is None else to_torch_dtype(dtype))


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (of the flattened tensor when ``None``)."""
    x, dim = _along(widen_narrow_int(tensor(x)), axis)
    return torch.cumprod(x, dim=dim, dtype=x.dtype if dtype is None else to_torch_dtype(dtype))


def sort(x, axis=-1):
    """Sorted copy of ``x`` along ``axis`` (of the flattened tensor when ``None``)."""
    x, dim = _along(x, axis)
    return torch.sort(x, dim=dim, stable=True).values


def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` along ``axis``; ties keep their order."""
    x, dim = _along(x, axis)
    return torch.argsort(x, dim=dim, stable=True).to(torch.int32)



_OWN = public_names(globals(), __name__)

# The modules below build on the functions above (`nansum` uses `sum`): import them last.
from lamina.ops import (  # noqa: E402
    numpy_bitwise,
    numpy_creation,
    numpy_elementwise,
    numpy_indexing,
    numpy_joining,
    numpy_matrix,
    numpy_stats,
    numpy_vectorize,
    numpy_windows,
)
from lamina.ops.numpy_bitwise import *  # noqa: E402,F401,F403
from lamina.ops.numpy_creation import *  # noqa: E402,F401,F403
from lamina.ops.numpy_elementwise import *  # noqa: E402,F401,F403
from lamina.ops.numpy_indexing import *  # noqa: E402,F401,F403
from lamina.ops.numpy_joining import *  # noqa: E402,F401,F403
from lamina.ops.numpy_matrix import *  # noqa: E402,F401,F403
from lamina.ops.numpy_stats import *  # noqa: E402,F401,F403
from lamina.ops.numpy_vectorize import *  # noqa: E402,F401,F403
from lamina.ops.numpy_windows import *  # noqa: E402,F401,F403

__all__ = sorted(
    set(_OWN)
    | set(array_creation.__all__)
    | set(array_manipulation.__all__)
    | set(numpy_bitwise.__all__)
    | set(numpy_creation.__all__)
    | set(numpy_elementwise.__all__)
    | set(numpy_indexing.__all__)
    | set(numpy_joining.__all__)
    | set(numpy_matrix.__all__)
    | set(numpy_stats.__all__)
    | set(numpy_vectorize.__all__)
    | set(numpy_windows.__all__)
)
