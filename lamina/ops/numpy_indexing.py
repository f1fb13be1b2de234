"""Indexing and searching: ``get_item``, ``select``, ``nonzero``, ``unravel_index``,
``searchsorted``, ``digitize``, ``argpartition``, ``unique`` and ``isin``'s neighbours
(re-exported by ``lamina.ops.numpy``). Index results are int32, as in Keras."""

import torch

from lamina.ops._utils import canonical_axis, promote, public_names, tensor

_SIDES = ("left", "right")


def get_item(x, key):
    """``x[key]`` (a JSON list key, as saved files hold them, means a tuple of indices)."""
    if isinstance(key, list):
        key = tuple(key)
    return tensor(x)[key]


def select(condlist, choicelist, default=0):
    """Pick, element by element, from the first choice whose condition holds, else ``default``.

    Args:
        condlist: List of boolean tensors.
        choicelist: List of tensors, one per condition (all broadcast together).
        default: Value where no condition holds.

    Returns:
        A tensor of the broadcast shape and the promoted dtype of the choices and ``default``.
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            "`condlist` and `choicelist` must have the same length. "
            f"Received {len(condlist)} and {len(choicelist)}."
        )
    if not condlist:
        raise ValueError("`select` needs at least one condition.")
    *choices, default = promote(*choicelist, default)
    conds = [tensor(c).to(device=default.device, dtype=torch.bool) for c in condlist]
    out = default
    # The first true condition wins: apply them from the last to the first.
    for cond, choice in zip(reversed(conds), reversed(choices)):
        out = torch.where(cond, choice, out)
    shape = torch.broadcast_shapes(*(t.shape for t in conds + choices + [default]))
    return torch.broadcast_to(out, shape)


def nonzero(x):
    """Indices (a tuple of int32 tensors, one per axis) of the non-zero elements of ``x``."""
    return tuple(i.to(torch.int32) for i in torch.nonzero(tensor(x), as_tuple=True))


def unravel_index(indices, shape):
    """Convert flat indices into a tuple of int32 coordinate tensors for a tensor of ``shape``."""
    flat = tensor(indices)
    if flat.is_floating_point() or flat.dtype == torch.bool:
        raise ValueError(f"`indices` must be integers. Received dtype {flat.dtype}.")
    flat = flat.to(torch.int64)
    coords = []
    for size in reversed(tuple(int(d) for d in shape)):
        coords.append(torch.remainder(flat, size).to(torch.int32))
        flat = torch.div(flat, size, rounding_mode="floor")
    return tuple(reversed(coords))


def _sortable(*values):
    out = promote(*values)
    # torch has no boolean sort kernels.
    return [v.to(torch.uint8) if v.dtype == torch.bool else v for v in out]


def searchsorted(sorted_sequence, values, side="left"):
    """Indices (int32) where ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep
    it sorted: before equal entries (``side="left"``) or after them (``"right"``)."""
    if side not in _SIDES:
        raise ValueError(f"Invalid `side`: {side!r}. Expected one of {_SIDES}.")
    seq, values = _sortable(sorted_sequence, values)
    if seq.ndim != 1:
        raise ValueError(f"`sorted_sequence` must be 1-D. Received shape {tuple(seq.shape)}")
    return torch.searchsorted(seq, values.contiguous(), right=side == "right").to(torch.int32)


def digitize(x, bins):
    """Index (int32) of the bin of each value: ``i`` with ``bins[i-1] <= x < bins[i]`` for
    increasing ``bins``, ``bins[i-1] > x >= bins[i]`` for decreasing ones."""
    x, bins = _sortable(x, bins)
    if bins.ndim != 1:
        raise ValueError(f"`bins` must be 1-D. Received shape {tuple(bins.shape)}")
    x = x.contiguous()
    rising = torch.searchsorted(bins, x, right=True)
    falling = bins.shape[0] - torch.searchsorted(bins.flip(0), x, right=True)
    # Decide on the device (no host sync): the bins rise unless the last is below the first.
    increasing = bins[-1] >= bins[0] if bins.shape[0] else torch.tensor(True, device=x.device)
    return torch.where(increasing, rising, falling).to(torch.int32)


def argpartition(x, kth, axis=-1):
    """Indices (int32) that partition ``x`` along ``axis`` around its ``kth`` smallest element.

    The first ``kth + 1`` indices point at the smallest values in ascending order (ties in index
    order) and the rest follow in their original order, as Keras on JAX returns them.
    """
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    dim = canonical_axis(axis, x.ndim)
    n = x.shape[dim]
    if not -n <= kth < n:
        raise ValueError(f"`kth` {kth} is out of range for an axis of size {n}.")
    kth = kth % n
    order = torch.argsort(x, dim=dim, stable=True)
    positions = torch.arange(n, device=x.device).reshape([-1 if d == dim else 1 for d in range(x.ndim)])
    rank = torch.empty_like(order).scatter_(dim, order, positions.expand_as(order))
    key = torch.where(rank <= kth, rank, kth + 1 + positions)
    return torch.argsort(key, dim=dim, stable=True).to(torch.int32)


def unique(
    x,
    sorted=True,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """The sorted unique elements of ``x`` (or unique slices along ``axis``).

    Args:
        x: Input tensor.
        sorted: Accepted for NumPy compatibility; results are always sorted.
        return_index: Also return the (int32) index of each unique value's first occurrence.
        return_inverse: Also return the (int32) indices that rebuild ``x`` from the unique values
            (the shape of ``x`` when ``axis`` is None).
        return_counts: Also return the (int32) number of occurrences of each unique value.
        axis: Axis whose slices are compared (``None``: the flattened elements).
        size: Pad (or cut) the result to this many unique values, for static shapes.
        fill_value: Padding value (default: the smallest unique value; counts are padded with 0).

    Returns:
        The unique values, or a tuple ``(values, [index], [inverse], [counts])``.
    """
    x = tensor(x)
    dim = None if axis is None else canonical_axis(axis, x.ndim)
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=dim)
    n = x.numel() if dim is None else x.shape[dim]
    flat_inverse = inverse.reshape(-1)
    first = torch.full((counts.shape[0],), n, dtype=torch.int64, device=x.device)
    first = first.scatter_reduce(0, flat_inverse, torch.arange(n, device=x.device), reduce="amin")
    if size is not None:
        values, first, counts = (
            _fit(values, size, fill_value, dim or 0),
            _fit(first, size, None, 0),
            _fit(counts, size, 0, 0),
        )
    extra = []
    if return_index:
        extra.append(first.to(torch.int32))
    if return_inverse:
        extra.append(inverse.reshape(x.shape if dim is None else (-1,)).to(torch.int32))
    if return_counts:
        extra.append(counts.to(torch.int32))
    return (values, *extra) if extra else values


def _fit(t, size, fill_value, dim):
    """``t`` cut or padded along ``dim`` to ``size`` entries (padding: ``fill_value``, or the
    first entry)."""
    have = t.shape[dim]
    if have >= size:
        return t.narrow(dim, 0, size)
    if fill_value is None:
        pad = t.narrow(dim, 0, 1)
    else:
        pad = torch.full_like(t.narrow(dim, 0, 1), fill_value)
    reps = [1] * t.ndim
    reps[dim] = size - have
    return torch.cat([t, pad.repeat(reps)], dim=dim)


__all__ = public_names(globals(), __name__)
