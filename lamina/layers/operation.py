"""``Operation``: a computation without state that works eagerly and on symbolic tensors.

Subclass it and implement ``call`` (and, optionally, ``compute_output_spec``). Called on real
tensors it runs ``call``; called on ``KerasTensor``s it records a graph node and returns symbolic
outputs, whose shapes come from ``compute_output_spec`` -- by default ``call`` run on fake
(meta) tensors, so no memory is used and nothing is computed.
"""

import inspect

from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend import symbolic
from lamina.utils import tree


def _is_spec(x):
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tuple) and isinstance(x[1], str)


class Operation:
    """Base class of stateless operations (Keras's ``keras.Operation``).

    Args:
        name: Name of the operation; a unique default is derived from the class name.

    Example:

    >>> class Scale(lamina.Operation):
    ...     def __init__(self, factor, name=None):
    ...         super().__init__(name=name)
    ...         self.factor = factor
    ...     def call(self, x):
    ...         return x * self.factor
    >>> x = lamina.KerasTensor((None, 3))
    >>> Scale(2.0)(x).shape
    (None, 3)
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # Remember the constructor arguments: simple subclasses then get a working `get_config`.
        obj._init_call = (args, kwargs)
        return obj

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"`name` must be a string without '/'. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._inbound_nodes = []
        self._outbound_nodes = []

    def __call__(self, *args, **kwargs):
        if symbolic.any_symbolic(args, kwargs):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def symbolic_call(self, *args, **kwargs):
        """Record a node of this operation on symbolic inputs and return its symbolic outputs."""
        outputs = self.compute_output_spec(*args, **kwargs)
        symbolic.Node(self, call_args=args, call_kwargs=kwargs, outputs=outputs)
        return outputs

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Operation '{self.name}' ({type(self).__name__}) has no `call`.")

    def compute_output_spec(self, *args, **kwargs):
        """``KerasTensor``s describing the outputs (by default: ``call`` run on fake tensors)."""
        try:
            specs = symbolic.run_on_meta(self.call, args, kwargs)
        except Exception as e:
            raise type(e)(
                f"Could not automatically infer the output shape / dtype of '{self.name}' "
                f"(of type {type(self).__name__}). Either the `{self.name}.call()` method is "
                "incorrect, or you need to implement the `compute_output_spec()` method. "
                f"Error encountered:\n\n{e}"
            ) from e
        return tree.traverse(
            lambda s: symbolic.KerasTensor(s[0], dtype=s[1]) if _is_spec(s) else None, specs
        )

    @property
    def input(self):
        """The symbolic input(s) of the operation's first call."""
        return self._first_node().call_args[0]

    @property
    def output(self):
        """The symbolic output(s) of the operation's first call."""
        return self._first_node().outputs

    def _first_node(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Operation '{self.name}' has never been called symbolically.")
        return self._inbound_nodes[0]

    def get_config(self):
        """``{"name": ...}`` plus the constructor arguments when they are plain values."""
        config = {"name": self.name}
        args, kwargs = self.__dict__.get("_init_call", ((), {}))
        if type(self).get_config is not Operation.get_config:
            return config
        params = [
            p for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        ]
        if args:
            positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            kwargs = {**dict(zip(positional, args)), **kwargs}
        config.update(kwargs)
        if not any(p.name == "name" or p.kind == p.VAR_KEYWORD for p in params):
            config.pop("name")
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<Operation name={self.name}>"
