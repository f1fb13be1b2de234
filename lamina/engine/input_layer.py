"""Keras 2 path ``keras.engine.input_layer``."""

from lamina.layers.core.input_layer import Input, InputLayer
