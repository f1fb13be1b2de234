"""Keras 2 module path ``keras.layers.merge``: the merging layers and their functional forms,
and ``_Merge``, the base class Keras 2 code subclasses.
"""

import functools
import inspect

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
