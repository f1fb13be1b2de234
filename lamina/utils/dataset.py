"""``Dataset``: what Lamina's ``*_dataset_from_*`` utilities return in place of a ``tf.data.Dataset``.

A ``Dataset`` is an indexable pipeline of elements (an array, or a tuple / dict of arrays),
built lazily from a source by ``batch``, ``shuffle``, ``map``, ``take``, ``skip``, ``cache``,
``repeat`` and ``concatenate``, the ``tf.data`` methods Keras code calls on these datasets.

Reading it gives CPU torch tensors, as ``tf.data`` gives tensors: Lamina's tensors are torch
tensors, and Keras code calls ``batch.numpy()``, ``int(label)`` and ``np.array(images[i])`` on
them. Text stays in numpy arrays of ``str`` (torch has no string tensors), which Lamina's text
layers take (and which have ``.numpy()`` too). ``as_numpy_iterator()`` gives numpy arrays throughout. Functions given to ``map``
receive elements in the same form.

It is a ``PyDataset`` (item ``i`` is batch ``i``), so ``fit`` / ``evaluate`` / ``predict`` take it
as they take any ``PyDataset``, and its ``workers`` setting prepares batches in threads ahead of
the training loop. Every epoch (every ``iter()``, or every ``fit`` epoch) draws a new order for
the shuffled stages, from the stage's seed when one was given.
"""

import itertools
import math

import numpy as np
import torch

from lamina.utils.py_dataset import PyDataset


class _TextArray(np.ndarray):
    """A numpy array of strings with tf's ``.numpy()`` (Keras examples call it on text batches)."""

    def numpy(self):
        return self.view(np.ndarray)


