"""Keras 2 path ``keras.engine.base_layer``: ``Layer``, ``InputSpec`` and ``Node``."""

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.backend.symbolic import Node

__all__ = ["InputSpec", "Layer", "Node"]
