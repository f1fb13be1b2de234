"""Helpers of ``Layer.__call__``: input conversion, string checks, masks, and the symbolic specs.

Plain functions over tensors and structures, kept apart from the class so that `layer.py` holds
the layer's API and these can be shared (models call `is_string_array`, wrappers
`shapes_to_keras_tensors`).
"""

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers import symbolic
from lamina.layers.input_spec import InputSpec
from lamina.utils import tree


def _batch_input_shape_from_kwargs(kwargs):
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


def _fast_spec_ok(spec, x):
    """Cheap check of one tensor against one InputSpec; False means "run the full check"."""
    if type(spec) is not InputSpec:
        return False
    nd = x.dim()
    if spec.ndim is not None and nd != spec.ndim and not spec.allow_last_axis_squeeze:
        return False
    if spec.min_ndim is not None and nd < spec.min_ndim:
        return False
    if spec.max_ndim is not None and nd > spec.max_ndim:
        return False
    if spec.dtype is not None or spec.shape is not None:
        return False
    shape = x.shape
    for axis, size in spec.axes.items():
        if size is not None and (axis >= nd or axis < -nd or shape[axis] != size):
            return False
    return True


def _shape_structure(x):
    """Shapes mirroring the input structure: a tuple per tensor, lists/dicts kept."""
    if hasattr(x, "shape"):
        return tuple(x.shape)
    if isinstance(x, dict):
        return {k: _shape_structure(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_shape_structure(v) for v in x]
    return None


def _to_tensor(x):
    if isinstance(x, torch.Tensor) or x is None or isinstance(x, (str, bytes)):
        return x
    if isinstance(x, (np.ndarray, np.generic, float, int, bool)):
        if _is_string_array(x):
            return x  # torch has no string tensors; the caller checks the layer accepts strings
        return convert_to_tensor(x)
    return x


def _is_string_array(x):
    """Whether ``x`` is a numpy array of strings (unicode, bytes, or objects that are all str/bytes)."""
    if not isinstance(x, np.ndarray):
        return False
    kind = x.dtype.kind
    if kind in "US":
        return True
    return kind == "O" and x.size > 0 and all(isinstance(v, (str, bytes)) for v in x.reshape(-1).tolist())


def _reject_strings(layer, structure):
    """Raise a ValueError naming ``layer`` if ``structure`` holds string data (eager or symbolic)."""
    for x in tree.flatten(structure):
        if _is_string_array(x):
            received = f"a numpy array of strings of dtype {x.dtype} and shape {x.shape}"
        elif getattr(x, "_is_keras_tensor", False) and x.dtype == "string":
            received = f"a symbolic tensor of dtype string and shape {x.shape}"
        else:
            continue
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot take string inputs: received "
            f"{received}. torch has no string tensors; turn strings into numbers first with a layer "
            "that reads them (StringLookup, TextVectorization, Hashing)."
        )


def _arrays_to_tensors(x):
    """numpy arrays, and lists of plain numbers, in ``x`` become tensors; other leaves stay."""
    if isinstance(x, (np.ndarray, np.generic)) and not _is_string_array(x):
        return convert_to_tensor(x)
    if isinstance(x, (list, tuple)):
        leaves = tree.flatten(x)
        if leaves and all(isinstance(v, (int, float, bool, np.number, np.bool_)) for v in leaves):
            return convert_to_tensor(np.asarray(x))
        return type(x)(_arrays_to_tensors(v) for v in x)
    if isinstance(x, dict):
        return {k: _arrays_to_tensors(v) for k, v in x.items()}
    return x


def _to_tensor_if_array(x):
    return convert_to_tensor(x) if isinstance(x, np.ndarray) else x


def _keep_mask(src, dst):
    mask = getattr(src, "_keras_mask", None)
    if mask is not None:
        dst._keras_mask = mask
    return dst


def _collect_mask(inputs):
    if isinstance(inputs, torch.Tensor) or symbolic.is_keras_tensor(inputs):
        return getattr(inputs, "_keras_mask", None)
    masks = tree.map_structure(lambda t: getattr(t, "_keras_mask", None), inputs)
    return None if all(m is None for m in tree.flatten(masks)) else masks


def _attach_masks(outputs, masks, inputs):
    if masks is None:
        return outputs
    flat_in = {id(t) for t in tree.flatten(inputs)}
    if isinstance(outputs, torch.Tensor):
        if id(outputs) in flat_in and getattr(outputs, "_keras_mask", None) is not masks:
            # Never overwrite the mask carried by the caller's tensor: mark an alias instead.
            outputs = outputs.view_as(outputs)
        outputs._keras_mask = masks
        return outputs
    flat_out = tree.flatten(outputs)
    flat_masks = tree.flatten(masks) if tree.is_nested(masks) else [masks] * len(flat_out)
    new = []
    for out, m in zip(flat_out, flat_masks):
        if isinstance(out, torch.Tensor) and m is not None:
            if id(out) in flat_in:
                out = out.view_as(out)
            out._keras_mask = m
        new.append(out)
    return tree.pack_sequence_as(outputs, new)


def _device_type(inputs):
    for x in tree.flatten(inputs):
        if isinstance(x, torch.Tensor):
            return x.device.type
    return backend_config.get_device().type


def _cast_meta(x, dtype, promote=False):
    target = to_torch_dtype(dtype)
    return tree.map_structure(
        lambda t: t.to(target)
        if isinstance(t, torch.Tensor) and (t.is_floating_point() or (promote and t.dtype != target))
        else t,
        x,
    )


def _describe(x):
    return f"KerasTensor{x.shape}" if symbolic.is_keras_tensor(x) else x


def _specs_to_tensors(specs):
    def make(spec):
        if spec is None:
            return None
        return symbolic.KerasTensor(spec[0], dtype=spec[1])

    if isinstance(specs, tuple) and len(specs) == 2 and isinstance(specs[1], str):
        return make(specs)
    return _map_specs(make, specs)


def _map_specs(fn, specs):
    if isinstance(specs, tuple) and len(specs) == 2 and isinstance(specs[1], str):
        return fn(specs)
    if isinstance(specs, list):
        return [_map_specs(fn, s) for s in specs]
    if isinstance(specs, tuple):
        return tuple(_map_specs(fn, s) for s in specs)
    if isinstance(specs, dict):
        return {k: _map_specs(fn, v) for k, v in specs.items()}
    return fn(specs) if specs is not None else None


def _is_single_shape(shape):
    return isinstance(shape, (tuple, list, torch.Size)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in shape
    )


def _shapes_to_keras_tensors(shapes, dtype):
    """A structure of shapes (leaves are shape tuples) -> the same structure of KerasTensors."""
    if _is_single_shape(shapes):
        return symbolic.KerasTensor(shapes, dtype=dtype)
    if isinstance(shapes, dict):
        return {k: _shapes_to_keras_tensors(v, dtype) for k, v in shapes.items()}
    return [_shapes_to_keras_tensors(s, dtype) for s in shapes]


def _to_shape_structure(shape):
    if isinstance(shape, dict):
        return {k: _to_shape_structure(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) or s is None for s in shape) and any(isinstance(s, (list, tuple)) for s in shape):
        return [_to_shape_structure(s) for s in shape]
    return tuple(shape)


def _unwrap_single(x):
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x
