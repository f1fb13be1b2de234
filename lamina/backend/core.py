"""Conversion between numpy / Python values and torch tensors, done once at the boundary."""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.torch_compat import unset_fake_temporarily


def is_tensor(x):
    return isinstance(x, torch.Tensor)


_ONES = {}


def one_like(t):
    """A shared 0-d ``1`` of ``t``'s dtype and device (callers only read it).

    For counters: ``count.add_(one_like(count), alpha=n)`` adds a Python int ``n`` without wrapping
    it in a new tensor, which costs about twice as much per call.
    """
    key = (t.dtype, t.device)
    one = _ONES.get(key)
    if one is None:
        # A real tensor, usable anywhere: not a fake one when first asked for during symbolic
        # shape inference (a metric updated in a layer's `call`), nor an inference tensor.
        with unset_fake_temporarily(), torch.inference_mode(False):
            one = _ONES[key] = torch.ones((), dtype=t.dtype, device=t.device)
    return one


def convert_to_tensor(x, dtype=None, device=None):
    """Return ``x`` as a torch tensor on the configured device.

    Python floats and float64 numpy arrays become ``floatx()`` unless ``dtype`` says otherwise, as in
    Keras; integer and boolean data keep their kind.
    """
    if hasattr(x, "_is_lamina_variable"):
        # A plain tensor sharing the variable's memory (and its gradient path), not the Parameter.
        x = x.view_as(x) if x.requires_grad else x.detach()
    torch_dtype = None if dtype is None else to_torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        if torch_dtype is not None and x.dtype != torch_dtype:
            x = x.to(torch_dtype)
        if device is not None and x.device != torch.device(device):
            x = x.to(device)
        return x
    target = torch.device(device) if device is not None else config.get_device()
    if torch_dtype is None:
        arr = np.asarray(x)
        if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
            torch_dtype = to_torch_dtype(config.floatx())
        elif arr.dtype.kind == "f" and isinstance(x, np.ndarray):
            torch_dtype = to_torch_dtype(arr.dtype.name)
        elif arr.dtype.kind in "iub":
            torch_dtype = to_torch_dtype(arr.dtype.name)
        elif arr.dtype.kind == "f":
            torch_dtype = to_torch_dtype(config.floatx())
        elif arr.dtype.kind in "OUS":
            raise TypeError(f"Cannot convert {type(x).__name__} of dtype {arr.dtype} to a tensor.")
        x = arr
    if isinstance(x, np.ndarray) and x.dtype.kind in "iufb" and not x.flags.writeable:
        # A read-only buffer (`np.asarray` of a PIL image, a memory map): torch would warn and
        # could share it; the tensor gets its own copy instead.
        x = np.array(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iufb" and x.flags.writeable:
        # ascontiguousarray would turn a 0-d array into shape (1,).
        t = torch.from_numpy(x if x.ndim == 0 else np.ascontiguousarray(x))
        return t.to(device=target, dtype=torch_dtype or t.dtype)
    return torch.as_tensor(np.asarray(x), dtype=torch_dtype, device=target)


def convert_to_numpy(x):
    """Return ``x`` as a numpy array (tensors are detached and moved to the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def cast(x, dtype):
    return convert_to_tensor(x).to(to_torch_dtype(dtype))


def standardize_shape(shape):
    """Validate a shape: a tuple of non-negative ints or ``None``."""
    if shape is None:
        raise ValueError("Undefined shapes are not supported.")
    if isinstance(shape, int):
        shape = (shape,)
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if not isinstance(shape, (tuple, list)):
        raise ValueError(f"Cannot interpret {shape!r} as a shape: expected a tuple of integers.")
    out = []
    for d in shape:
        if d is None:
            out.append(None)
            continue
        if hasattr(d, "__index__") and not isinstance(d, bool):
            d = int(d)
            if d < 0:
                raise ValueError(f"Negative dimension in shape {tuple(shape)}.")
            out.append(d)
            continue
        raise ValueError(f"Cannot interpret {shape!r} as a shape: {d!r} is not an integer.")
    return tuple(out)


__all__ = [
    "is_tensor",
    "convert_to_tensor",
    "convert_to_numpy",
    "cast",
    "standardize_dtype",
    "standardize_shape",
]
