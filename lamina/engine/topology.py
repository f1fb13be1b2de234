"""Keras 2 path ``keras.engine.topology``."""

from lamina.layers.core.input_layer import Input, InputLayer
from lamina.layers.layer import Layer
from lamina.layers.input_spec import InputSpec
from lamina.backend.symbolic import Node
from lamina.utils.layer_utils import get_source_inputs

__all__ = ["Input", "InputLayer", "InputSpec", "Layer", "Node", "get_source_inputs"]
