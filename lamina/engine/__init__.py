"""Keras 2 import paths (``keras.engine.topology.Input``, ``keras.engine.input_layer.Input``)."""

from lamina.engine import input_layer, topology
from lamina.engine import (  # noqa: E402
    base_layer,
    functional,
    input_spec,
    keras_tensor,
    node,
    sequential,
    training,
)
# What Keras 2's `keras.engine` itself exposed.
from lamina.engine.base_layer import InputSpec, Layer  # noqa: E402
from lamina.engine.input_layer import Input, InputLayer  # noqa: E402
from lamina.engine.topology import get_source_inputs  # noqa: E402
from lamina.engine.training import Model  # noqa: E402