def _to_torch(structure):
    """Numeric numpy leaves become CPU torch tensors (zero-copy where possible); strings stay numpy."""
    if isinstance(structure, tuple):
        return tuple(_to_torch(s) for s in structure)
    if isinstance(structure, list):
        return [_to_torch(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _to_torch(v) for k, v in structure.items()}
    if isinstance(structure, (np.ndarray, np.generic)) and structure.dtype.kind in "biuf":
        array = np.asarray(structure)
        if not array.flags.writeable or not array.flags.c_contiguous:
            array = np.array(array)  # torch.from_numpy needs writable, contiguous memory
        return torch.from_numpy(array)
    if isinstance(structure, np.ndarray) and structure.dtype.kind in "US":
        return structure.view(_TextArray)
    return structure


def _to_numpy(structure):
    if isinstance(structure, tuple):
        return tuple(_to_numpy(s) for s in structure)
    if isinstance(structure, list):
        return [_to_numpy(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _to_numpy(v) for k, v in structure.items()}
    if isinstance(structure, torch.Tensor):
        return structure.detach().cpu().numpy()
    if isinstance(structure, _TextArray):
        return structure.view(np.ndarray)
    return structure


def _stack(elements, pad=False):
    """Stack a list of elements (arrays / tensors / strings, or tuples / dicts of them)."""
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(_stack(list(column), pad) for column in zip(*elements))
    if isinstance(first, list):
        return [_stack(list(column), pad) for column in zip(*elements)]
    if isinstance(first, dict):
        return {key: _stack([e[key] for e in elements], pad) for key in first}
    if isinstance(first, torch.Tensor):
        if pad:
            return torch.from_numpy(_pad_stack([np.asarray(e) for e in elements]))
        return torch.stack([torch.as_tensor(e) for e in elements])
    arrays = [np.asarray(e) for e in elements]
    return _pad_stack(arrays) if pad else np.stack(arrays)


def _pad_stack(arrays):
    # Zero-pad every axis to the longest in the batch (tf.data's `padded_batch`).
    shape = tuple(max(a.shape[d] for a in arrays) for d in range(arrays[0].ndim))
    out = np.zeros((len(arrays),) + shape, dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[(i,) + tuple(slice(0, s) for s in a.shape)] = a
    return out


def _slice(data, index):
    if isinstance(data, tuple):
        return tuple(_slice(d, index) for d in data)
    if isinstance(data, list):
        return [_slice(d, index) for d in data]
    if isinstance(data, dict):
        return {k: _slice(v, index) for k, v in data.items()}
    return data[index]


def _length(data):
    if isinstance(data, (tuple, list)):
        lengths = {_length(d) for d in data}
    elif isinstance(data, dict):
        lengths = {_length(v) for v in data.values()}
    else:
        return len(data)
    if len(lengths) != 1:
        raise ValueError(f"All arrays must have the same number of samples. Received lengths: {sorted(lengths)}")
    return lengths.pop()


def _as_arrays(data):
    if isinstance(data, (tuple, list)) and data and not all(np.isscalar(d) for d in data):
        return type(data)(_as_arrays(d) for d in data)
    if isinstance(data, dict):
        return {k: _as_arrays(v) for k, v in data.items()}
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    return np.asarray(data)


class Dataset(PyDataset):
    """A sequence of elements (single samples, or batches after ``batch``), read as torch tensors.

    Build one with ``Dataset.from_tensor_slices`` or one of the ``lamina.utils.*_dataset_from_*``
    functions, then chain ``batch`` / ``shuffle`` / ``map`` / ``take`` / ``skip`` / ``cache``.
    ``len(ds)`` is the number of elements; ``ds[i]`` is element ``i`` of the current epoch; a
    ``for`` loop starts a new epoch. Set ``ds.workers = 4`` to prepare batches in 4 threads
    while ``fit`` trains.

    Example:

    >>> ds = lamina.utils.Dataset.from_tensor_slices((x, y)).shuffle(seed=1).batch(32)
    >>> for x_batch, y_batch in ds:
    ...     pass
    >>> model.fit(ds, epochs=3)
    """

    def __init__(self, parent=None):
        super().__init__()
        self._parent = parent

    # --- the stage interface: subclasses define the length and the element of the epoch ---
    def __len__(self):
        raise NotImplementedError

    def _element(self, index):
        raise NotImplementedError

    def _start_epoch(self):
        if self._parent is not None:
            self._parent._start_epoch()

    # --- reading ---
    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"Dataset indices must be integers. Received: {type(index).__name__}")
        if self._infinite():
            if index < 0:
                raise IndexError("A dataset repeated forever has no negative indices.")
            return _to_torch(self._element(int(index)))
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"Dataset index {index} out of range for a dataset of {n} elements.")
        return _to_torch(self._element(int(index)))

    @property
    def num_batches(self):
        """The number of elements (batches, once batched), ``None`` when repeated forever."""
        return None if self._infinite() else len(self)

    def _infinite(self):
        return self._parent is not None and self._parent._infinite()

    def __iter__(self):
        self._start_epoch()
        indices = itertools.count() if self._infinite() else range(len(self))
        for index in indices:
            yield _to_torch(self._element(index))

    def on_epoch_begin(self):
        self._start_epoch()

    def as_numpy_iterator(self):
        """Iterate over the elements as numpy arrays (as ``tf.data``'s method of that name)."""
        return (_to_numpy(element) for element in self)

    def cardinality(self):
        """The number of elements."""
        return len(self)

    # --- building ---
    @classmethod
    def from_tensor_slices(cls, data):
        """A dataset of the rows of ``data`` (an array, or a tuple / list / dict of arrays)."""
        data = _as_arrays(data)
        return _Source(_length(data), lambda i: _slice(data, i))

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Group consecutive elements into batches of ``batch_size`` (stacked arrays).

        ``num_parallel_calls``, ``deterministic`` and ``name`` are accepted for ``tf.data`` code:
        batches are assembled when read, in ``workers`` threads when set.
        """
        return _Batch(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False, name=None):
        """Like ``batch``, zero-padding every axis to the longest element of each batch.

        Only the default padding is supported: ``padded_shapes`` and ``padding_values`` must be
        ``None``.
        """
        if padded_shapes is not None or padding_values is not None:
            raise ValueError("`padded_batch` supports only padded_shapes=None and padding_values=None (pad with zeros to the longest element).")
        return _Batch(self, batch_size, drop_remainder, pad=True)

    def unbatch(self):
        """Split batches back into elements.

        Unbatching a ``batch`` stage is free; any other pipeline is read once, in its current
        epoch's order, and its rows are kept in memory.
        """
        if isinstance(self, _Batch):
            return self._parent if not self.drop_remainder else self._parent.take(len(self) * self.batch_size)
        _require_finite(self, "unbatch")
        rows = []
        for element in self:
            rows.extend(_slice(element, i) for i in range(_length(element)))
        return _Source(len(rows), rows.__getitem__)

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True, name=None):
        """Shuffle the elements, with a new order every epoch unless ``reshuffle_each_iteration=False``.

        The whole dataset is permuted (``buffer_size`` is accepted for ``tf.data`` code and does
        not limit the shuffle); with a ``seed`` the sequence of orders is reproducible.
        """
        return _Shuffle(self, seed, reshuffle_each_iteration is not False)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Apply ``map_func`` to each element; a tuple element is passed as separate arguments.

        The function runs when an element is read (in ``workers`` threads when set), so
        ``num_parallel_calls`` and ``deterministic`` are accepted for ``tf.data`` code only.
        """
        return _Map(self, map_func)

    def take(self, count, name=None):
        """The first ``count`` elements (all of them for ``count=-1``)."""
        return _Range(self, 0, count)

    def skip(self, count, name=None):
        """All but the first ``count`` elements."""
        return _Range(self, count, -1)

    def cache(self, filename="", name=None):
        """Keep each element in memory once computed; later epochs replay the first one's order.

        Only the in-memory cache exists: ``filename`` must be empty.
        """
        if filename:
            raise ValueError(f"Caching to a file is not supported; use `cache()` (in memory). Received: filename={filename!r}")
        return _Cache(self)

    def repeat(self, count=None, name=None):
        """Repeat the dataset ``count`` times (forever for ``None`` or -1), reshuffling the
        shuffled stages on every pass. A dataset repeated forever has no length: ``fit`` then
        needs ``steps_per_epoch``."""
        return _Repeat(self, count)

    def concatenate(self, dataset, name=None):
        """The elements of this dataset followed by those of ``dataset``."""
        return _Concatenate(self, dataset)

    def prefetch(self, buffer_size=None, name=None):
        """Returns the dataset itself: reading ahead is set with ``workers`` (``PyDataset``)."""
        return self


class _Source(Dataset):
    def __init__(self, length, element_fn):
        super().__init__()
        self._n, self._fn = int(length), element_fn

    def __len__(self):
        return self._n

    def _element(self, index):
        return self._fn(index)


class _Batch(Dataset):
    def __init__(self, parent, batch_size, drop_remainder=False, pad=False):
        super().__init__(parent)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
        self.batch_size, self.drop_remainder, self._pad = int(batch_size), bool(drop_remainder), pad

    def __len__(self):
        n = len(self._parent)
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)

    def _element(self, index):
        start = index * self.batch_size
        stop = start + self.batch_size
        if not self._parent._infinite():
            stop = min(stop, len(self._parent))
        return _stack([self._parent._element(i) for i in range(start, stop)], self._pad)


