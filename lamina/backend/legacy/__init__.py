"""Keras 2 backend functions (``from lamina import backend as K``; ``K.mean``, ``K.dot``, ...).

These keep the Keras 2 signatures and defaults, which differ from ``keras.ops`` in places:
``K.concatenate`` joins along the last axis, ``K.argmax`` defaults to ``axis=-1``, ``K.cumsum`` to
``axis=0``, ``K.dot`` contracts the last axis of ``x`` with the second-to-last of ``y``,
``K.batch_dot`` takes ``axes``, ``K.sqrt`` clips negative inputs to 0 and ``K.l2_normalize`` uses
an epsilon of 1e-12. Inputs may be torch tensors, NumPy arrays or Python values; results are
torch tensors.

``K.variable`` returns a trainable ``lamina.Variable``; ``K.constant`` a plain tensor.
``K.set_value`` assigns variables and writes plain tensors in place.
"""

from lamina.backend.config import (  # noqa: F401  (re-exported: part of K.*)
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from lamina.backend.core import cast  # noqa: F401
from lamina.backend.legacy import arrays, math, nn, variables
from lamina.backend.legacy.arrays import *  # noqa: F401,F403
from lamina.backend.legacy.math import *  # noqa: F401,F403
from lamina.backend.legacy.nn import *  # noqa: F401,F403
from lamina.backend.legacy.variables import *  # noqa: F401,F403

__all__ = sorted(
    set(variables.__all__ + math.__all__ + arrays.__all__ + nn.__all__)
    | {"cast", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx", "set_image_data_format"}
)

# Keras 2 convolution/pooling, CTC, the RNN loop and higher-order functions, graph-era helpers,
# the learning phase, focal losses and batch statistics.
from lamina.backend.legacy import batch_stats, control_flow, conv, ctc, focal, graph, training_phase  # noqa: E402
from lamina.backend.legacy.batch_stats import *  # noqa: E402,F401,F403
from lamina.backend.legacy.control_flow import *  # noqa: E402,F401,F403
from lamina.backend.legacy.conv import *  # noqa: E402,F401,F403
from lamina.backend.legacy.ctc import *  # noqa: E402,F401,F403
from lamina.backend.legacy.focal import *  # noqa: E402,F401,F403
from lamina.backend.legacy.graph import *  # noqa: E402,F401,F403
from lamina.backend.legacy.training_phase import *  # noqa: E402,F401,F403

__all__ = sorted(
    set(__all__)
    | set(batch_stats.__all__ + control_flow.__all__ + conv.__all__ + ctc.__all__ + focal.__all__)
    | set(graph.__all__ + training_phase.__all__)
)
