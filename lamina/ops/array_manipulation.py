"""Array manipulation: shapes, axes, joining and splitting, padding and indexing (NumPy's "array
manipulation routines" as ``keras.ops`` offers them; re-exported by ``lamina.ops.numpy``)."""

import torch
import torch.nn.functional as F

from lamina.ops._utils import canonical_axes, canonical_axis, promote, public_names, reduce_dims, tensor

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def ndim(x):
    """Number of axes of ``x`` (a Python int)."""
    return tensor(x).ndim


def size(x):
    """Number of elements of ``x`` (a Python int)."""
    return tensor(x).numel()


def reshape(x, newshape):
    """Give ``x`` a new shape with the same number of elements (one entry may be ``-1``)."""
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    return torch.reshape(tensor(x), newshape)


def ravel(x):
    """Flatten ``x`` to one axis."""
    return torch.ravel(tensor(x))


def transpose(x, axes=None):
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    x = tensor(x)
    if axes is None:
        return x.permute(*reversed(range(x.ndim)))
    axes = tuple(axes)
    if len(axes) != x.ndim or sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"`axes` must be a permutation of the {x.ndim} axes of `x`. Received: axes={axes}")
    return x.permute(*axes)


def expand_dims(x, axis):
    """Insert size-1 axes at the positions ``axis`` (an int or tuple) of the result."""
    x = tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in canonical_axes(axes, x.ndim + len(axes)):
        x = x.unsqueeze(a)
    return x


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``, which must have size 1)."""
    x = tensor(x)
    if axis is None:
        return torch.squeeze(x)
    axes = canonical_axes(axis, x.ndim)
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ValueError(
            f"Cannot squeeze axis {bad[0]} of a tensor of shape {tuple(x.shape)}: its size is not 1."
        )
    return x.squeeze(axes) if axes else x


def moveaxis(x, source, destination):
    """Move axes of ``x`` from ``source`` to ``destination`` (ints or tuples of ints)."""
    return torch.movedim(tensor(x), source, destination)


def swapaxes(x, axis1, axis2):
    """Interchange two axes of ``x``."""
    return torch.swapaxes(tensor(x), axis1, axis2)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (a read-only view: copy it before writing in place)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return torch.broadcast_to(tensor(x), shape)


def concatenate(xs, axis=0):
    """Join a sequence of tensors along an existing axis."""
    xs = promote(*xs)
    return torch.cat(xs, dim=canonical_axis(axis, xs[0].ndim))


def stack(x, axis=0):
    """Join a sequence of same-shape tensors along a new axis."""
    xs = promote(*x)
    return torch.stack(xs, dim=axis)


def split(x, indices_or_sections, axis=0):
    """Split ``x`` into a list of tensors along ``axis``.

    Args:
        x: Tensor to split.
        indices_or_sections: An int ``N`` (``N`` equal parts; the axis size must be divisible by
            ``N``) or a sorted sequence of split positions.
        axis: Axis to split along.

    Returns:
        A list of tensors.
    """
    x = tensor(x)
    dim = canonical_axis(axis, x.ndim)
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or x.shape[dim] % indices_or_sections:
            raise ValueError(
                f"`indices_or_sections`={indices_or_sections} does not divide axis {dim} "
                f"of size {x.shape[dim]} into equal parts."
            )
        return list(torch.tensor_split(x, indices_or_sections, dim=dim))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=dim))


def tile(x, repeats):
    """Repeat the whole of ``x`` ``repeats`` times along each axis (NumPy ``tile``)."""
    repeats = (repeats,) if isinstance(repeats, int) else tuple(int(r) for r in repeats)
    return torch.tile(tensor(x), repeats)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened tensor when ``None``).
    ``repeats`` is an int or one count per element along the axis."""
    x = tensor(x)
    if not isinstance(repeats, int):
        repeats = tensor(repeats).to(device=x.device, dtype=torch.int64)
    dim = None if axis is None else canonical_axis(axis, x.ndim)
    return torch.repeat_interleave(x, repeats, dim=dim)


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when ``None``)."""
    x = tensor(x)
    return torch.flip(x, dims=reduce_dims(x, axis))


def roll(x, shift, axis=None):
    """Shift elements cyclically along ``axis`` (of the flattened tensor when ``None``)."""
    return torch.roll(tensor(x), shifts=shift, dims=axis)


def tril(x, k=0):
    """Lower triangle of the last two axes (entries above the ``k``-th diagonal are zeroed)."""
    return torch.tril(tensor(x), diagonal=k)


def triu(x, k=0):
    """Upper triangle of the last two axes (entries below the ``k``-th diagonal are zeroed)."""
    return torch.triu(tensor(x), diagonal=k)


def _pad_index(mode, n, before, after, device):
    """Source indices along one axis for the non-constant padding modes."""
    i = torch.arange(-before, n + after, device=device)
    if mode == "edge":
        return i.clamp(0, n - 1)
    if mode == "wrap":
        return i.remainder(n)
    if mode == "reflect":
        if n == 1:
            return torch.zeros_like(i)
        j = i.remainder(2 * n - 2)
        return torch.where(j >= n, 2 * n - 2 - j, j)
    j = i.remainder(2 * n)  # symmetric: the edge value is repeated
    return torch.where(j >= n, 2 * n - 1 - j, j)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad a tensor.

    Args:
        x: Tensor to pad.
        pad_width: Number of values padded to the edges of each axis: an int (all sides), a pair
            ``(before, after)`` for every axis, or one ``(before, after)`` pair per axis.
        mode: One of ``"constant"``, ``"edge"``, ``"reflect"``, ``"symmetric"``, ``"wrap"``.
        constant_values: Fill value for ``mode="constant"`` (default 0).

    Returns:
        The padded tensor.
    """
    x = tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"Invalid `mode`: {mode!r}. Expected one of {_PAD_MODES}.")
    if constant_values is not None and mode != "constant":
        raise ValueError(f"`constant_values` is only allowed with mode='constant'. Received: mode={mode!r}")
    widths = _pad_widths(pad_width, x.ndim)
    if mode == "constant":
        flat = [w for pair in reversed(widths) for w in pair]  # F.pad wants the last axis first
        value = 0 if constant_values is None else constant_values
        return F.pad(x, flat, mode="constant", value=value)
    for axis, (before, after) in enumerate(widths):
        if before or after:
            if x.shape[axis] == 0:
                raise ValueError(f"Cannot pad an empty axis ({axis}) with mode={mode!r}.")
            x = torch.index_select(x, axis, _pad_index(mode, x.shape[axis], before, after, x.device))
    return x


