from lamina.layers.core.dense import Dense
from lamina.layers.core.input_layer import Input, InputLayer

__all__ = ["Dense", "Input", "InputLayer"]
