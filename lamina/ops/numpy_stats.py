"""Statistics: order statistics (``median``, ``quantile``, ``percentile``), the NaN-ignoring
reductions (``nansum``, ``nanmean``, ...), ``ptp``, ``average``, ``histogram``, ``bincount`` and
``corrcoef`` (re-exported by ``lamina.ops.numpy``).

Order statistics and means give floats (``floatx()`` for integer inputs); the ``nan*`` versions of
``max``, ``min``, ``sum`` and ``prod`` keep the dtype rules of the plain reductions, and do nothing
special for integers, which cannot hold NaN.
"""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops import numpy as _np
from lamina.ops._utils import (
    canonical_axis,
    promote,
    public_names,
    reduce_dims,
    tensor,
    to_float,
    widen_narrow_int,
)

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


# --------------------------------------------------------------------------- order statistics


def _quantile(x, q, axis, method, keepdims, ignore_nan):
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"Invalid `method`: {method!r}. Expected one of {_QUANTILE_METHODS}.")
    x = to_float(x)
    q = tensor(q).to(device=x.device, dtype=torch.float64)
    dims = reduce_dims(x, axis)
    kept = [d for d in range(x.ndim) if d not in dims]
    batch_shape = [x.shape[d] for d in kept]
    # The reduced axes become one trailing axis, sorted (torch sorts NaN last).
    flat = x.permute(*kept, *dims).reshape(*batch_shape, -1)
    values = torch.sort(flat, dim=-1).values
    nans = torch.isnan(flat)
    size = flat.shape[-1]
    count = (~nans).sum(-1) if ignore_nan else torch.full(batch_shape, size, device=x.device)
    # Positions have shape q.shape + batch_shape, as in NumPy.
    qf = q.reshape(q.shape + (1,) * len(batch_shape))
    pos = qf * (count.to(torch.float64) - 1)
    lo = torch.floor(pos).clamp(0, max(size - 1, 0))
    hi = torch.ceil(pos).clamp(0, max(size - 1, 0))
    frac = pos - lo

    def pick(index):
        index = index.to(torch.int64).expand(q.shape + tuple(batch_shape))
        # Gather along the trailing axis with the q axes moved behind the batch axes.
        moved = index.reshape(q.numel(), *batch_shape).movedim(0, -1)
        got = torch.take_along_dim(values, moved, dim=-1).movedim(-1, 0)
        return got.reshape(q.shape + tuple(batch_shape))

    if method == "lower":
        out = pick(lo)
    elif method == "higher":
        out = pick(hi)
    elif method == "nearest":
        # Ties go to the lower neighbour (Keras on JAX), not to the even one.
        out = pick(torch.where(frac <= 0.5, lo, hi))
    elif method == "midpoint":
        out = (pick(lo) + pick(hi)) * 0.5
    else:
        w = frac.to(x.dtype)
        out = pick(lo) * (1 - w) + pick(hi) * w
    invalid = (count == 0) if ignore_nan else nans.any(-1)
    out = torch.where(invalid, torch.full_like(out, float("nan")), out)
    if keepdims:
        full = [1 if d in dims else x.shape[d] for d in range(x.ndim)]
        out = out.reshape(tuple(q.shape) + tuple(full))
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles of ``x`` along ``axis`` (all axes when ``None``).

    Args:
        x: Input tensor.
        q: Quantile(s) in ``[0, 1]``: a scalar or a tensor; its axes lead the result's axes.
        axis: Axis or axes to compute the quantiles along.
        method: ``"linear"`` (default), ``"lower"``, ``"higher"``, ``"midpoint"`` or ``"nearest"``:
            how to pick a value between two data points.
        keepdims: Keep the reduced axes with size 1.

    Returns:
        The quantiles (a float tensor). NaN where a reduced slice holds a NaN.
    """
    return _quantile(x, q, axis, method, keepdims, ignore_nan=False)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles (``q`` in ``[0, 100]``) of ``x`` along ``axis``; see ``quantile``."""
    return _quantile(x, tensor(q).to(torch.float64) / 100.0, axis, method, keepdims, ignore_nan=False)


def median(x, axis=None, keepdims=False):
    """Median of ``x`` along ``axis`` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, ignore_nan=False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaNs (NaN only where a reduced slice holds nothing else)."""
    return _quantile(x, q, axis, method, keepdims, ignore_nan=True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``percentile`` ignoring NaNs (NaN only where a reduced slice holds nothing else)."""
    return _quantile(x, tensor(q).to(torch.float64) / 100.0, axis, method, keepdims, ignore_nan=True)


def nanmedian(x, axis=None, keepdims=False):
    """``median`` ignoring NaNs (NaN only where a reduced slice holds nothing else)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, ignore_nan=True)


