"""Tensor operations in a functional graph, recorded and saved the way Keras 3 records them.

``x + 1``, ``x[:, 1:3]`` or ``lamina.ops.mean(x, axis=1)`` on symbolic tensors become nodes of a
Keras operation class (``Add``, ``GetItem``, ``Mean``): the constructor arguments go into the
node's config, the tensors and other call arguments into its ``inbound_nodes``. A model using them
saves the same ``{"module": "keras.src.ops.numpy", "class_name": "Mean", ...}`` entries as Keras, so
files move both ways. The classes come from the finite table in ``keras_op_table``; a file naming
any other operation is refused, and no module named in a file is ever imported.
"""

import inspect
import numbers

from lamina.backend.dtypes import standardize_dtype
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend import symbolic
from lamina.layers.core.keras_op_table import FUNCTION_ALIASES, KERAS_OPS
from lamina.layers.layer import Layer

# Keras writes operations under its own source modules (``keras.src.ops.numpy``, ``...nn``).
_KERAS_OPS_PREFIX = "keras.src.ops."

# Python operators with the operand order swapped (``2 - x``): Keras records the plain operation
# with the arguments in that order.
_REFLECTED_OPERATORS = {
    "radd": "add",
    "rsubtract": "subtract",
    "rmultiply": "multiply",
    "rtrue_divide": "true_divide",
    "rfloor_divide": "floor_divide",
    "rmod": "mod",
    "rpower": "power",
    "rmatmul": "matmul",
    "rlogical_and": "logical_and",
    "rlogical_or": "logical_or",
    "rlogical_xor": "logical_xor",
}

# Plain JSON values: what Keras itself accepts as an operation's constructor arguments.
_PLAIN_TYPES = (str, numbers.Number, type(None))


def _get_item(x, key):
    # A tuple key is written to JSON as a list; read back, it still means a multi-axis index.
    if isinstance(key, list):
        key = tuple(key)
    return x[key]


def _lamina_function(module, name):
    if name == "get_item":
        return _get_item
    from lamina import ops

    if module == "image":
        return getattr(ops.image, name)
    # The public `lamina.ops` functions are wrapped to record nodes; nodes run the plain function.
    return inspect.unwrap(getattr(ops, name))