def _pad_widths(pad_width, ndim):
    if hasattr(pad_width, "tolist"):
        pad_width = pad_width.tolist()
    if isinstance(pad_width, int):
        widths = [(pad_width, pad_width)] * ndim
    else:
        pw = [tuple(p) if isinstance(p, (list, tuple)) else p for p in pad_width]
        if all(isinstance(p, int) for p in pw) and len(pw) in (1, 2):
            widths = [(pw[0], pw[-1])] * ndim
        elif len(pw) == 1:
            widths = [tuple(pw[0]) * (2 // len(pw[0]))] * ndim
        elif len(pw) == ndim:
            widths = [tuple(p) * (2 // len(p)) for p in pw]
        else:
            raise ValueError(f"`pad_width` {pad_width!r} does not match a tensor of rank {ndim}.")
    if any(len(p) != 2 or min(p) < 0 for p in widths):
        raise ValueError(f"`pad_width` must hold non-negative (before, after) pairs. Received: {pad_width!r}")
    return [tuple(int(v) for v in p) for p in widths]


def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when ``None``).
    Negative indices count from the end."""
    x = tensor(x)
    if axis is None:
        x, dim = x.reshape(-1), 0
    else:
        dim = canonical_axis(axis, x.ndim)
    idx = tensor(indices).to(device=x.device, dtype=torch.int64)
    n = x.shape[dim]
    flat = torch.where(idx < 0, idx + n, idx).reshape(-1)
    out = torch.index_select(x, dim, flat)
    return out.reshape(x.shape[:dim] + idx.shape + x.shape[dim + 1:])


def take_along_axis(x, indices, axis=None):
    """Pick values of ``x`` with an index tensor that matches ``x`` except along ``axis``
    (NumPy ``take_along_axis``; other axes broadcast)."""
    x = tensor(x)
    idx = tensor(indices).to(device=x.device, dtype=torch.int64)
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"`indices` must be 1-D when `axis` is None. Received shape {tuple(idx.shape)}")
        x, dim = x.reshape(-1), 0
    else:
        dim = canonical_axis(axis, x.ndim)
    idx = torch.where(idx < 0, idx + x.shape[dim], idx)
    return torch.take_along_dim(x, idx, dim=dim)


__all__ = public_names(globals(), __name__)
