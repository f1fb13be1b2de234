"""Shared base of the lookup, hashing and text layers: they run on the host, in numpy.

torch has no string tensors, so these layers take strings as Python lists, nested lists or numpy
arrays (unicode, bytes or object dtype) and work on numpy; numeric results come back as torch
tensors (int64 indices, float32 encodings). Eager calls therefore skip the tensor conversion of
``Layer.__call__``; symbolic calls, string ones (``Input(dtype="string")``) included, go through it
and get their output from ``compute_output_shape``.
"""

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import is_int_dtype
from lamina.backend import symbolic
from lamina.layers.layer import Layer
from lamina.utils import tree


class HostDataLayer(Layer):
    """A layer whose eager ``call`` receives the caller's data unconverted (it may hold strings)."""

    # Output dtype of symbolic calls; subclasses set it from their output mode.
    _output_dtype = "int64"
    # Symbolic string inputs (``Input(dtype="string")``) are welcome; the output shape comes from
    # ``compute_output_shape`` (no fake-tensor run, which would need a torch dtype).
    _accepts_string_inputs = True
    # What symbolic inputs must hold: "string", "integer", or None (anything); eager calls check
    # the data itself.
    _expected_input = None

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        if symbolic.any_symbolic(args, kwargs):
            self._check_symbolic_input(args[0])
            return super().__call__(*args, **kwargs)
        if len(args) > 1:
            raise TypeError(f"Layer '{self.name}' takes a single input; received {len(args)} positional arguments.")
        self.built = True
        return self.call(args[0])

    def _check_symbolic_input(self, inputs):
        expected = self._expected_input
        if expected is None:
            return
        for t in tree.flatten(inputs):
            if not symbolic.is_keras_tensor(t):
                continue
            if expected == "string":
                ok = t.dtype == "string"
            else:
                ok = is_int_dtype(t.dtype) or t.dtype == "bool"
            if ok:
                continue
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {expected} inputs. Received a "
                f"symbolic input of dtype {t.dtype} and shape {t.shape}."
            )

    @property
    def compute_dtype(self):
        # The dtype of the symbolic outputs (Keras also reports the lookup dtype here, not floatx).
        return self._output_dtype

    def build(self, input_shape=None):
        self.built = True

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.built = True


def to_numpy(x, layer):
    """The caller's data as a numpy array (strings stay strings); ragged lists are refused."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "_is_lamina_variable"):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes)):
        return np.array(x, dtype=object)
    try:
        return np.asarray(x)
    except ValueError as e:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects rectangular inputs (a numpy array or "
            f"nested lists of equal lengths); ragged inputs are not supported. Received: {x!r}"
        ) from e


def is_string_array(arr):
    if arr.dtype.kind in "US":
        return True
    if arr.dtype.kind == "O":
        return all(isinstance(v, (str, bytes)) for v in arr.reshape(-1).tolist())
    return False


def string_list(arr, encoding, layer):
    """Flat list of Python ``str`` from a string array (bytes are decoded with ``encoding``)."""
    if not is_string_array(arr):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects string inputs. Received an input of "
            f"dtype {arr.dtype} and shape {arr.shape}."
        )
    flat = arr.reshape(-1).tolist()
    return [v.decode(encoding) if isinstance(v, bytes) else v for v in flat]


def int_array(arr, layer):
    """``arr`` as int64, refusing strings and floats (they are never silently cast)."""
    if arr.dtype.kind not in "iub":
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects integer inputs. Received an input of "
            f"dtype {arr.dtype} and shape {arr.shape}."
        )
    return arr.astype(np.int64)


def to_output_tensor(arr, dtype):
    # Not np.ascontiguousarray: it turns a 0-d array into shape (1,).
    arr = np.asarray(arr)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    return convert_to_tensor(arr, dtype=dtype)


def encode_rows(flat_indices, row_ids, num_rows, depth, output_mode, idf_weights=None):
    """Per-row ``multi_hot`` / ``count`` / ``tf_idf`` encoding of indices; negative ones are dropped.

    Returns:
        A float32 numpy array of shape ``(num_rows, depth)``.
    """
    out = np.zeros((num_rows, depth), dtype=np.float32)
    flat_indices = np.asarray(flat_indices, dtype=np.int64)
    row_ids = np.asarray(row_ids, dtype=np.int64)
    keep = (flat_indices >= 0) & (flat_indices < depth)
    if output_mode == "multi_hot":
        out[row_ids[keep], flat_indices[keep]] = 1.0
        return out
    np.add.at(out, (row_ids[keep], flat_indices[keep]), 1.0)
    if output_mode == "tf_idf":
        out *= np.asarray(idf_weights, dtype=np.float32)[:depth]
    return out


def encode_dense(indices, output_mode, depth, idf_weights=None):
    """Encode an int64 array of indices as Keras does (negative indices are dropped).

    ``one_hot`` encodes each element (a trailing axis of size 1 is replaced); the other modes treat
    the last axis as the sample and return ``shape[:-1] + (depth,)``. Scalars count as one sample.
    """
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices.reshape(indices.shape[:-1])
        flat = indices.reshape(-1)
        out = encode_rows(flat, np.arange(flat.size), flat.size, depth, "multi_hot")
        return out.reshape(indices.shape + (depth,))
    lead = indices.shape[:-1]
    rows = indices.reshape(-1, indices.shape[-1])
    row_ids = np.repeat(np.arange(rows.shape[0]), rows.shape[1])
    out = encode_rows(rows.reshape(-1), row_ids, rows.shape[0], depth, output_mode, idf_weights)
    return out.reshape(lead + (depth,))


def encoded_shape(input_shape, output_mode, depth):
    """Static output shape of ``encode_dense`` for ``input_shape``."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


def validate_choice(value, allowed, layer_name, arg_name):
    if value not in allowed:
        raise ValueError(
            f"Invalid value for argument `{arg_name}` of {layer_name}. Expected one of "
            f"{list(allowed)}. Received: {arg_name}={value!r}"
        )