def _require_finite(parent, what):
    if parent._infinite():
        raise ValueError(f"`{what}` needs a finite dataset: call it before `repeat()`.")


class _Shuffle(Dataset):
    def __init__(self, parent, seed, reshuffle):
        super().__init__(parent)
        _require_finite(parent, "shuffle")
        self._rng = np.random.default_rng(seed)
        self._reshuffle = bool(reshuffle)
        self._order = None
        self._fresh = False  # drawn ahead of the first epoch (by indexing before iterating)

    def __len__(self):
        return len(self._parent)

    def _draw(self):
        self._order = self._rng.permutation(len(self._parent))

    def _start_epoch(self):
        super()._start_epoch()
        if self._order is None or (self._reshuffle and not self._fresh):
            self._draw()
        self._fresh = False

    def _element(self, index):
        if self._order is None:
            self._draw()
            self._fresh = True
        return self._parent._element(int(self._order[index]))


class _Map(Dataset):
    def __init__(self, parent, fn):
        super().__init__(parent)
        if not callable(fn):
            raise TypeError(f"`map_func` must be callable. Received: {fn!r}")
        self._fn = fn

    def __len__(self):
        return len(self._parent)

    def _element(self, index):
        element = _to_torch(self._parent._element(index))
        return self._fn(*element) if isinstance(element, tuple) else self._fn(element)


class _Range(Dataset):
    def __init__(self, parent, start, count):
        super().__init__(parent)
        self._start, self._count = int(start), int(count)

    def _infinite(self):
        return self._count < 0 and self._parent._infinite()

    def __len__(self):
        if self._parent._infinite():
            return self._count
        available = max(len(self._parent) - self._start, 0)
        return available if self._count < 0 else min(self._count, available)

    def _element(self, index):
        return self._parent._element(self._start + index)


class _Cache(Dataset):
    def __init__(self, parent):
        super().__init__(parent)
        _require_finite(parent, "cache")
        self._store = {}

    def __len__(self):
        return len(self._parent)

    def _start_epoch(self):
        # Once every element is stored the upstream stages are not read (nor reshuffled) again.
        if len(self._store) < len(self):
            self._store.clear()
            super()._start_epoch()

    def _element(self, index):
        if index not in self._store:
            self._store[index] = self._parent._element(index)
        return self._store[index]


class _Repeat(Dataset):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = None if count is None or count < 0 else int(count)
        self._pass = 0

    def _infinite(self):
        return self._count is None or self._parent._infinite()

    def __len__(self):
        if self._infinite():
            raise TypeError("A dataset repeated forever has no length.")
        return len(self._parent) * self._count

    def _start_epoch(self):
        super()._start_epoch()
        self._pass = 0

    def _element(self, index):
        n = len(self._parent)
        if n == 0:
            raise IndexError("Cannot read from a repeated empty dataset.")
        current = index // n
        if current != self._pass:  # a new pass over the data: a new order for shuffled stages
            self._parent._start_epoch()
            self._pass = current
        return self._parent._element(index % n)


class _Concatenate(Dataset):
    def __init__(self, first, second):
        super().__init__(first)
        if not isinstance(second, Dataset):
            raise TypeError(f"`dataset` must be a lamina.utils.Dataset. Received: {type(second).__name__}")
        self._second = second

    def _infinite(self):
        return self._parent._infinite() or self._second._infinite()

    def __len__(self):
        return len(self._parent) + len(self._second)

    def _start_epoch(self):
        super()._start_epoch()
        self._second._start_epoch()

    def _element(self, index):
        if self._parent._infinite():
            return self._parent._element(index)
        n = len(self._parent)
        return self._parent._element(index) if index < n else self._second._element(index - n)
