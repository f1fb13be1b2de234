"""Turn what users pass to ``fit``/``evaluate``/``predict`` into an iterator of batches.

Supported: numpy arrays and torch tensors (and lists / dicts of them), ``torch.utils.data.Dataset``
and ``DataLoader``, Python generators, and ``lamina.utils.PyDataset``. Array data is moved to the
device once; each epoch draws a permutation and slices batches on the device.
"""

import math

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.utils import tree


def unpack_x_y_sample_weight(data):
    """Split a batch into ``(x, y, sample_weight)`` the way Keras does for tuples."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} elements."
    )


def _is_array(x):
    return isinstance(x, (np.ndarray, torch.Tensor)) or (
        isinstance(x, (list, tuple)) and x and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in x)
    )


def _to_device_tensor(x):
    if x is None:
        return None
    return tree.map_structure(lambda v: convert_to_tensor(v) if v is not None else None, x)


class ArrayAdapter:
    """Batches of in-memory arrays, shuffled on the device each epoch."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x = _to_device_tensor(x)
        self.y = _to_device_tensor(y)
        self.sample_weight = _to_device_tensor(sample_weight)
        lengths = {int(v.shape[0]) for v in tree.flatten([self.x, self.y, self.sample_weight]) if v is not None}
        if len(lengths) > 1:
            sizes = {
                name: [int(v.shape[0]) for v in tree.flatten(val) if v is not None]
                for name, val in (("x", self.x), ("y", self.y), ("sample_weight", self.sample_weight))
                if val is not None
            }
            raise ValueError(
                f"Data cardinality is ambiguous: all arrays must contain the same number of samples. "
                f"Received sizes: {sizes}"
            )
        self.num_samples = lengths.pop() if lengths else 0
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.steps = steps

    @property
    def num_batches(self):
        full = math.ceil(self.num_samples / self.batch_size)
        return min(full, self.steps) if self.steps else full

    def __iter__(self):
        n, bs = self.num_samples, self.batch_size
        device = tree.flatten(self.x)[0].device
        order = torch.randperm(n, device=device) if self.shuffle else None

        def take(struct, start, stop):
            if struct is None:
                return None
            if order is None:
                return tree.map_structure(lambda v: v[start:stop], struct)
            idx = order[start:stop]
            return tree.map_structure(lambda v: v.index_select(0, idx), struct)

        for step in range(self.num_batches):
            start, stop = step * bs, min((step + 1) * bs, n)
            batch = (take(self.x, start, stop), take(self.y, start, stop), take(self.sample_weight, start, stop))
            yield batch

    def split(self, validation_split):
        """Keras semantics: the last ``validation_split`` fraction, taken before shuffling."""
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"`validation_split` must be in (0, 1). Received: {validation_split}")
        cut = int(self.num_samples * (1.0 - validation_split))

        def part(struct, sl):
            return None if struct is None else tree.map_structure(lambda v: v[sl], struct)

        train = (part(self.x, slice(0, cut)), part(self.y, slice(0, cut)), part(self.sample_weight, slice(0, cut)))
        val = (part(self.x, slice(cut, None)), part(self.y, slice(cut, None)), part(self.sample_weight, slice(cut, None)))
        return train, val


class IterableAdapter:
    """Batches from a DataLoader, a Dataset, a PyDataset or a generator (already batched)."""

    def __init__(self, data, steps=None, batch_size=None, shuffle=False):
        if isinstance(data, torch.utils.data.Dataset) and not _is_pydataset(data):
            # A map-style or iterable Dataset yields samples: batch them like Keras would.
            data = torch.utils.data.DataLoader(data, batch_size=batch_size or 32, shuffle=shuffle)
        self.data = data
        self.steps = steps

    @property
    def num_batches(self):
        if self.steps:
            return self.steps
        try:
            return len(self.data)
        except TypeError:
            return None

    def __iter__(self):
        source = self.data
        if _is_pydataset(source):
            iterator = (source[i] for i in range(len(source)))
        else:
            iterator = iter(source)
        for step, batch in enumerate(iterator):
            if self.steps and step >= self.steps:
                break
            x, y, sw = unpack_x_y_sample_weight(batch)
            yield _to_device_tensor(x), _to_device_tensor(y), _to_device_tensor(sw)
        if _is_pydataset(source):
            source.on_epoch_end()


def _is_pydataset(data):
    return hasattr(data, "__getitem__") and hasattr(data, "on_epoch_end") and hasattr(data, "__len__")


def get_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False):
    """Pick the adapter for ``x``; validate that ``y`` / ``sample_weight`` fit it."""
    if isinstance(x, (torch.utils.data.DataLoader,)) or _is_pydataset(x) or hasattr(x, "__next__"):
        if y is not None:
            raise ValueError(
                "`y` must not be passed when `x` is a dataset, DataLoader, PyDataset or generator: "
                "the targets come from `x`."
            )
        return IterableAdapter(x, steps=steps)
    if isinstance(x, torch.utils.data.Dataset):
        if y is not None:
            raise ValueError("`y` must not be passed when `x` is a torch Dataset.")
        return IterableAdapter(x, steps=steps, batch_size=batch_size, shuffle=shuffle)
    if isinstance(x, dict) or _is_array(x) or isinstance(x, (list, tuple)):
        return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, steps=steps)
    raise ValueError(
        f"Unrecognized data type: x={type(x).__name__}. Expected arrays, tensors, a Dataset, "
        "a DataLoader, a PyDataset or a generator."
    )
