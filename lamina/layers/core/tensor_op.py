"""Lamina's own node for operations on symbolic tensors, for what Keras has no operation class.

Operations Keras knows (``x + 1``, ``x[:, 0]``, ``ops.mean(x)``) are recorded as Keras operation
nodes (``keras_op_nodes.py``). ``TensorOp`` remains for the rest, and to load files written by
earlier Lamina versions, which stored every operation this way. The node stores the operation by
name, looked up in a fixed table (Python operators) or in ``lamina.ops``, never imported.
"""

import torch

from lamina.backend.symbolic import set_op_recorder
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _swapped(fn):
    return lambda a, b: fn(b, a)


_OPERATORS = {
    "add": torch.add,
    "radd": _swapped(torch.add),
    "subtract": torch.sub,
    "rsubtract": _swapped(torch.sub),
    "multiply": torch.mul,
    "rmultiply": _swapped(torch.mul),
    "true_divide": torch.true_divide,
    "rtrue_divide": _swapped(torch.true_divide),
    "floor_divide": torch.floor_divide,
    "power": torch.pow,
    "rpower": _swapped(torch.pow),
    "matmul": torch.matmul,
    "rmatmul": _swapped(torch.matmul),
    "negative": torch.neg,
    "absolute": torch.abs,
    "less": torch.lt,
    "less_equal": torch.le,
    "greater": torch.gt,
    "greater_equal": torch.ge,
    "getitem": lambda x, key: x[key],
}


def _resolve(name):
    if name in _OPERATORS:
        return _OPERATORS[name]
    from lamina import ops

    fn = getattr(ops, name, None) if name in ops.__all__ else None
    if fn is None:
        raise ValueError(f"Unknown tensor operation {name!r}: expected a Python operator or a `lamina.ops` function.")
    return fn


@register_builtin("keras.layers")
class TensorOp(Layer):
    """Applies a named operation (a Python operator or a ``lamina.ops`` function) to its inputs.

    Args:
        function: Operation name, e.g. ``"add"``, ``"getitem"`` or ``"mean"``.
        arguments: Keyword arguments of the operation (e.g. ``{"axis": 1}``).
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras

    def __init__(self, function, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = _decode(arguments or {})
        self._fn = _resolve(function)
        self.built = True

    def call(self, inputs, *args):
        return self._fn(inputs, *args, **self.arguments)

    def get_config(self):
        config = super().get_config()
        config.update({"function": self.function, "arguments": _encode(self.arguments)})
        return config


def apply_tensor_op(name, x, *others, **arguments):
    """Record ``name(x, *others, **arguments)`` in the graph and return the symbolic result.

    Operations Keras knows are recorded as Keras operation nodes (so Keras can read the saved
    model); only the rest use ``TensorOp``, which Lamina alone reads.
    """
    from lamina.backend.naming import unique_name
    from lamina.layers.core.keras_op_nodes import record_op

    outputs = record_op(name, (x, *others), arguments)
    if outputs is not NotImplemented:
        return outputs
    return TensorOp(name, arguments, name=unique_name(name))(x, *others)


# Ops (a floor below) record their calls on symbolic tensors through the backend's hook.
set_op_recorder(apply_tensor_op)


def _encode(value):
    """Slices and Ellipsis (from ``x[...]``) as JSON-friendly dicts."""
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "__slice__" in value:
            return slice(*value["__slice__"])
        if "__ellipsis__" in value:
            return Ellipsis
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
