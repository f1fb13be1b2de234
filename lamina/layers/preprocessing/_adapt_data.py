"""How ``adapt()`` of the numeric preprocessing layers reads its data.

``adapt`` accepts what Keras 3 accepts (an array, a tensor, an iterable of batches such as a
generator, a list of arrays or a ``torch.utils.data.DataLoader``; ``(x, y)`` batches give their
``x``) and the Keras 2 forms: ``batch_size`` to stream an array in batches, ``steps`` to stop
after that many batches, and a plain (nested) list of numbers as one array.
"""

import numpy as np
import torch


def is_array(x):
    return isinstance(x, (np.ndarray, torch.Tensor)) or hasattr(x, "_is_lamina_variable")


def _features(batch):
    # (x, y) / (x, y, sample_weight) batches, and DataLoader's [x, y] lists of tensors.
    if isinstance(batch, tuple) or (isinstance(batch, list) and batch and all(is_array(b) for b in batch)):
        return batch[0]
    return batch


def _is_number_list(data):
    # A list holding arrays is a list of batches (Keras 3); numbers and nested lists are one array.
    if not isinstance(data, (list, tuple)) or any(is_array(item) for item in data):
        return False
    try:
        arr = np.asarray(data)
    except ValueError:
        return False
    return arr.dtype.kind in "biuf"


def _positive_int_or_none(value, name, layer):
    if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
        raise ValueError(
            f"`{name}` of {type(layer).__name__}.adapt() must be a positive integer or None. "
            f"Received: {name}={value!r}"
        )


def adapt_batches(data, layer, batch_size=None, steps=None):
    """Returns ``(whole, batches)``: the data as one array/tensor when it came as one and is not to
    be streamed (``batches`` is then None), else ``(None, iterator of batches)``."""
    _positive_int_or_none(batch_size, "batch_size", layer)
    _positive_int_or_none(steps, "steps", layer)
    if isinstance(data, (str, bytes, dict)) or data is None:
        raise TypeError(
            f"{type(layer).__name__}.adapt() expects a numpy array, a tensor, a list of numbers or an "
            f"iterable of batches. Received: {type(data).__name__}"
        )
    if _is_number_list(data):
        data = np.asarray(data)
    if is_array(data):
        if hasattr(data, "_is_lamina_variable"):
            data = data.detach()
        if batch_size is None and steps is None:
            return data, None
        size = batch_size or 32
        count = -(-int(data.shape[0]) // size) if data.ndim else 1
        if steps is not None:
            count = min(count, steps)
        return None, (data[i * size : (i + 1) * size] for i in range(count))
    if not hasattr(data, "__iter__"):
        raise TypeError(
            f"{type(layer).__name__}.adapt() expects a numpy array, a tensor, a list of numbers or an "
            f"iterable of batches. Received: {type(data).__name__}"
        )

    def batches():
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                return
            yield _features(batch)

    return None, batches()
