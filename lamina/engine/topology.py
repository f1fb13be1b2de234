"""Keras 2 path ``keras.engine.topology``."""

from lamina.layers.core.input_layer import Input, InputLayer
from lamina.layers.layer import Layer
