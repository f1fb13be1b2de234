"""``Lambda``: wraps a Python function as a layer.

Python lambdas are saved as marshalled bytecode, as Keras does. Loading bytecode runs code taken
from a file, so it is refused unless safe mode is explicitly turned off.
"""

import base64
import builtins
import dis
import inspect
import marshal
import types

import torch

from lamina.backend.core import convert_to_tensor
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import get_registered_name, get_registered_object, register_builtin
from lamina.utils import tree

_LAMBDA = "__lambda__"


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value
    )


def _standardize_output_shape(output_shape):
    """``None``, a callable, a shape tuple, or a list/tuple of shapes (one per output)."""
    if output_shape is None or callable(output_shape):
        return output_shape
    if _is_shape(output_shape):
        return tuple(output_shape)
    if isinstance(output_shape, (tuple, list)) and output_shape and all(_is_shape(s) for s in output_shape):
        return [tuple(s) for s in output_shape]
    raise ValueError(
        "Argument `output_shape` must be None, a function of the input shape, a shape tuple "
        "without the batch axis (e.g. `(4,)`), or a list of such tuples. Received: "
        f"output_shape={output_shape!r}"
    )


def _takes_argument(function, name):
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        # Some builtins have no introspectable signature: they take no `mask`/`training`.
        return False
    param = params.get(name)
    return param is not None and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)


def _uses_augmented_assignment(function):
    """Whether ``function``'s own code contains ``x += ...``-style statements."""
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    for ins in dis.get_instructions(code):
        # INPLACE_* before Python 3.11, BINARY_OP with an "op=" argument since.
        if ins.opname.startswith("INPLACE_") or (ins.opname == "BINARY_OP" and ins.argrepr.endswith("=")):
            return True
    return False


def _copy_tensors(inputs):
    return tree.map_structure(lambda t: t.clone() if isinstance(t, torch.Tensor) else t, inputs)


