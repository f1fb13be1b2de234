"""Keras 2 path ``keras.engine.input_spec``: ``InputSpec``."""

from lamina.layers.input_spec import InputSpec, assert_input_compatibility

__all__ = ["InputSpec", "assert_input_compatibility"]
