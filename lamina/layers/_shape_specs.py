"""Shapes and output specs in the structures layers take: shape tuples, ``(shape, dtype)`` specs
of symbolic calls, KerasTensors made from them, and the batch input shape constructor arguments
give."""

import numpy as np
import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.backend import symbolic
from lamina.backend import tree


def batch_input_shape_from_kwargs(kwargs):
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    shape = kwargs.get("input_shape")
    if shape is None and kwargs.get("input_dim") is not None:
        shape = (kwargs["input_dim"],)
    if shape is None:
        return None
    if isinstance(shape, int):
        shape = (shape,)
    return (kwargs.get("batch_size"),) + tuple(shape)


def shape_structure(x):
    """Shapes mirroring the input structure: a tuple per tensor, lists/dicts kept."""
    if hasattr(x, "shape"):
        return tuple(x.shape)
    if isinstance(x, dict):
        return {k: shape_structure(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [shape_structure(v) for v in x]
    return None


def cast_meta(x, dtype, promote=False):
    target = to_torch_dtype(dtype)
    return tree.map_structure(
        lambda t: t.to(target)
        if isinstance(t, torch.Tensor) and (t.is_floating_point() or (promote and t.dtype != target))
        else t,
        x,
    )


def describe(x):
    return f"KerasTensor{x.shape}" if symbolic.is_keras_tensor(x) else x


def specs_to_tensors(specs):
    def make(spec):
        if spec is None:
            return None
        return symbolic.KerasTensor(spec[0], dtype=spec[1])

    if isinstance(specs, tuple) and len(specs) == 2 and isinstance(specs[1], str):
        return make(specs)
    return map_specs(make, specs)


def map_specs(fn, specs):
    if isinstance(specs, tuple) and len(specs) == 2 and isinstance(specs[1], str):
        return fn(specs)
    if isinstance(specs, list):
        return [map_specs(fn, s) for s in specs]
    if isinstance(specs, tuple):
        return tuple(map_specs(fn, s) for s in specs)
    if isinstance(specs, dict):
        return {k: map_specs(fn, v) for k, v in specs.items()}
    return fn(specs) if specs is not None else None


def is_single_shape(shape):
    return isinstance(shape, (tuple, list, torch.Size)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in shape
    )


def shapes_to_keras_tensors(shapes, dtype):
    """A structure of shapes (leaves are shape tuples) -> the same structure of KerasTensors."""
    if is_single_shape(shapes):
        return symbolic.KerasTensor(shapes, dtype=dtype)
    if isinstance(shapes, dict):
        return {k: shapes_to_keras_tensors(v, dtype) for k, v in shapes.items()}
    return [shapes_to_keras_tensors(s, dtype) for s in shapes]


def to_shape_structure(shape):
    if isinstance(shape, dict):
        return {k: to_shape_structure(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) or s is None for s in shape) and any(isinstance(s, (list, tuple)) for s in shape):
        return [to_shape_structure(s) for s in shape]
    return tuple(shape)


def unwrap_single(x):
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x
