"""Array creation: filled tensors, ranges and identity matrices (re-exported by
``lamina.ops.numpy``). Without a ``dtype``, results are ``floatx()`` as in Keras, except ``arange``
of integers (int32) and the ``*_like`` functions (the dtype of ``x``)."""

import torch

from lamina.backend.config import get_device
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import dtype_or_floatx, floatx_dtype, public_names, tensor


def zeros(shape, dtype=None):
    """A tensor of zeros (``floatx()`` unless ``dtype`` is given)."""
    return torch.zeros(_shape(shape), dtype=dtype_or_floatx(dtype), device=get_device())


def ones(shape, dtype=None):
    """A tensor of ones (``floatx()`` unless ``dtype`` is given)."""
    return torch.ones(_shape(shape), dtype=dtype_or_floatx(dtype), device=get_device())


def full(shape, fill_value, dtype=None):
    """A tensor filled with ``fill_value`` (``floatx()`` unless ``dtype`` is given)."""
    value = tensor(fill_value).to(device=get_device(), dtype=dtype_or_floatx(dtype))
    return torch.broadcast_to(value, _shape(shape)).clone()


def zeros_like(x, dtype=None):
    """Zeros with the shape (and, unless ``dtype`` is given, the dtype) of ``x``."""
    x = tensor(x)
    return torch.zeros_like(x, dtype=None if dtype is None else to_torch_dtype(dtype))


def ones_like(x, dtype=None):
    """Ones with the shape (and, unless ``dtype`` is given, the dtype) of ``x``."""
    x = tensor(x)
    return torch.ones_like(x, dtype=None if dtype is None else to_torch_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    """``fill_value`` with the shape (and, unless ``dtype`` is given, the dtype) of ``x``."""
    x = tensor(x)
    dtype = x.dtype if dtype is None else to_torch_dtype(dtype)
    value = tensor(fill_value).to(device=x.device, dtype=dtype)
    return torch.broadcast_to(value, x.shape).clone()


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)``; int32 for integer arguments, else ``floatx()``."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("`step` must not be zero.")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, stop, step))
        torch_dtype = floatx_dtype() if is_float else torch.int32
    else:
        torch_dtype = to_torch_dtype(dtype)
    return torch.arange(start, stop, step, dtype=torch_dtype, device=get_device())


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced samples from ``start`` to ``stop`` (included when ``endpoint``).

    ``start`` and ``stop`` may be tensors; the samples then run along ``axis``. With ``retstep``,
    return ``(samples, step)``.
    """
    if num < 0:
        raise ValueError(f"`num` must be non-negative. Received: num={num}")
    out_dtype = dtype_or_floatx(dtype)
    start, stop = (tensor(v).to(torch.float64) for v in (start, stop))
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else torch.full_like(stop - start, float("nan"))
    shape = (-1,) + (1,) * start.ndim
    t = torch.arange(num, dtype=torch.float64, device=start.device).reshape(shape)
    samples = start + t * step if div > 0 else start + t * (stop - start)
    if endpoint and num > 1:
        samples[-1] = stop
    samples = torch.movedim(samples, 0, axis).to(out_dtype)
    return (samples, step.to(out_dtype)) if retstep else samples


def eye(N, M=None, k=0, dtype=None):
    """A 2-D tensor with ones on the ``k``-th diagonal and zeros elsewhere."""
    M = N if M is None else M
    rows = torch.arange(N, device=get_device()).unsqueeze(1)
    cols = torch.arange(M, device=get_device()).unsqueeze(0)
    return (cols - rows == k).to(dtype_or_floatx(dtype))


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix."""
    return eye(n, dtype=dtype)


def _shape(shape):
    if isinstance(shape, int) or hasattr(shape, "__index__"):
        return (int(shape),)
    return tuple(int(d) for d in shape)


__all__ = public_names(globals(), __name__)
