"""Keras 2 backend functions (``K.flatten``, ``K.clip``, ...) called on symbolic tensors.

Keras 2 programs compute losses from the model's tensors with ``K.*`` functions. Those written with
``lamina.ops`` record the ops' nodes; the others compute with torch directly, and record a
``BackendFunctionNode`` instead: a graph operation naming the function (looked up in the finite
``K.*`` namespace, never imported) and running it when the graph runs.
"""

import inspect

from lamina.backend.naming import unique_name
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


def _backend_function(name):
    from lamina.backend import legacy

    fn = getattr(legacy, name, None) if isinstance(name, str) and name in legacy.__all__ else None
    if fn is None or not inspect.isfunction(fn):
        raise ValueError(f"Unknown Keras 2 backend function {name!r}: expected a `K.*` function name, e.g. 'flatten'.")
    return inspect.unwrap(fn)


def record_backend_function(fn, args, kwargs):
    """Record ``fn(*args, **kwargs)``, a ``K.*`` function called on symbolic tensors, as a node."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    tensor_params = [p for p, v in bound.arguments.items() if getattr(v, "_is_keras_tensor", False)]
    arguments = {p: v for p, v in bound.arguments.items() if p not in tensor_params}
    node = BackendFunctionNode(fn.__name__, tensor_params=tensor_params, arguments=arguments, name=unique_name(fn.__name__))
    return node(*(bound.arguments[p] for p in tensor_params))


@register_builtin("keras.layers")
class BackendFunctionNode(Layer):
    """Applies a Keras 2 backend function (``K.flatten``, ``K.clip``, ...) in a functional graph.

    Args:
        function: The function's name in ``lamina.backend``, e.g. ``"clip"``.
        tensor_params: The names of the function's parameters that the node's inputs fill, in
            order.
        arguments: The function's other arguments (e.g. ``{"min_value": 0.0, "max_value": 1.0}``).

    Example:

    >>> x = lamina.Input((2, 3))
    >>> lamina.backend.batch_flatten(x).shape
    (None, 6)
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras

    def __init__(self, function, tensor_params=("x",), arguments=None, **kwargs):
        kwargs.setdefault("autocast", False)  # K.* functions take integer ids (K.argmax's output)
        super().__init__(**kwargs)
        self._fn = _backend_function(function)
        self.function = function
        self.tensor_params = list(tensor_params)
        self.arguments = dict(arguments or {})
        self.built = True

    def call(self, *tensors):
        return self._fn(**dict(zip(self.tensor_params, tensors)), **self.arguments)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"function": self.function, "tensor_params": list(self.tensor_params), "arguments": dict(self.arguments)}
        )
        return config
