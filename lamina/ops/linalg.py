"""Linear algebra (``keras.ops`` linalg): norms."""

import math

import torch

from lamina.ops._utils import canonical_axes, public_names, to_float

_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as NumPy's ``linalg.norm``.

    Args:
        x: Input tensor.
        ord: Order of the norm. For vectors (an int ``axis``): any number, ``inf`` or ``-inf``
            (``None`` is the 2-norm). For matrices (a pair of axes): ``"fro"``, ``"nuc"``, ``1``,
            ``-1``, ``2``, ``-2``, ``inf`` or ``-inf`` (``None`` is the Frobenius norm).
        axis: An int (vector norm), a pair of ints (matrix norm) or ``None``: the 2-norm of the
            flattened ``x`` when ``ord`` is ``None``, else a vector or matrix norm of a 1-D or
            2-D ``x``.
        keepdims: Keep the reduced axes with size 1.

    Returns:
        The norm, in ``floatx()`` for integer inputs.
    """
    x = to_float(x)
    if axis is None:
        if ord is None:
            flat = torch.linalg.vector_norm(x)
            return flat.reshape((1,) * x.ndim) if keepdims else flat
        if x.ndim not in (1, 2):
            raise ValueError(f"`axis` is needed for a norm with `ord` of a tensor of rank {x.ndim}.")
        axis = tuple(range(x.ndim))
    dims = (axis,) if isinstance(axis, int) else tuple(axis)
    canonical_axes(dims, x.ndim)  # validates range and repeats
    # Keep the caller's order: for the 1 and inf matrix norms it says which axis holds the rows.
    dims = tuple(int(d) % x.ndim for d in dims)
    if len(dims) not in (1, 2):
        raise ValueError(f"`axis` must be an int or a pair of ints. Received: axis={axis!r}")
    if len(dims) == 1:
        if isinstance(ord, str):
            raise ValueError(f"Invalid `ord` {ord!r} for a vector norm: expected a number.")
        return torch.linalg.vector_norm(x, ord=2 if ord is None else ord, dim=dims, keepdim=keepdims)
    if ord is not None and ord not in _MATRIX_ORDS:
        raise ValueError(f"Invalid `ord` {ord!r} for a matrix norm: expected one of {_MATRIX_ORDS}.")
    return torch.linalg.matrix_norm(x, ord="fro" if ord is None else ord, dim=dims, keepdim=keepdims)

__all__ = public_names(globals(), __name__)
