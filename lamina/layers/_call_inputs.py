"""What ``Layer.__call__`` does to its inputs before ``call``: numpy and Python data become
tensors once, string data is refused by layers that cannot read it, and the input spec's cheap
check."""

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.layers.input_spec import InputSpec
from lamina.backend import tree


def fast_spec_ok(spec, x):
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


def to_tensor(x):
    if isinstance(x, torch.Tensor) or x is None or isinstance(x, (str, bytes)):
        return x
    if isinstance(x, (np.ndarray, np.generic, float, int, bool)):
        if is_string_array(x):
            return x  # torch has no string tensors; the caller checks the layer accepts strings
        return convert_to_tensor(x)
    return x


def is_string_array(x):
    """Whether ``x`` is a numpy array of strings (unicode, bytes, or objects that are all str/bytes)."""
    if not isinstance(x, np.ndarray):
        return False
    kind = x.dtype.kind
    if kind in "US":
        return True
    return kind == "O" and x.size > 0 and all(isinstance(v, (str, bytes)) for v in x.reshape(-1).tolist())


def reject_strings(layer, structure):
    """Raise a ValueError naming ``layer`` if ``structure`` holds string data (eager or symbolic)."""
    for x in tree.flatten(structure):
        if is_string_array(x):
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


def arrays_to_tensors(x):
    """numpy arrays, and lists of plain numbers, in ``x`` become tensors; other leaves stay."""
    if isinstance(x, (np.ndarray, np.generic)) and not is_string_array(x):
        return convert_to_tensor(x)
    if isinstance(x, (list, tuple)):
        leaves = tree.flatten(x)
        if leaves and all(isinstance(v, (int, float, bool, np.number, np.bool_)) for v in leaves):
            return convert_to_tensor(np.asarray(x))
        return type(x)(arrays_to_tensors(v) for v in x)
    if isinstance(x, dict):
        return {k: arrays_to_tensors(v) for k, v in x.items()}
    return x


def to_tensor_if_array(x):
    return convert_to_tensor(x) if isinstance(x, np.ndarray) else x
