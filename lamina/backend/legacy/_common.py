"""Helpers shared by the Keras 2 backend modules."""

import functools

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._symbolic import holds_keras_tensor
from lamina.ops._utils import tensor


def float_dtype(dtype):
    """The torch dtype for ``dtype``, with ``None`` meaning ``floatx()``."""
    return to_torch_dtype(config.floatx() if dtype is None else dtype)


def real(x):
    """``x`` as a floating tensor: booleans become ``floatx()`` before statistics, as in Keras 2, and
    so do integers, whose mean would otherwise be truncated."""
    if getattr(x, "_is_keras_tensor", False):
        # A symbolic tensor (``K.mean(z)`` in a functional graph) stays symbolic: the cast is a node.
        from lamina import ops

        return x if "float" in str(x.dtype) else ops.cast(x, config.floatx())
    x = tensor(x)
    return x if x.is_floating_point() else x.to(float_dtype(None))


def records_backend_node(fn):
    """Decorate a ``K.*`` function computed with torch directly, so that a call on symbolic tensors
    records a graph node that runs it (Keras 2 losses built from the model's tensors use them)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if holds_keras_tensor(args) or holds_keras_tensor(kwargs.values()):
            from lamina.layers.core.backend_function_node import record_backend_function

            return record_backend_function(fn, args, kwargs)
        return fn(*args, **kwargs)

    return wrapper
