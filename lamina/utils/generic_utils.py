"""Keras 2 module path ``keras.utils.generic_utils``: the progress bar, custom-object
registration and serialization, and small helpers Keras 2 code imports from here."""

import base64
import inspect
import marshal
import re
import types

from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from lamina.utils.progbar import Progbar


def to_list(x):
    """``x`` if it is a list, else ``[x]``."""
    return x if isinstance(x, list) else [x]


def to_snake_case(name):
    """``"Conv2DTranspose"`` -> ``"conv2d_transpose"``; a leading underscore gets a
    ``"private"`` prefix, as in Keras 2."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name if not name.startswith("_") else "private" + name


def has_arg(fn, name, accept_all=False):
    """Whether ``fn`` accepts a keyword argument ``name`` (with ``accept_all``, any
    ``**kwargs`` counts)."""
    params = inspect.signature(fn).parameters
    if accept_all and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    param = params.get(name)
    return param is not None and param.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def is_all_none(structure):
    """Whether every leaf of a (nested) list, tuple or dict is ``None``."""
    if isinstance(structure, dict):
        return all(is_all_none(v) for v in structure.values())
    if isinstance(structure, (list, tuple)):
        return all(is_all_none(v) for v in structure)
    return structure is None


def make_batches(size, batch_size):
    """``(start, end)`` index pairs covering ``range(size)`` in batches of ``batch_size``."""
    count = -(-size // batch_size)
    return [(i * batch_size, min(size, (i + 1) * batch_size)) for i in range(count)]


def slice_arrays(arrays, start=None, stop=None):
    """Slice an array or a list of arrays (``None`` entries stay ``None``).

    ``start`` may also be a list or array of indices, which selects those rows.
    """
    if arrays is None:
        return [None]
    if isinstance(start, list) and stop is not None:
        raise ValueError("`stop` must be None when `start` is a list of indices.")

    def take(a):
        if a is None:
            return None
        if hasattr(start, "__len__"):
            return a[start]
        return a[start:stop]

    if isinstance(arrays, list):
        return [take(a) for a in arrays]
    return take(arrays)


def func_dump(func):
    """Serialize a Python function as ``(code, defaults, closure)``, the code being
    base64-encoded marshalled bytecode (readable only by the same Python version)."""
    code = base64.encodebytes(marshal.dumps(func.__code__)).decode("ascii")
    closure = tuple(c.cell_contents for c in func.__closure__) if func.__closure__ else None
    return code, func.__defaults__, closure


def func_load(code, defaults=None, closure=None, globs=None):
    """Rebuild a function from ``func_dump``'s output (or its three parts).

    This runs bytecode taken from ``code``: only load what you trust.
    """
    if isinstance(code, (tuple, list)):
        code, defaults, closure = code
    if isinstance(defaults, list):
        defaults = tuple(defaults)
    if closure is not None:
        closure = tuple(types.CellType(value) for value in closure)
    raw = marshal.loads(base64.decodebytes(code.encode("ascii")))
    return types.FunctionType(raw, globs if globs is not None else globals(), raw.co_name, defaults, closure)


__all__ = [
    "CustomObjectScope",
    "Progbar",
    "custom_object_scope",
    "deserialize_keras_object",
    "func_dump",
    "func_load",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "has_arg",
    "is_all_none",
    "make_batches",
    "register_keras_serializable",
    "serialize_keras_object",
    "slice_arrays",
    "to_list",
    "to_snake_case",
]
