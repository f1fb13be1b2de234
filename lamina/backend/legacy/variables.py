"""Keras 2 backend: variables, constants, values, shapes and random tensors."""

import numpy as np
import torch

from lamina import ops
from lamina.backend import config, random
from lamina.backend.core import convert_to_numpy, standardize_dtype
from lamina.backend.legacy._common import float_dtype
from lamina.backend.variables import Variable
from lamina.ops._utils import public_names, tensor


def variable(value, dtype=None, name=None, constraint=None):
    """A trainable ``lamina.Variable`` holding a copy of ``value`` in ``dtype`` (default
    ``floatx()``).

    ``constraint`` is not supported (Keras 2 optimizers applied it after each update); passing one
    raises ``ValueError``.
    """
    if constraint is not None:
        raise ValueError("`constraint` is not supported by `variable`; constrain the layer weight instead.")
    initial = tensor(value).to(float_dtype(dtype)).clone()
    return Variable(initializer=initial, dtype=standardize_dtype(initial.dtype), name=name)


def constant(value, dtype=None, shape=None, name=None):
    """A constant tensor; a scalar ``value`` is broadcast to ``shape`` when given."""
    t = tensor(value).to(float_dtype(dtype))
    if shape is None:
        return t
    shape = tuple(shape)
    if t.numel() == 1:
        return t.reshape(()).expand(shape).clone()
    return t.reshape(shape)


def zeros(shape, dtype=None, name=None):
    """A tensor of zeros (``floatx()`` by default)."""
    return ops.zeros(shape, dtype=standardize_dtype(dtype))


def ones(shape, dtype=None, name=None):
    """A tensor of ones (``floatx()`` by default)."""
    return ops.ones(shape, dtype=standardize_dtype(dtype))


def eye(size, dtype=None, name=None):
    """An identity matrix; ``size`` is an int or a ``(rows, columns)`` pair."""
    rows, cols = (size, size) if isinstance(size, int) else tuple(size)
    return ops.eye(rows, cols, dtype=standardize_dtype(dtype))


def zeros_like(x, dtype=None, name=None):
    """Zeros with the shape (and by default the dtype) of ``x``."""
    return ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    """Ones with the shape (and by default the dtype) of ``x``."""
    return ops.ones_like(x, dtype=dtype)


def identity(x, name=None):
    """A copy of ``x``."""
    return tensor(x).clone()


def arange(start, stop=None, step=1, dtype="int32"):
    """Values in ``[start, stop)``; a single negative argument gives an empty range."""
    if stop is None and start < 0:
        start = 0
    return ops.arange(start, stop, step, dtype=dtype)


def cast_to_floatx(x):
    """Cast to ``floatx()``: NumPy and Python values give a NumPy array, tensors a tensor."""
    if isinstance(x, torch.Tensor):
        return x.to(float_dtype(None))
    return np.asarray(x, dtype=config.floatx())


def get_value(x):
    """The value of a tensor or variable as a NumPy array (other values are returned as is)."""
    if isinstance(x, torch.Tensor) or hasattr(x, "_is_lamina_variable"):
        return convert_to_numpy(x)
    return x


eval = get_value


def batch_get_value(tensors):
    """``get_value`` of each tensor in a list."""
    return [get_value(t) for t in tensors]


def set_value(x, value):
    """Write ``value`` (same shape) into the variable or tensor ``x`` in place."""
    if hasattr(x, "assign"):
        x.assign(value)
        return
    value = tensor(value).to(device=x.device, dtype=x.dtype)
    if tuple(value.shape) != tuple(x.shape):
        raise ValueError(f"`value` of shape {tuple(value.shape)} does not match the shape {tuple(x.shape)}.")
    with torch.no_grad():
        x.copy_(value)


def batch_set_value(tuples):
    """``set_value`` for each ``(x, value)`` pair."""
    for x, value in tuples:
        set_value(x, value)


def update(x, new_x):
    """Set ``x`` to ``new_x`` in place and return ``x``."""
    set_value(x, new_x)
    return x


def update_add(x, increment):
    """Add ``increment`` to ``x`` in place and return ``x``."""
    set_value(x, get_value(x) + np.asarray(get_value(increment)))
    return x


def update_sub(x, decrement):
    """Subtract ``decrement`` from ``x`` in place and return ``x``."""
    set_value(x, get_value(x) - np.asarray(get_value(decrement)))
    return x


def count_params(x):
    """Number of scalars in ``x``."""
    return int(np.prod(int_shape(x)))


def print_tensor(x, message=""):
    """Print ``message`` and the value of ``x``, and return ``x``."""
    print(message, get_value(x))
    return x


# --------------------------------------------------------------------------- shapes and dtypes


def int_shape(x):
    """The shape of ``x`` as a tuple of ints, with ``None`` for unknown dimensions.

    Works on tensors, NumPy arrays, symbolic tensors and any object with a ``shape``.
    """
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    return tuple(None if d is None else int(d) for d in shape)


def shape(x):
    """The shape of ``x`` as an int32 tensor (a tuple with ``None`` entries when some dimensions
    are unknown, as for symbolic inputs)."""
    dims = int_shape(x)
    if any(d is None for d in dims):
        return dims
    return torch.tensor(dims, dtype=torch.int32)


def ndim(x):
    """Number of axes of ``x``."""
    return len(int_shape(x))


def dtype(x):
    """The dtype name of ``x``, e.g. ``"float32"``."""
    return standardize_dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)


# --------------------------------------------------------------------------- random tensors


def _generated(shape, fill, dtype, seed):
    out = torch.empty(tuple(shape), dtype=float_dtype(dtype))
    fill(out, random.make_generator(seed))
    return out.to(config.get_device())


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from ``U[minval, maxval)``."""
    return _generated(shape, lambda t, g: t.uniform_(minval, maxval, generator=g), dtype, seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from ``N(mean, stddev ** 2)``."""
    return _generated(shape, lambda t, g: t.normal_(mean, stddev, generator=g), dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples restricted to within two ``stddev`` of ``mean``."""
    low, high = mean - 2 * stddev, mean + 2 * stddev
    return _generated(
        shape, lambda t, g: torch.nn.init.trunc_normal_(t, mean, stddev, low, high, generator=g), dtype, seed
    )


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """Ones with probability ``p``, zeros otherwise."""
    return (random_uniform(shape, dtype=dtype, seed=seed) <= p).to(float_dtype(dtype))


random_binomial = random_bernoulli


__all__ = public_names(globals(), __name__)