def _serialize_function(fn):
    """The Keras 3 config of a function: bytecode for lambdas, a name for named functions."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
        return {
            "class_name": _LAMBDA,
            "config": {
                "code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
                "defaults": fn.__defaults__,
                "closure": closure,
            },
        }
    if hasattr(fn, "get_config"):
        return serialization_lib.serialize_keras_object(fn)
    if not hasattr(fn, "__name__"):
        raise ValueError(
            f"Cannot serialize {fn!r}: expected a lambda, a named function or an object with "
            "`get_config()`."
        )
    # Exactly what Keras writes, so that files move between the two libraries.
    return {
        "module": "builtins",
        "class_name": "function",
        "config": get_registered_name(fn),
        "registered_name": "function",
    }


def _global_names(code):
    """Global names used by ``code`` and the code objects nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _load_bytecode(config, custom_objects):
    """Rebuild a lambda from its bytecode config (only ever called with safe mode off)."""
    try:
        code = marshal.loads(base64.decodebytes(config["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError) as e:
        raise ValueError(
            "Could not load the bytecode of a Lambda function; bytecode can only be read by the "
            f"Python version that wrote it. Original error: {e}"
        ) from e
    if not isinstance(code, types.CodeType):
        raise ValueError(f"The Lambda function config holds no bytecode (found {type(code).__name__}).")
    # Globals are only what the user made visible (registered or custom objects), never the
    # namespace of whichever module does the loading.
    namespace = {"__builtins__": builtins}
    for name in _global_names(code):
        obj = get_registered_object(name, custom_objects)
        if obj is not None:
            namespace[name] = obj
    closure = config.get("closure")
    if len(closure or ()) != len(code.co_freevars):
        raise ValueError(
            f"The Lambda function config holds {len(closure or ())} closure values but its code "
            f"expects {len(code.co_freevars)}."
        )
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    defaults = config.get("defaults")
    defaults = tuple(defaults) if defaults is not None else None
    return types.FunctionType(code, namespace, code.co_name, defaults, cells)


def _refuse_bytecode(what):
    raise ValueError(
        f"Refusing to deserialize the `{what}` of a Lambda layer: it is stored as Python "
        "bytecode, and loading bytecode can run arbitrary code. If you trust the source of this "
        "config, opt in by passing `safe_mode=False` (to `Lambda.from_config`, "
        "`lamina.saving.deserialize_keras_object` or the model loading function), or by calling "
        "`lamina.saving.serialization_lib.enable_unsafe_deserialization()`. Names the function "
        "uses from its module must then be passed in `custom_objects`."
    )


def _load_function(config, what, safe, custom_objects):
    if isinstance(config, dict) and config.get("class_name") == _LAMBDA:
        if safe:
            _refuse_bytecode(what)
        return _load_bytecode(config["config"], custom_objects)
    return serialization_lib.deserialize_keras_object(config, custom_objects=custom_objects)


def _load_legacy(config, what, safe, custom_objects):
    """Keras 2 configs store ``what`` with a ``<what>_type``: raw value, function name, or bytecode."""
    kind = config.pop(f"{what}_type")
    config.pop("module" if what == "function" else f"{what}_module", None)
    value = config[what]
    if kind == "lambda":
        if safe:
            _refuse_bytecode(what)
        code, defaults, closure = value
        return _load_bytecode({"code": code, "defaults": defaults, "closure": closure}, custom_objects)
    if kind == "function":
        return serialization_lib.deserialize_keras_object(value, custom_objects=custom_objects)
    return value


def _deserialize_arguments(arguments, custom_objects):
    if not arguments:
        return {}
    return {
        k: serialization_lib.deserialize_keras_object(v, custom_objects=custom_objects)
        if isinstance(v, dict) and "class_name" in v
        else v
        for k, v in arguments.items()
    }


def _serialize_mask_value(mask):
    """A constant mask in Keras' ``__numpy__`` form."""
    array = convert_to_tensor(mask).cpu().numpy()
    return {"class_name": "__numpy__", "config": {"value": array.tolist(), "dtype": array.dtype.name}}


@register_builtin("keras.layers")
class Lambda(Layer):
    """Wraps a function of tensors as a layer, for quick use in ``Sequential`` and functional models.

    The function receives the layer input (a tensor, or a list of tensors) as a torch tensor and
    must return torch tensors. For anything with weights or that must be saved portably, write a
    ``Layer`` subclass instead: a Python lambda is saved as bytecode, which only the same Python
    version can read back, and which is loaded only when safe mode is off.

    Args:
        function: The function to apply; its first argument is the input. If it has a ``mask``
            or ``training`` argument, the layer passes the input mask / training flag.
        output_shape: Optional output shape. A tuple gives the shape without the batch axis
            (the batch size is taken from the input); a list of tuples gives one per output; a
            function maps the full input shape (or list of shapes) to the full output shape(s).
            When omitted, the shape (and dtype) is inferred by running the function on
            shape-only tensors.
        mask: ``None`` (the output has no mask), a function ``(inputs, mask) -> output mask``, or
            a constant mask tensor returned for every input.
        arguments: Optional dict of keyword arguments passed to ``function``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary.

    Output shape:
        Given by ``output_shape``, or inferred.

    Example:

    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Lambda(lambda x: x ** 2)])
    >>> def antirectifier(x):
    ...     x = x - x.mean(dim=1, keepdim=True)
    ...     x = torch.nn.functional.normalize(x, dim=1)
    ...     return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)
    >>> model.add(lamina.layers.Lambda(antirectifier, output_shape=(8,)))
    >>> model.output_shape
    (None, 8)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(
                f"Argument `function` must be callable. Received: function={function!r} "
                f"(of type {type(function).__name__})"
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(
                "Argument `arguments` must be a dict of keyword arguments for `function`. "
                f"Received: arguments={arguments!r}"
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = _standardize_output_shape(output_shape)
        self._fn_takes_mask = _takes_argument(function, "mask")
        self._fn_takes_training = _takes_argument(function, "training")
        # Keras code such as the classic `x -= K.mean(x, ...)` rebinds immutable tensors; on torch
        # tensors it writes in place, into the caller's data (numpy inputs share memory) or into
        # a tensor autograd still needs. Such functions get copies of their inputs.
        self._copy_inputs = _uses_augmented_assignment(function)

    def call(self, inputs, mask=None, training=None):
        if self._copy_inputs:
            inputs = _copy_tensors(inputs)
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        if self.mask is None:
            return None
        return convert_to_tensor(self.mask)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = tree.flatten(input_shape)[0] if input_shape else None
        if isinstance(self._output_shape, list):
            return [(batch,) + s for s in self._output_shape]
        return (batch,) + self._output_shape

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # Without `output_shape`, running the function on meta tensors gives the exact shapes and
        # dtypes (with the mask and training arguments it will really get).
        return super()._symbolic_outputs(args, kwargs, self._output_shape is not None)

    def get_config(self):
        config = super().get_config()
        config["function"] = _serialize_function(self.function)
        if self._output_shape is not None:
            shape = self._output_shape
            config["output_shape"] = _serialize_function(shape) if callable(shape) else shape
        if self.mask is not None:
            mask = self.mask
            config["mask"] = _serialize_function(mask) if callable(mask) else _serialize_mask_value(mask)
        config["arguments"] = serialization_lib.serialize_keras_object(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Create a Lambda from its config.

        Functions stored as bytecode are refused with a ``ValueError`` unless ``safe_mode=False``
        is passed or the enclosing deserialization runs with safe mode off.

        Args:
            config: The output of ``get_config()`` (Keras 3 or Keras 2 form).
            custom_objects: Optional dict resolving function names, and the global names used by
                bytecode functions.
            safe_mode: ``False`` to allow bytecode; ``None`` follows the enclosing
                deserialization and is safe outside of one.
        """
        config = dict(config)
        if safe_mode is None:
            safe_mode = serialization_lib.in_safe_mode()
        safe = safe_mode is not False
        for what in ("function", "output_shape", "mask"):
            if what not in config:
                continue
            if f"{what}_type" in config:
                config[what] = _load_legacy(config, what, safe, custom_objects)
            elif isinstance(config[what], dict):
                config[what] = _load_function(config[what], what, safe, custom_objects)
        config["arguments"] = _deserialize_arguments(config.get("arguments"), custom_objects)
        return super().from_config(config)
