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


# Graph nodes are layers, a floor above: the public namespace installs the recorder when it loads
# (lamina/__init__.py), so these functions never import the layers package.
_NODE_RECORDER = []


def set_node_recorder(recorder):
    """Install ``recorder(fn, args, kwargs)``, which records a ``K.*`` call on symbolic tensors as
    a graph node and returns its symbolic output."""
    _NODE_RECORDER[:] = [recorder]


def records_backend_node(fn):
    """Decorate a ``K.*`` function computed with torch directly, so that a call on symbolic tensors
    records a graph node that runs it (Keras 2 losses built from the model's tensors use them)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if holds_keras_tensor(args) or holds_keras_tensor(kwargs.values()):
            if not _NODE_RECORDER:
                raise RuntimeError(
                    f"Cannot record `K.{fn.__name__}` on a symbolic tensor before `import lamina`."
                )
            return _NODE_RECORDER[0](fn, args, kwargs)
        return fn(*args, **kwargs)

    return wrapper