class KerasOpNode(Layer):
    """Base of the graph nodes that apply one Keras operation (see ``keras_op_table``).

    Subclasses are made from the table and only fix the operation. Like a Keras ``Operation``, a
    node has no weights, does not cast its inputs and does not propagate masks.

    Args:
        name: Node name (Keras's default: the snake-case class name, e.g. ``"get_item"``).
        **arguments: The operation's constructor arguments (e.g. ``axis`` and ``keepdims`` for
            ``Mean``), under Keras's names.
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras

    _ops_module = None
    _function_name = None
    _call_params = ()
    _keyword_params = None
    _init_params = ()

    def __init__(self, name=None, **arguments):
        op = type(self).__name__
        unknown = sorted(set(arguments) - set(self._init_params))
        if unknown:
            raise ValueError(
                f"Unexpected argument(s) {unknown} for the Keras operation {op!r}. "
                f"Expected a subset of {list(self._init_params)}."
            )
        super().__init__(name=name or unique_name(to_snake_case(op)), autocast=False)
        fn = _lamina_function(self._ops_module, self._function_name)
        accepted = inspect.signature(fn).parameters
        unsupported = {k: v for k, v in arguments.items() if k not in accepted and v is not None}
        if unsupported:
            raise ValueError(
                f"The Keras operation {op!r} with {unsupported} is not supported by "
                f"`lamina.ops.{self._function_name}`."
            )
        self._fn = fn
        self._op_arguments = dict(arguments)
        self._fn_kwargs = {k: v for k, v in arguments.items() if k in accepted}
        self._variadic = bool(self._call_params) and self._call_params[0].startswith("*")
        self.built = True

    def __call__(self, *args, **kwargs):
        extra = {}
        if kwargs and self._keyword_params:
            # Keyword arguments that are not call parameters (``rearrange``'s axis lengths).
            extra = {k: v for k, v in kwargs.items() if k not in self._call_params}
            kwargs = {k: v for k, v in kwargs.items() if k in self._call_params}
        if kwargs:
            args = self._positional(args, kwargs)
        if symbolic.any_symbolic(args):
            return super().__call__(*args, **extra)
        # Eagerly an operation is just its function: no casting, input checks or masks.
        return self.call(*args, **extra)

    def call(self, *args, **extra):
        if extra:
            return self._fn(**dict(zip(self._call_params, args)), **self._fn_kwargs, **extra)
        if self._variadic:
            # Constructor arguments go before the tensors (`einsum(subscripts, *operands)`), or
            # by keyword where the function takes them after (`meshgrid(*x, indexing=...)`).
            params = inspect.signature(self._fn).parameters
            after = {p for p in self._fn_kwargs if params[p].kind is inspect.Parameter.KEYWORD_ONLY}
            leading = [self._fn_kwargs[p] for p in self._init_params if p in self._fn_kwargs and p not in after]
            return self._fn(*leading, *args, **{p: self._fn_kwargs[p] for p in after})
        if len(args) > len(self._call_params):
            raise ValueError(
                f"Operation '{self.name}' ({type(self).__name__}) takes at most "
                f"{len(self._call_params)} arguments {list(self._call_params)}; received {len(args)}."
            )
        return self._fn(**dict(zip(self._call_params, args)), **self._fn_kwargs)

    def _positional(self, args, kwargs):
        if self._variadic:
            raise ValueError(f"Operation '{self.name}' takes no keyword arguments. Received: {list(kwargs)}")
        names = self._call_params[len(args):]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise ValueError(
                f"Operation '{self.name}' ({type(self).__name__}) got unexpected argument(s) "
                f"{unknown}; its call arguments are {list(self._call_params)}."
            )
        values = list(args)
        for name in names:
            if name not in kwargs:
                break
            values.append(kwargs[name])
        if len(values) - len(args) != len(kwargs):
            raise ValueError(
                f"Operation '{self.name}' ({type(self).__name__}) got keyword arguments {list(kwargs)} "
                f"that leave a gap in its call arguments {list(self._call_params)}."
            )
        return tuple(values)

    def get_config(self):
        return {"name": self.name, **self._op_arguments}

    def get_build_config(self):
        return None

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _make_op_class(class_name, entry):
    module, function, call_params, init_params = entry
    cls = type(
        class_name,
        (KerasOpNode,),
        {
            "__module__": __name__,
            "__doc__": f"Keras's ``{class_name}`` operation (``lamina.ops.{function}``) as a graph node.",
            "_ops_module": module,
            "_function_name": function,
            "_call_params": tuple(p for p in call_params.split() if not p.startswith("**")),
            "_keyword_params": next((p[2:] for p in call_params.split() if p.startswith("**")), None),
            "_init_params": tuple(init_params.split()),
            # What `serialize_keras_object` writes: Keras's module, class and registered names.
            "_keras_module": _KERAS_OPS_PREFIX + module,
            "_keras_class_name": class_name,
            "_keras_registered_name": class_name,
        },
    )
    cls._lamina_builtin = cls
    # `call` takes keyword arguments only for the operation itself: never `training` or `mask`.
    cls._lamina_call_facts = (
        cls,
        (False, False, cls.compute_mask is not Layer.compute_mask,
         cls.compute_output_shape is not Layer.compute_output_shape, "inputs"),
    )
    return cls


OP_CLASSES = {name: _make_op_class(name, entry) for name, entry in KERAS_OPS.items()}

_CLASS_OF_FUNCTION = {entry[1]: name for name, entry in KERAS_OPS.items()}
_CLASS_OF_FUNCTION.update(FUNCTION_ALIASES)


def is_keras_op_module(module):
    """Whether a config's ``module`` is one of Keras's operation modules."""
    return isinstance(module, str) and module.startswith(_KERAS_OPS_PREFIX)


def deserialize_op_node(config):
    """Build the node for a Keras operation entry (``{"module", "class_name", "config"}``).

    Only the classes in ``keras_op_table`` are known; the module is never imported.
    """
    class_name = config.get("class_name")
    cls = OP_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(
            f"Unknown Keras operation class {class_name!r} (module {config.get('module')!r}): "
            "Lamina cannot rebuild this node of the functional graph."
        )
    return cls.from_config(dict(config.get("config") or {}))


def record_op(function, args, kwargs):
    """Record ``lamina.ops.<function>(*args, **kwargs)`` on symbolic tensors as a Keras node.

    ``function`` may also be a reflected operator (``"rsubtract"`` for ``2 - x``) or
    ``"getitem"`` (with ``kwargs == {"key": key}``). Returns the symbolic output, or
    ``NotImplemented`` when Keras has no operation for the call (the caller then records it in
    Lamina's own format).
    """
    if function in _REFLECTED_OPERATORS:
        function, args = _REFLECTED_OPERATORS[function], (args[1], args[0]) + tuple(args[2:])
    elif function == "getitem":
        function, args, kwargs = "get_item", (args[0], kwargs["key"]), {}
    class_name = _CLASS_OF_FUNCTION.get(function)
    if class_name is None:
        return NotImplemented
    cls = OP_CLASSES[class_name]
    fn = _lamina_function(cls._ops_module, cls._function_name)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    values = bound.arguments
    if cls._call_params and cls._call_params[0].startswith("*"):
        call_args = tuple(values[cls._call_params[0][1:]])
    else:
        call_args = tuple(values[p] for p in cls._call_params)
    config = {p: values[p] for p in cls._init_params if p in values}
    if config.get("dtype") is not None:
        config["dtype"] = standardize_dtype(config["dtype"])
    if not all(_is_plain(v) for v in config.values()):
        return NotImplemented
    extra = values.get(cls._keyword_params, {}) if cls._keyword_params else {}
    return cls(name=unique_name(to_snake_case(class_name)), **config)(*call_args, **extra)


def _is_plain(value):
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return isinstance(value, _PLAIN_TYPES)
