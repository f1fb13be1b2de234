"""Keras 2 module path ``keras.layers.merge``: the merging layers and their functional forms,
and ``_Merge``, the base class Keras 2 code subclasses.
"""

import functools
import inspect
import sys
import types

from lamina.layers._keras1_merge import merge as keras1_merge

from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Merge,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)



class _Merge(Merge):
    """Keras 2's merge base class: a subclass implements ``_merge_function(self, inputs)``, which
    combines the list of input tensors (already lifted to a common rank).

    Example:

    ```python
    class RandomWeightedAverage(_Merge):
        def _merge_function(self, inputs):
            weights = K.random_uniform((4, 1))
            return weights * inputs[0] + (1 - weights) * inputs[1]
    ```
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("_merge_function")
        if own is None or len(inspect.signature(own).parameters) != 2:
            return

        # Lamina's base passes the masks as well; Keras 2 subclasses take only the inputs.
        @functools.wraps(own)
        def merge_inputs(self, inputs, masks=None):
            return own(self, inputs)

        cls._merge_function = merge_inputs

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


# Keras 2.0-2.1 exported Keras 1's `merge(inputs, mode=...)` function under this module's name:
# `keras.layers.merge([a, b], mode="concat")` and `from keras.layers.merge import add` both worked.
# A callable module keeps both.
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return keras1_merge(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
