"""Joining and splitting along NumPy's named axes: ``append``, ``hstack``/``vstack``/``dstack``
and ``array_split``/``hsplit``/``vsplit``/``dsplit`` (re-exported by ``lamina.ops.numpy``)."""

import torch

from lamina.ops._utils import canonical_axis, promote, public_names, tensor
from lamina.ops.array_manipulation import split


def append(x1, x2, axis=None):
    """Join ``x2`` after ``x1`` along ``axis`` (both flattened when ``axis`` is None)."""
    x1, x2 = promote(x1, x2)
    if axis is None:
        return torch.cat([x1.reshape(-1), x2.reshape(-1)])
    return torch.cat([x1, x2], dim=canonical_axis(axis, x1.ndim))


def _joined(xs):
    if isinstance(xs, torch.Tensor) or not isinstance(xs, (list, tuple)):
        xs = list(tensor(xs))
    if not xs:
        raise ValueError("Need at least one tensor to join.")
    return promote(*xs)


def hstack(xs):
    """Join tensors along their second axis (the first for 1-D tensors)."""
    xs = _joined(xs)
    return torch.cat([x.reshape(1) if x.ndim == 0 else x for x in xs], dim=0 if xs[0].ndim <= 1 else 1)


def vstack(xs):
    """Join tensors along their first axis, 1-D tensors ``(N,)`` taken as rows ``(1, N)``."""
    return torch.cat([torch.atleast_2d(x) for x in _joined(xs)], dim=0)


def dstack(xs):
    """Join tensors along their third axis; ``(N,)`` is taken as ``(1, N, 1)``, ``(M, N)`` as
    ``(M, N, 1)``."""
    return torch.cat([torch.atleast_3d(x) for x in _joined(xs)], dim=2)


def array_split(x, indices_or_sections, axis=0):
    """Split ``x`` into a list of tensors along ``axis``; unlike ``split``, an int number of
    sections need not divide the axis (the first parts are one longer)."""
    x = tensor(x)
    dim = canonical_axis(axis, x.ndim)
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0:
            raise ValueError(f"`indices_or_sections` must be positive. Received: {indices_or_sections}")
        return list(torch.tensor_split(x, indices_or_sections, dim=dim))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=dim))


def hsplit(x, indices_or_sections):
    """``split`` along the second axis (the first for 1-D tensors)."""
    x = tensor(x)
    return split(x, indices_or_sections, axis=0 if x.ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    """``split`` along the first axis (``x`` must have at least 2 axes)."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"`vsplit` needs a tensor of rank >= 2. Received shape {tuple(x.shape)}")
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """``split`` along the third axis (``x`` must have at least 3 axes)."""
    x = tensor(x)
    if x.ndim < 3:
        raise ValueError(f"`dsplit` needs a tensor of rank >= 3. Received shape {tuple(x.shape)}")
    return split(x, indices_or_sections, axis=2)


__all__ = public_names(globals(), __name__)
