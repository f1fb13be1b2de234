"""Lamina: the Keras layers API on PyTorch.

``import lamina as keras`` and Keras code runs unchanged, on torch tensors and torch modules.
"""

from lamina import (
    activations,
    backend,
    config,
    constraints,
    dtype_policies,
    engine,
    initializers,
    layers,
    mixed_precision,
    models,
    ops,
    regularizers,
    saving,
    utils,
)
from lamina.backend.variables import Variable
from lamina.layers.core.input_layer import Input, InputLayer
from lamina.models import Functional, Model, Sequential

__version__ = "0.1.0"
