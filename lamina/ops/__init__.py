"""Tensor operations on torch, mirroring ``keras.ops``.

``lamina.ops.X`` is ``keras.ops.X``: the same names, arguments and numbers, with torch tensors in
and out. The functions live in modules by concept (``core``, ``numpy``, ``math``, ``linalg``,
``nn``) and are all re-exported here.
"""

from lamina.ops import control_flow, core, image, linalg, math, nn, numpy
from lamina.ops.control_flow import *  # noqa: F401,F403
from lamina.ops.core import *  # noqa: F401,F403
from lamina.ops.linalg import *  # noqa: F401,F403
from lamina.ops.math import *  # noqa: F401,F403
from lamina.ops.nn import *  # noqa: F401,F403
from lamina.ops.numpy import *  # noqa: F401,F403

__all__ = sorted(
    set(core.__all__) | set(control_flow.__all__) | set(numpy.__all__) | set(math.__all__) | set(linalg.__all__) | set(nn.__all__)
)


# Why a wrapper applied here rather than a decorator at each definition (issue 12): the wrapper
# costs a few microseconds a call, which the public entry points pay either way, but decorated
# definitions would also put it on every internal call between op modules (``numpy_*``, ``math``,
# ``core``, which call each other's plain functions today), slowing composite ops. The recording
# itself goes through ``lamina.backend.symbolic``, so ops never import layers.
def _symbolic_aware(fn, name):
    """Let ``fn`` take symbolic tensors: the call is then recorded as a graph node (functional API).

    The node records the public ``name`` (``true_divide``), not ``fn.__name__`` (``divide``):
    aliases are different operations in Keras's files.
    """

    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if args and _holds_keras_tensor(args):
            return _record_op(name, *args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper


import functools as _functools  # noqa: E402

from lamina.backend.symbolic import holds_keras_tensor as _holds_keras_tensor  # noqa: E402
from lamina.backend.symbolic import record_op as _record_op  # noqa: E402

for _name in __all__:
    _obj = globals()[_name]
    if callable(_obj) and not isinstance(_obj, type):
        globals()[_name] = _symbolic_aware(_obj, _name)
# `lamina.ops.nn.X`, `lamina.ops.linalg.X` and `lamina.ops.numpy.X` (as `keras.ops.nn.X`) are the
# same wrapped functions.
for _module in (nn, linalg, numpy):
    for _name in _module.__all__:
        setattr(_module, _name, globals()[_name])
del _name, _obj, _module

# Ops defined in their own modules, which record their symbolic calls themselves.
from lamina.ops.einops import rearrange  # noqa: E402

__all__ = sorted([*__all__, "rearrange"])
