"""Helpers shared by the Keras 2 backend modules."""

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
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
