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
    name = standardize_dtype(dtype)
    if name == STRING:
        raise ValueError(
            "torch has no string dtype: string data stays in numpy arrays, and only layers that "
            "read strings (StringLookup, TextVectorization, Hashing...) accept it."
        )
    return _TORCH[name]


def is_float_dtype(dtype):
    return standardize_dtype(dtype) in ("float16", "bfloat16", "float32", "float64")


def is_int_dtype(dtype):
    return standardize_dtype(dtype).startswith(("int", "uint"))