# --------------------------------------------------------------------------- NaN-ignoring reductions


def _nan_filled(x, value):
    x = tensor(x)
    if x.is_floating_point() or x.is_complex():
        return torch.where(torch.isnan(x), torch.full_like(x, value), x)
    return x


def nansum(x, axis=None, keepdims=False):
    """Sum over ``axis`` treating NaN as 0."""
    return _np.sum(_nan_filled(x, 0.0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Product over ``axis`` treating NaN as 1."""
    return _np.prod(_nan_filled(x, 1.0), axis=axis, keepdims=keepdims)


def _nan_extreme(reduce, fill, x, axis, keepdims):
    x = tensor(x)
    if not x.is_floating_point():
        return reduce(x, axis=axis, keepdims=keepdims)
    out = reduce(_nan_filled(x, fill), axis=axis, keepdims=keepdims)
    all_nan = _np.all(torch.isnan(x), axis=axis, keepdims=keepdims)
    return torch.where(all_nan, torch.full_like(out, float("nan")), out)


def nanmax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` ignoring NaN (NaN where a slice holds only NaN)."""
    return _nan_extreme(_np.max, float("-inf"), x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` ignoring NaN (NaN where a slice holds only NaN)."""
    return _nan_extreme(_np.min, float("inf"), x, axis, keepdims)


def _nan_arg(reduce, fill, x, axis, keepdims):
    x = tensor(x)
    if not x.is_floating_point():
        return reduce(x, axis=axis, keepdims=keepdims)
    out = reduce(_nan_filled(x, fill), axis=axis, keepdims=keepdims)
    all_nan = torch.isnan(x)
    all_nan = all_nan.all() if axis is None else all_nan.all(dim=canonical_axis(axis, x.ndim), keepdim=keepdims)
    if axis is None and keepdims:
        all_nan = all_nan.reshape(out.shape)
    # All-NaN slices have no answer: -1, as Keras on JAX.
    return torch.where(all_nan, torch.full_like(out, -1), out)


def nanargmax(x, axis=None, keepdims=False):
    """Index (int32) of the maximum along ``axis`` ignoring NaN; -1 for all-NaN slices."""
    return _nan_arg(_np.argmax, float("-inf"), x, axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """Index (int32) of the minimum along ``axis`` ignoring NaN; -1 for all-NaN slices."""
    return _nan_arg(_np.argmin, float("inf"), x, axis, keepdims)


def _nan_cumulative(fn, fill, x, axis, dtype):
    x = _nan_filled(x, fill)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if axis is None:
        x, dim = x.reshape(-1), 0
    else:
        dim = canonical_axis(axis, max(x.ndim, 1))
    return fn(x, dim=dim, dtype=x.dtype if dtype is None else to_torch_dtype(dtype))


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` treating NaN as 0 (of the flattened tensor when ``None``)."""
    return _nan_cumulative(torch.cumsum, 0.0, x, axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` treating NaN as 1 (of the flattened tensor when ``None``)."""
    return _nan_cumulative(torch.cumprod, 1.0, x, axis, dtype)


def nanmean(x, axis=None, keepdims=False):
    """Mean over ``axis`` of the non-NaN values (NaN where a slice holds only NaN)."""
    x = to_float(x)
    valid = ~torch.isnan(x)
    total = _np.sum(torch.where(valid, x, torch.zeros_like(x)), axis=axis, keepdims=keepdims)
    return total / _np.sum(valid, axis=axis, keepdims=keepdims).to(x.dtype)


def nanvar(x, axis=None, keepdims=False):
    """Population variance over ``axis`` of the non-NaN values."""
    x = to_float(x)
    valid = ~torch.isnan(x)
    mean = nanmean(x, axis=axis, keepdims=True)
    dev = torch.where(valid, x - mean, torch.zeros_like(x))
    count = _np.sum(valid, axis=axis, keepdims=keepdims).to(x.dtype)
    return _np.sum(dev * dev, axis=axis, keepdims=keepdims) / count


def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis`` of the non-NaN values."""
    return torch.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


# --------------------------------------------------------------------------- other statistics


def ptp(x, axis=None, keepdims=False):
    """Range of values (maximum minus minimum) over ``axis``."""
    x = tensor(x)
    if x.dtype == torch.bool:
        raise ValueError("`ptp` does not take boolean tensors: their difference is undefined.")
    return _np.max(x, axis=axis, keepdims=keepdims) - _np.min(x, axis=axis, keepdims=keepdims)


def average(x, axis=None, weights=None):
    """Weighted average of ``x`` along ``axis`` (all axes when ``None``).

    Args:
        x: Input tensor.
        axis: Axis to average over (``None``: all axes).
        weights: Optional weights: the shape of ``x``, or 1-D with the length of ``axis``.

    Returns:
        The average (a float tensor).
    """
    if weights is None:
        return _np.mean(x, axis=axis)
    x, w = promote(x, weights, force_float=True)
    if w.shape != x.shape:
        if axis is None or w.ndim != 1:
            raise ValueError(
                "`weights` must have the shape of `x`, or be 1-D along `axis`. "
                f"Received: x.shape={tuple(x.shape)}, weights.shape={tuple(w.shape)}, axis={axis}"
            )
        dim = canonical_axis(axis, x.ndim)
        if w.shape[0] != x.shape[dim]:
            raise ValueError(
                f"`weights` of length {w.shape[0]} do not match axis {dim} of `x` (size {x.shape[dim]})."
            )
        w = w.reshape([-1 if d == dim else 1 for d in range(x.ndim)])
        w = torch.broadcast_to(w, x.shape)
    return _np.sum(x * w, axis=axis) / _np.sum(w, axis=axis)


def histogram(x, bins=10, range=None):
    """Histogram of the values of a 1-D tensor.

    Args:
        x: 1-D input tensor.
        bins: Number of equal-width bins.
        range: ``(lower, upper)`` limits of the bins (default: the data's minimum and maximum).
            Values outside are not counted; the last bin includes its upper edge.

    Returns:
        A tuple ``(counts, bin_edges)`` of float tensors, of lengths ``bins`` and ``bins + 1``.
    """
    x = to_float(x)
    if x.ndim != 1:
        raise ValueError(f"`histogram` takes a 1-D tensor. Received shape {tuple(x.shape)}")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"`bins` must be a positive int. Received: bins={bins!r}")
    if range is None:
        lo, hi = x.min(), x.max()
    else:
        lo, hi = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in range)
    # An empty range is widened by 0.5 each way, as NumPy does.
    same = lo == hi
    lo, hi = torch.where(same, lo - 0.5, lo), torch.where(same, hi + 0.5, hi)
    steps = torch.arange(bins + 1, device=x.device, dtype=torch.float64) / bins
    edges = (lo.double() + steps * (hi.double() - lo.double())).to(x.dtype)
    index = torch.searchsorted(edges, x, right=True) - 1
    index = torch.where(x == edges[-1], torch.full_like(index, bins - 1), index)
    inside = (x >= edges[0]) & (x <= edges[-1])
    counts = torch.zeros(bins, dtype=x.dtype, device=x.device)
    counts.scatter_add_(0, index.clamp(0, bins - 1), inside.to(x.dtype))
    return counts, edges


def bincount(x, weights=None, minlength=0, sparse=False):
    """Count occurrences of each non-negative integer value in ``x``.

    Args:
        x: 1-D integer tensor, or 2-D (one count per row, all rows of the same length).
        weights: Optional tensor of ``x``'s shape: sum these instead of counting ones.
        minlength: Minimum number of bins.
        sparse: Not supported (Lamina has no sparse tensors).

    Returns:
        The counts (int32), or sums of ``weights`` (in the weights' dtype).
    """
    if sparse:
        raise ValueError("`sparse=True` is not supported: Lamina has no sparse tensors.")
    x = tensor(x)
    if x.is_floating_point() or x.dtype == torch.bool:
        raise ValueError(f"`bincount` takes integer tensors. Received dtype {x.dtype}.")
    if x.ndim not in (1, 2):
        raise ValueError(f"`bincount` takes a 1-D or 2-D tensor. Received shape {tuple(x.shape)}")
    length = max(int(x.max()) + 1 if x.numel() else 0, int(minlength))
    if weights is None:
        values = torch.ones(x.shape, dtype=torch.int32, device=x.device)
    else:
        values = tensor(weights)
        # Booleans cannot be summed: count them as int32.
        values = (widen_narrow_int(values) if values.dtype == torch.bool else values).to(x.device)
    out = torch.zeros(x.shape[:-1] + (length,), dtype=values.dtype, device=x.device)
    return out.scatter_add_(-1, x.to(torch.int64), values)


def corrcoef(x):
    """Pearson correlation coefficients of the rows (variables) of a 1-D or 2-D tensor."""
    x = to_float(x)
    if x.ndim > 2:
        raise ValueError(f"`corrcoef` takes a 1-D or 2-D tensor. Received shape {tuple(x.shape)}")
    if x.dtype in (torch.float16, torch.bfloat16):
        return torch.corrcoef(x.float()).to(x.dtype)
    return torch.corrcoef(x)


__all__ = public_names(globals(), __name__)
