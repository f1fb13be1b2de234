"""Dtype names (Keras spells dtypes as strings) and conversion to torch dtypes."""

import numpy as np
import torch

from lamina.backend import config

_TORCH = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
_NAMES = {v: k for k, v in _TORCH.items()}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "int": "int64"}
# Keras's string dtype: symbolic tensors (``Input(dtype="string")``) may carry it, but torch has
# no string tensors, so string data stays in numpy arrays and no torch dtype matches it.
STRING = "string"


def standardize_dtype(dtype):
    """Return the canonical string name of ``dtype`` (``None`` means ``floatx()``)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        if dtype not in _NAMES:
            raise ValueError(f"Unsupported dtype: {dtype}")
        return _NAMES[dtype]
    if hasattr(dtype, "name") and not isinstance(dtype, str):
        # DTypePolicy-like objects and numpy dtypes both expose `.name`
        dtype = dtype.name
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        dtype = np.dtype(dtype).name
    if dtype is float:
        return "float32"
    if dtype is int:
        return "int64"
    if dtype is bool:
        return "bool"
    if dtype is str:
        return STRING
    name = str(dtype)
    name = _ALIASES.get(name, name)
    if name.startswith("torch."):
        name = name[len("torch."):]
    if name == STRING:
        return name
    if name not in _TORCH:
        raise ValueError(f"Invalid dtype: {dtype!r}. Expected one of {sorted(_TORCH) + [STRING]}.")
    return name


def to_torch_dtype(dtype):
    # Asked by every conversion: torch dtypes and canonical names skip the standardization.
    if type(dtype) is torch.dtype and dtype in _NAMES:
        return dtype
    if type(dtype) is str and dtype in _TORCH:
        return _TORCH[dtype]
    name = standardize_dtype(dtype)
    if name == STRING:
        raise ValueError(
            "torch has no string dtype: string data stays in numpy arrays, and only layers that "
            "read strings (StringLookup, TextVectorization, Hashing...) accept it."
        )
    return _TORCH[name]


def is_float_dtype(dtype):
    """Whether ``dtype`` is a floating-point dtype (float8 names included, as in Keras)."""
    if isinstance(dtype, str) and dtype in _FLOAT8:
        return True
    return standardize_dtype(dtype) in ("float16", "bfloat16", "float32", "float64")


def is_int_dtype(dtype):
    """Whether ``dtype`` is a signed or unsigned integer dtype (``bool`` is not)."""
    if isinstance(dtype, str) and dtype in _FLOAT8:
        return False
    return standardize_dtype(dtype).startswith(("int", "uint"))


# Keras's (JAX's) promotion lattice: each dtype points to the dtypes just above it. "int" and
# "float" are the weak types of Python scalars, which give way to any typed operand of their kind.
_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")
# Keras on the torch (and JAX) backend computes in 32 bits: 64-bit results come back narrowed.
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _ancestors(node):
    """``node`` and every dtype above it on the lattice."""
    seen, todo = {node}, [node]
    while todo:
        for parent in _LATTICE[todo.pop()]:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


_UPPER = {node: frozenset(_ancestors(node)) for node in _LATTICE}


def _join(nodes):
    """The least upper bound of ``nodes`` on the lattice."""
    unknown = [n for n in nodes if n not in _UPPER]
    if unknown:
        raise ValueError(f"dtype={unknown[0]!r} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    least = [c for c in common if common <= _UPPER[c]]
    if len(least) != 1:
        raise ValueError(
            f"Input dtypes {tuple(nodes)} have no available implicit dtype promotion path. "
            "Try explicitly casting inputs to the desired output type."
        )
    return least[0]


def _weak_kind(dtype):
    if dtype == "bool":
        return dtype
    for kind in ("float", "int", "complex"):
        if kind in dtype:
            return "int" if kind == "int" else kind
    raise ValueError(f"Invalid dtype for type promotion: {dtype!r}")


def _resolve_weak(kind):
    """The concrete dtype a weak result takes, at the precision of ``floatx()``."""
    bits = config.floatx()[-2:]
    if kind == "bool":
        return "bool"
    return f"int{bits}" if kind == "int" else f"float{bits}"


def result_type(*dtypes):
    """The dtype Keras's promotion rules give to an operation on values of ``dtypes``.

    Python ``int`` and ``float`` are weak: ``result_type("bfloat16", float)`` is ``"bfloat16"``.
    ``None`` means ``floatx()``; no arguments give ``floatx()``. As Keras on the torch backend,
    64-bit results are narrowed to 32 bits (``int64`` -> ``int32``, ``float64`` -> ``float32``).

    Example:

    >>> lamina.backend.result_type("int32", "float32")
    'float32'
    >>> lamina.backend.result_type("uint8", "int8")
    'int16'
    """
    if not dtypes:
        return config.floatx()
    for dtype in dtypes:
        if isinstance(dtype, str) and dtype in _FLOAT8:
            raise ValueError(
                "There is no implicit conversions from float8 dtypes to others. You must cast it "
                f"explicitly. Received: {dtypes}"
            )
    parsed = []
    for dtype in dtypes:
        weak = dtype is int or dtype is float
        name = config.floatx() if dtype is None else standardize_dtype(dtype)
        parsed.append((name, weak))
    names = {name for name, _ in parsed}
    if len(parsed) == 1:
        out, weak = parsed[0]
    elif len(names) == 1 and not all(w for _, w in parsed):
        out, weak = parsed[0][0], False
    elif all(w for _, w in parsed):
        out, weak = _join(names), True
    else:
        out = _join({_weak_kind(n) if w else n for n, w in parsed})
        weak = out in ("int", "float")
    if weak and out != "bool":
        out = _resolve_weak(_weak_kind(out) if out not in ("int", "float") else out)
    return _NARROW.get(out, out)
