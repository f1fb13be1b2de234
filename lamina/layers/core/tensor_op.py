"""Operators on symbolic tensors (``x + 1``, ``x[:, 0]``, ``a @ b``) recorded as graph nodes."""

from lamina.layers import symbolic
from lamina.layers.layer import Layer


class TensorOp(Layer):
    """Applies a torch function to its inputs; made by operators on ``KerasTensor``s.

    Args:
        function: The torch function to apply, e.g. ``torch.add``.
    """

    def __init__(self, function, **kwargs):
        super().__init__(name=kwargs.pop("name", None) or None, **kwargs)
        self.function = function
        self.built = True

    def call(self, inputs, *args):
        return self.function(inputs, *args)

    def get_config(self):
        raise NotImplementedError(
            f"Operator node '{self.name}' ({getattr(self.function, '__name__', self.function)}) "
            "cannot be serialized; wrap the computation in a Lambda layer or a custom layer."
        )


def apply_tensor_op(function, x, *others):
    """Record ``function(x, *others)`` in the graph and return the symbolic result."""
    name = getattr(function, "__name__", None) or getattr(getattr(function, "func", None), "__name__", "op")
    layer = TensorOp(function, name=_op_name(name))
    args = [o for o in others]
    return layer(x, *args)


def _op_name(fn_name):
    from lamina.backend.naming import unique_name

    return unique_name(fn_name.strip("_"))
