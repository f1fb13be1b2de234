"""Lamina: the Keras layers API on PyTorch.

``import lamina as keras`` and Keras code runs unchanged, on torch tensors and torch modules.
"""

from lamina import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    dtype_policies,
    engine,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
    applications,
)
from lamina.backend.variables import Variable
from lamina.layers.core.input_layer import Input, InputLayer
from lamina.losses import Loss
from lamina.metrics import Metric
from lamina.models import Functional, Model, Sequential
from lamina.optimizers import Optimizer

__version__ = "0.1.0"

from lamina import legacy, random, tree  # noqa: E402
from lamina import quantizers  # noqa: E402
from lamina.quantizers import Quantizer  # noqa: E402
from lamina import export  # noqa: E402
from lamina.backend.device_scope import device  # noqa: E402
from lamina.backend.dtype_policy import DTypePolicy, FloatDTypePolicy  # noqa: E402
from lamina.backend.name_scoping import name_scope  # noqa: E402
from lamina.backend.remat import RematScope, remat  # noqa: E402
from lamina.backend.stateless_scope import StatelessScope, SymbolicScope  # noqa: E402
from lamina.initializers import Initializer  # noqa: E402
from lamina.layers import InputSpec, Layer  # noqa: E402
from lamina.layers.operation import Operation  # noqa: E402
from lamina.layers.symbolic import KerasTensor  # noqa: E402
from lamina.models.function import Function  # noqa: E402
from lamina.regularizers import Regularizer  # noqa: E402

# Keras 2 ``K.*`` functions called on symbolic tensors record graph nodes, which are layers: this
# namespace, above both, hands the recorder down.
from lamina.backend.legacy import _common as _keras2_common  # noqa: E402
from lamina.layers.core.backend_function_node import record_backend_function  # noqa: E402

_keras2_common.set_node_recorder(record_backend_function)
del record_backend_function


def version():
    """The Lamina version string (``keras.version()`` gives Keras's)."""
    return __version__
from lamina import wrappers  # noqa: E402
from lamina import visualization  # noqa: E402
from lamina import distillation  # noqa: E402

# Keras 2 ``K.*`` (``lamina.backend.legacy``) sits above ops, and ``K.placeholder`` / ``K.function``
# build layers and models: this namespace, above them all, hands them down, so the backend never
# imports ops (DESIGN.md).
from lamina.backend import _hooks as _backend_hooks, legacy as _keras2  # noqa: E402
from lamina.backend.legacy import _hooks as _keras2_hooks  # noqa: E402

_keras2_hooks.set_graph_builders(input=Input, lambda_layer=layers.Lambda, model=Model)
from lamina.models.symbolic_gradients import symbolic_gradients as _symbolic_gradients  # noqa: E402

_keras2_hooks.set_graph_builder("gradients", _symbolic_gradients)
_backend_hooks.install_keras2_functions(_keras2)
