"""Bitwise operations on integer and boolean tensors, and ``view`` (their bits reinterpreted as
another dtype) (re-exported by ``lamina.ops.numpy``).

Operands are promoted like any binary op (Python ints are weak: ``int8_tensor & 3`` stays int8).
Shifts treat booleans as int32, as Keras does; floats are refused.
"""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import promote, public_names, tensor


def _integer_operands(name, *values):
    out = promote(*values)
    for v in out:
        if v.is_floating_point() or v.is_complex():
            raise ValueError(f"`{name}` takes integer or boolean tensors. Received dtype {v.dtype}.")
    return out


def bitwise_and(x, y):
    """Element-wise bit-wise AND (logical AND for booleans)."""
    return torch.bitwise_and(*_integer_operands("bitwise_and", x, y))


def bitwise_or(x, y):
    """Element-wise bit-wise OR (logical OR for booleans)."""
    return torch.bitwise_or(*_integer_operands("bitwise_or", x, y))


def bitwise_xor(x, y):
    """Element-wise bit-wise XOR (logical XOR for booleans)."""
    return torch.bitwise_xor(*_integer_operands("bitwise_xor", x, y))


def bitwise_invert(x):
    """Element-wise bit-wise inversion (``~x``; logical NOT for booleans)."""
    (x,) = _integer_operands("bitwise_invert", tensor(x))
    return torch.bitwise_not(x)


def bitwise_not(x):
    """Element-wise bit-wise inversion (alias of ``bitwise_invert``)."""
    return bitwise_invert(x)


def _shift_operands(name, x, y):
    x, y = _integer_operands(name, x, y)
    if x.dtype == torch.bool:
        x, y = x.to(torch.int32), y.to(torch.int32)
    return x, y


def bitwise_left_shift(x, y):
    """Shift the bits of ``x`` left by ``y`` places (``x << y``)."""
    return torch.bitwise_left_shift(*_shift_operands("bitwise_left_shift", x, y))


def bitwise_right_shift(x, y):
    """Shift the bits of ``x`` right by ``y`` places (``x >> y``; arithmetic for signed integers)."""
    return torch.bitwise_right_shift(*_shift_operands("bitwise_right_shift", x, y))


def left_shift(x, y):
    """Shift the bits of ``x`` left by ``y`` places (alias of ``bitwise_left_shift``)."""
    return bitwise_left_shift(x, y)


def right_shift(x, y):
    """Shift the bits of ``x`` right by ``y`` places (alias of ``bitwise_right_shift``)."""
    return bitwise_right_shift(x, y)


def view(x, dtype=None):
    """Reinterpret the bits of ``x`` as ``dtype`` (no copy). A narrower dtype multiplies the last
    axis by the size ratio, a wider one divides it (the last axis must then be contiguous)."""
    x = tensor(x)
    return x if dtype is None else x.view(to_torch_dtype(dtype))


__all__ = public_names(globals(), __name__)
