"""Core tensor functions (``keras.ops`` core): conversion, casting, shapes, slicing and scatter."""

import builtins

import numpy as np
import torch

from lamina.backend import core as _backend_core
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.ops._utils import canonical_axis, promote, public_names, tensor


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Convert a NumPy array, Python value or tensor to a torch tensor.

    Args:
        x: The value to convert.
        dtype: Target dtype name (e.g. ``"float32"``); by default floats become ``floatx()`` and
            integer and boolean data keep their kind.
        sparse: Only ``None``/``False`` is supported: torch tensors here are dense.
        ragged: Only ``None``/``False`` is supported.

    Returns:
        A torch tensor on the configured device.
    """
    if sparse:
        raise ValueError("`sparse=True` is not supported: Lamina tensors are dense torch tensors.")
    if ragged:
        raise ValueError("`ragged=True` is not supported: Lamina tensors are dense torch tensors.")
    return tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """Return ``x`` as a NumPy array (tensors are detached and copied to the CPU)."""
    return _backend_core.convert_to_numpy(x)


def is_tensor(x):
    """Whether ``x`` is a torch tensor."""
    return isinstance(x, torch.Tensor)


def cast(x, dtype):
    """Cast ``x`` to ``dtype`` (a Keras dtype name, NumPy or torch dtype)."""
    return tensor(x).to(to_torch_dtype(dtype))


def dtype(x):
    """The dtype of ``x`` as a Keras dtype name, e.g. ``"float32"``."""
    if isinstance(x, torch.Tensor):
        return standardize_dtype(x.dtype)
    return standardize_dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)


def shape(x):
    """The shape of ``x`` as a tuple (entries may be ``None`` for symbolic tensors)."""
    if hasattr(x, "shape"):
        return tuple(None if d is None else int(d) for d in x.shape)
    return tuple(np.shape(x))


def stop_gradient(variable):
    """A tensor with the value of ``variable`` through which no gradient flows."""
    return tensor(variable).detach()


def unstack(x, num=None, axis=0):
    """Split ``x`` along ``axis`` into a list of tensors with that axis removed."""
    x = tensor(x)
    dim = canonical_axis(axis, x.ndim)
    if num is not None and num != x.shape[dim]:
        raise ValueError(f"`num`={num} does not match the size {x.shape[dim]} of axis {axis}.")
    return list(torch.unbind(x, dim=dim))


def _window(start_indices, sizes):
    return tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, sizes))


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices`` (one per axis)."""
    x = tensor(inputs)
    if len(start_indices) != x.ndim or len(shape) != x.ndim:
        raise ValueError(
            f"`start_indices` and `shape` need one entry per axis ({x.ndim}). "
            f"Received: start_indices={start_indices}, shape={shape}"
        )
    return x[_window(start_indices, shape)]


def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the block starting at ``start_indices`` replaced by ``updates``."""
    x, updates = promote(inputs, updates)
    out = x.clone()
    out[_window(start_indices, updates.shape)] = updates
    return out


def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (repeated indices sum).

    ``indices`` has shape ``(N, k)``: each row addresses the first ``k`` axes of the result.
    """
    values = tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    idx = tensor(indices).to(device=values.device, dtype=torch.int64)
    return out.index_put(tuple(idx.unbind(-1)), values, accumulate=True)


def scatter_update(inputs, indices, updates):
    """A copy of ``inputs`` with the entries at ``indices`` (shape ``(N, k)``) set to ``updates``."""
    x, updates = promote(inputs, updates)
    idx = tensor(indices).to(device=x.device, dtype=torch.int64)
    return x.index_put(tuple(idx.unbind(-1)), updates)


def _dtype_range(dtype):
    if dtype == torch.bool:
        return 0, 1
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min, info.max


def saturate_cast(x, dtype):
    """Cast ``x`` to ``dtype``, clipping values to the range of ``dtype`` first.

    A plain cast of ``300.0`` to uint8 wraps around; this gives 255. Limits that the input dtype
    cannot represent exactly are nudged inward (toward 0), so the cast never overflows.
    """
    x = tensor(x)
    target = to_torch_dtype(dtype)
    in_min, in_max = _dtype_range(x.dtype)
    out_min, out_max = _dtype_range(target)
    lo = torch.tensor(builtins.max(in_min, out_min), dtype=x.dtype)
    hi = torch.tensor(builtins.min(in_max, out_max), dtype=x.dtype)
    if x.is_floating_point():
        zero = torch.zeros((), dtype=x.dtype)
        if float(lo) < out_min:
            lo = torch.nextafter(lo, zero)
        if float(hi) > out_max:
            hi = torch.nextafter(hi, zero)
    if x.dtype == torch.bool:
        return x.to(target)
    return torch.clamp(x, lo.to(x.device), hi.to(x.device)).to(target)


__all__ = public_names(globals(), __name__)
