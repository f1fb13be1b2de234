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
    regularizers,
    saving,
    utils,
)
from lamina.backend.variables import Variable
from lamina.layers.core.input_layer import Input, InputLayer
from lamina.losses import Loss
from lamina.metrics import Metric
from lamina.models import Functional, Model, Sequential
from lamina.optimizers import Optimizer

__version__ = "0.1.0"
