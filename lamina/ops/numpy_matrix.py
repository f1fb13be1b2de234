"""Matrix and vector routines of NumPy: diagonals and traces, rotations and flips, products
(``inner``, ``vdot``, ``kron``, ``cross``), ``correlate``, ``diff``, ``trapezoid``, ``vander`` and
``slogdet`` (re-exported by ``lamina.ops.numpy``)."""

import torch
import torch.nn.functional as F

from lamina.ops._utils import canonical_axis, promote, public_names, tensor, to_float, widen_narrow_int

_CORRELATE_MODES = ("valid", "same", "full")
_HALF = (torch.float16, torch.bfloat16)


def diag(x, k=0):
    """The ``k``-th diagonal of a 2-D tensor, or a 2-D tensor with the 1-D ``x`` on that diagonal."""
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"`diag` takes a 1-D or 2-D tensor. Received shape {tuple(x.shape)}")
    return torch.diag(x, k)


def diagflat(x, k=0):
    """A 2-D tensor with the flattened ``x`` on its ``k``-th diagonal."""
    return torch.diagflat(tensor(x), k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal at ``offset`` of the 2-D slices spanned by ``axis1`` and ``axis2``, as the last
    axis of the result."""
    return torch.diagonal(tensor(x), offset=offset, dim1=axis1, dim2=axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the diagonal at ``offset`` of the slices spanned by ``axis1`` and ``axis2``
    (booleans and small integers sum as int32)."""
    x = widen_narrow_int(tensor(x))
    return torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2).sum(-1, dtype=x.dtype)


def fliplr(x):
    """Reverse the order of the columns (axis 1; ``x`` needs at least 2 axes)."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`fliplr` needs a tensor of rank >= 2. Received shape {tuple(x.shape)}")
    return torch.flip(x, dims=(1,))


def flipud(x):
    """Reverse the order of the rows (axis 0)."""
    x = tensor(x)
    if x.ndim < 1:
        raise ValueError("`flipud` needs a tensor of rank >= 1. Received a scalar.")
    return torch.flip(x, dims=(0,))


def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first axis towards the
    second."""
    x = tensor(array)
    axes = tuple(axes)
    if len(axes) != 2 or x.ndim < 2 or axes[0] % x.ndim == axes[1] % x.ndim:
        raise ValueError(f"`axes` must name two different axes of `array`. Received: axes={axes}")
    return torch.rot90(x, k, dims=axes)


