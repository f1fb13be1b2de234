"""More array creation: ``array``, ``empty``/``empty_like``, ``tri``, log-spaced ranges
(``logspace``, ``geomspace``) and coordinate grids (``meshgrid``) (re-exported by
``lamina.ops.numpy``). Without a ``dtype``, results are ``floatx()`` as in Keras."""

import torch

from lamina.backend.config import get_device
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import dtype_or_floatx, public_names, tensor
from lamina.ops.array_creation import linspace, zeros

_MESHGRID_INDEXING = ("xy", "ij")


def array(x, dtype=None):
    """A new tensor holding the data of ``x`` (converted to ``dtype`` when given)."""
    out = tensor(x, dtype=dtype)
    return out.clone() if out is x else out


def empty(shape, dtype=None):
    """A tensor of ``shape`` whose values are not to be relied on (zeros here, as Keras's JAX
    backend gives: deterministic and cheap)."""
    return zeros(shape, dtype=dtype)


def empty_like(x, dtype=None):
    """A tensor with the shape (and, unless ``dtype`` is given, the dtype) of ``x``, values not to be
    relied on (zeros here)."""
    x = tensor(x)
    return torch.zeros_like(x, dtype=None if dtype is None else to_torch_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):
    """An ``N`` x ``M`` tensor with ones at and below the ``k``-th diagonal, zeros above."""
    M = N if M is None else M
    rows = torch.arange(N, device=get_device()).unsqueeze(1)
    cols = torch.arange(M, device=get_device()).unsqueeze(0)
    return (cols - rows <= k).to(dtype_or_floatx(dtype))


def _cast_samples(samples, dtype):
    out = dtype_or_floatx(dtype)
    if not (out.is_floating_point or out.is_complex):
        # Integer results round: 10 ** 2 computed in floats may land just below 100.
        samples = torch.round(samples)
    return samples.to(out)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``num`` samples ``base ** t`` for ``t`` evenly spaced from ``start`` to ``stop`` (included
    when ``endpoint``); tensor ``start``/``stop`` give samples along ``axis``."""
    exponents = linspace(start, stop, num, endpoint=endpoint, dtype="float64", axis=axis)
    return _cast_samples(torch.pow(torch.as_tensor(base, dtype=torch.float64), exponents), dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` samples evenly spaced on a log scale from ``start`` to ``stop`` (a geometric
    progression; both ends must be non-zero and of the same sign)."""
    start, stop = (tensor(v).to(torch.float64) for v in (start, stop))
    sign = torch.sign(start)
    log_start, log_stop = torch.log(start * sign), torch.log(stop * sign)
    samples = torch.exp(linspace(log_start, log_stop, num, endpoint=endpoint, dtype="float64", axis=0))
    # Pin the ends exactly, which exp(log(.)) only approximates.
    if num > 0:
        samples[0] = start * sign
        if endpoint and num > 1:
            samples[-1] = stop * sign
    samples = torch.movedim(samples * sign, 0, axis)
    return _cast_samples(samples, dtype)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors (each output keeps its input's dtype).

    Args:
        *x: 1-D tensors of coordinates.
        indexing: ``"xy"`` (Cartesian: the first two output axes swapped) or ``"ij"`` (matrix).

    Returns:
        A list of tensors of the grid's shape, one per input.
    """
    if indexing not in _MESHGRID_INDEXING:
        raise ValueError(f"Invalid `indexing`: {indexing!r}. Expected one of {_MESHGRID_INDEXING}.")
    xs = [tensor(v).reshape(-1) for v in x]
    shape = [v.shape[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, v in enumerate(xs):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and len(xs) > 1 else i
        view = v.reshape([-1 if d == axis else 1 for d in range(len(xs))])
        out.append(torch.broadcast_to(view, shape).contiguous())
    return out


__all__ = public_names(globals(), __name__)
