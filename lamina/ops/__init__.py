"""Tensor operations on torch, mirroring ``keras.ops``.

``lamina.ops.X`` is ``keras.ops.X``: the same names, arguments and numbers, with torch tensors in
and out. The functions live in modules by concept (``core``, ``numpy``, ``math``, ``linalg``,
``nn``) and are all re-exported here.
"""

from lamina.ops import core, linalg, math, nn, numpy
from lamina.ops.core import *  # noqa: F401,F403
from lamina.ops.linalg import *  # noqa: F401,F403
from lamina.ops.math import *  # noqa: F401,F403
from lamina.ops.nn import *  # noqa: F401,F403
from lamina.ops.numpy import *  # noqa: F401,F403

__all__ = sorted(
    set(core.__all__) | set(numpy.__all__) | set(math.__all__) | set(linalg.__all__) | set(nn.__all__)
)
