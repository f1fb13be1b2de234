"""Shared argument handling for the ops modules: conversion, dtype promotion and axis arguments.

Keras promotes dtypes like JAX does: Python scalars are "weak" (``float32_tensor + 1.0`` stays
float32, ``int_tensor * 2.5`` becomes ``floatx()``), and functions that only make sense on real
numbers (``sqrt``, ``mean``, ``softmax``, ...) turn integer and boolean inputs into ``floatx()``.
Torch's own promotion already treats Python scalars as weak, so these helpers only decide when to
convert and which dtype to ask for.
"""

import numbers

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype

# Keras (like NumPy) sums and multiplies narrow integers in at least 32 bits.
_NARROW_INTS = (torch.bool, torch.uint8, torch.int8, torch.int16)


def is_python_scalar(x):
    """True for Python (and NumPy scalar) numbers, which take part in promotion weakly."""
    return isinstance(x, (numbers.Number, bool)) and not isinstance(x, torch.Tensor)


def tensor(x, dtype=None):
    """Convert ``x`` once to a torch tensor (``dtype`` given as a Keras dtype name or ``None``)."""
    if dtype is None and type(x) is torch.Tensor:
        return x  # the common case inside layer calls: nothing to convert
    t = convert_to_tensor(x, dtype=dtype)
    if t.ndim == 1 and not isinstance(x, torch.Tensor) and np.ndim(x) == 0:
        # Scalars must stay 0-d (the backend conversion can hand them back with shape (1,)).
        t = t.reshape(())
    return t


def floatx_dtype():
    return to_torch_dtype(config.floatx())


def to_float(x):
    """``x`` as a tensor with a floating dtype: integer and boolean data become ``floatx()``."""
    x = tensor(x)
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(floatx_dtype())


def widen_narrow_int(x):
    """Booleans and integers narrower than 32 bits become int32 before accumulating."""
    return x.to(torch.int32) if x.dtype in _NARROW_INTS else x


def promote(*values, force_float=False):
    """Convert ``values`` to tensors of one common dtype, on one device.

    Python scalars do not widen the dtype of tensor operands. With ``force_float``, an integer or
    boolean result type becomes ``floatx()`` (as Keras does for true division).
    """
    converted = [v if isinstance(v, torch.Tensor) or is_python_scalar(v) else tensor(v) for v in values]
    # Operands follow the first tensor's device (scalars and converted arrays start on the default).
    anchor = next((v for v in values if isinstance(v, torch.Tensor)), None)
    if anchor is None:
        anchor = next((v for v in converted if isinstance(v, torch.Tensor)), None)
    dtype = _result_type(converted)
    if force_float and not (dtype.is_floating_point or dtype.is_complex):
        dtype = floatx_dtype()
    device = anchor.device if anchor is not None else config.get_device()
    out = []
    for v in converted:
        if isinstance(v, torch.Tensor):
            out.append(v.to(dtype=dtype, device=device) if v.dtype != dtype or v.device != device else v)
        else:
            out.append(torch.as_tensor(v, dtype=dtype, device=device))
    return out


def _result_type(values):
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    scalars = [v for v in values if not isinstance(v, torch.Tensor)]
    if not tensors:
        if any(isinstance(s, complex) for s in scalars):
            return torch.complex64
        if any(isinstance(s, float) for s in scalars):
            return floatx_dtype()
        if all(isinstance(s, bool) for s in scalars):
            return torch.bool
        return torch.int64
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    for s in scalars:
        # Against a (1,)-shaped stand-in, torch treats the Python scalar as weak (`tensor + 1.5`).
        probe = torch.empty((1,), dtype=dtype, device="meta")
        dtype = torch.result_type(probe, s)
    return dtype


def canonical_axes(axis, ndim, name="axis"):
    """Turn an ``axis`` argument (``None``, int or sequence of ints) into a sorted tuple of
    non-negative ints, or ``None`` for "all axes". Raises ``ValueError`` for out-of-range or
    repeated axes."""
    if axis is None:
        return None
    # A lone non-integer (``1.5``) is reported as a bad axis below, not as "not iterable".
    iterable = hasattr(axis, "__iter__") and not hasattr(axis, "__index__")
    axes = tuple(axis) if iterable else (axis,)
    out = []
    for a in axes:
        if not hasattr(a, "__index__") or isinstance(a, bool):
            raise ValueError(f"Invalid `{name}`: {axis!r}. Expected an int, a tuple of ints or None.")
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(
                f"Invalid `{name}` {axis!r} for a tensor of rank {ndim}: "
                f"expected values in [{-ndim}, {ndim})."
            )
        out.append(a % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"Repeated axis in `{name}`: {axis!r}.")
    return tuple(sorted(out))


def canonical_axis(axis, ndim, name="axis"):
    """A single axis as a non-negative int (``ValueError`` when out of range)."""
    if not hasattr(axis, "__index__") or isinstance(axis, bool):
        raise ValueError(f"Invalid `{name}`: {axis!r}. Expected an int.")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"Invalid `{name}` {axis} for a tensor of rank {ndim}: expected a value in [{-ndim}, {ndim})."
        )
    return axis % ndim


def reduce_dims(x, axis):
    """The ``dim`` argument for torch reductions: a tuple of axes (all axes when ``axis`` is None)."""
    axes = canonical_axes(axis, x.ndim)
    return tuple(range(x.ndim)) if axes is None else axes


def dtype_or_floatx(dtype):
    """The torch dtype for a creation function: ``None`` means ``floatx()``."""
    return floatx_dtype() if dtype is None else to_torch_dtype(dtype)


def public_names(namespace, module_name):
    """The functions a module defines itself (its ``__all__``), leaving out imported helpers."""
    return sorted(
        name
        for name, obj in namespace.items()
        if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module_name
    )


def check_same_shape(target, output):
    """Raise a ``ValueError`` naming both shapes unless ``target`` and ``output`` have the same shape."""
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


def is_int(value):
    """Whether ``value`` is a Python or NumPy integer (``True``/``False`` are not)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