def diff(a, n=1, axis=-1):
    """``n``-th discrete difference along ``axis`` (``a[i+1] - a[i]``, not-equal for booleans)."""
    x = tensor(a)
    if n < 0:
        raise ValueError(f"`n` must be non-negative. Received: n={n}")
    if n == 0:
        return x
    return torch.diff(x, n=n, dim=canonical_axis(axis, x.ndim))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule, at sample points ``x`` (1-D or the
    shape of ``y``) or with spacing ``dx``."""
    if x is None:
        y = to_float(y)
        return torch.trapezoid(y, dx=dx, dim=canonical_axis(axis, y.ndim))
    y, x = promote(y, x, force_float=True)
    return torch.trapezoid(y, x=x, dim=canonical_axis(axis, y.ndim))


def vander(x, N=None, increasing=False):
    """Vandermonde matrix of a 1-D tensor: columns are powers of ``x`` (decreasing unless
    ``increasing``), ``N`` of them (default ``len(x)``)."""
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"`vander` takes a 1-D tensor. Received shape {tuple(x.shape)}")
    if x.dtype == torch.bool:
        raise ValueError("`vander` does not take boolean tensors.")
    n = x.shape[0] if N is None else int(N)
    powers = torch.arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    return torch.pow(x.unsqueeze(1), powers.to(x.dtype).unsqueeze(0))


def _product_dtype(x1, x2):
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        # Torch has no boolean matrix products: multiply as int32, then "any pair true".
        return x1.to(torch.int32), x2.to(torch.int32), torch.bool
    return x1, x2, None


def inner(x1, x2):
    """Inner product over the last axes (a plain product when one input is a scalar)."""
    x1, x2, cast = _product_dtype(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        out = x1 * x2
    else:
        out = torch.tensordot(x1, x2, dims=([x1.ndim - 1], [x2.ndim - 1]))
    return out if cast is None else out.to(cast)


def vdot(x1, x2):
    """Dot product of the flattened inputs (the first one conjugated)."""
    x1, x2, cast = _product_dtype(x1, x2)
    x1 = torch.conj_physical(x1) if x1.is_complex() else x1
    out = torch.sum(x1.reshape(-1) * x2.reshape(-1), dtype=x1.dtype)
    return out if cast is None else out.to(cast)


def kron(x1, x2):
    """Kronecker product: blocks of ``x2`` scaled by each element of ``x1``."""
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        raise ValueError("`kron` does not take boolean tensors.")
    return torch.kron(x1, x2)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-element vectors.

    Args:
        x1: Vectors along ``axisa``.
        x2: Vectors along ``axisb``.
        axisa: Axis of ``x1`` holding the vectors.
        axisb: Axis of ``x2`` holding the vectors.
        axisc: Axis of the result holding the vectors (unused when both inputs are 2-vectors: the
            result is then the z-component alone).
        axis: If given, overrides ``axisa``, ``axisb`` and ``axisc``.

    Returns:
        The cross products, the other axes broadcast.
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = promote(x1, x2)
    if x1.dtype == torch.bool:
        raise ValueError("`cross` does not take boolean tensors.")
    a = torch.movedim(x1, canonical_axis(axisa, x1.ndim), -1)
    b = torch.movedim(x2, canonical_axis(axisb, x2.ndim), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(
            "`cross` needs vectors of 2 or 3 elements. "
            f"Received sizes {a.shape[-1]} and {b.shape[-1]} along the vector axes."
        )
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a = F.pad(a, (0, 3 - a.shape[-1]))
    b = F.pad(b, (0, 3 - b.shape[-1]))
    a0, a1, a2 = a.unbind(-1)
    b0, b1, b2 = b.unbind(-1)
    c = torch.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=-1)
    return torch.movedim(c, -1, canonical_axis(axisc, c.ndim))


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D tensors: ``c[k] = sum_n x1[n + k] * x2[n]``.

    Args:
        x1: First 1-D tensor.
        x2: Second 1-D tensor.
        mode: ``"valid"`` (only full overlaps), ``"same"`` (the length of the longer input) or
            ``"full"`` (every partial overlap).

    Returns:
        The correlation (a float tensor).
    """
    if mode not in _CORRELATE_MODES:
        raise ValueError(f"Invalid `mode`: {mode!r}. Expected one of {_CORRELATE_MODES}.")
    a, v = promote(x1, x2, force_float=True)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"`correlate` takes 1-D tensors. Received shapes {tuple(a.shape)} and {tuple(v.shape)}")
    m, n = a.shape[0], v.shape[0]
    if m == 0 or n == 0:
        raise ValueError("`correlate` needs non-empty inputs.")
    dtype = a.dtype
    work = torch.float32 if dtype in _HALF else dtype
    # conv1d is a cross-correlation; padding both sides by n - 1 gives every overlap ("full").
    full = F.conv1d(F.pad(a.to(work), (n - 1, n - 1)).reshape(1, 1, -1), v.to(work).reshape(1, 1, -1))
    full = full.reshape(-1).to(dtype)
    short, long = min(m, n), max(m, n)
    if mode == "full":
        return full
    if mode == "valid":
        return full[short - 1:long]
    start = (short - 1) // 2
    return full[start:start + long]


def slogdet(x):
    """Sign and natural log of the absolute value of the determinant of (a batch of) square
    matrices, as a tuple ``(sign, logabsdet)``."""
    x = to_float(x)
    if x.dtype in _HALF:
        sign, logabsdet = torch.linalg.slogdet(x.float())
        return sign.to(x.dtype), logabsdet.to(x.dtype)
    sign, logabsdet = torch.linalg.slogdet(x)
    return sign, logabsdet


__all__ = public_names(globals(), __name__)
