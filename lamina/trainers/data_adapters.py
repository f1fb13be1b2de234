"""Turn what users pass to ``fit``/``evaluate``/``predict`` into batches of device tensors.

Supported, as in Keras: numpy arrays and torch tensors (and lists / dicts of them), Python
generators, ``torch.utils.data.DataLoader`` and ``lamina.utils.PyDataset``; in addition a
``torch.utils.data.Dataset`` of samples is batched with a ``DataLoader``. Array data is moved to the
device once; each epoch draws a permutation on the device and slices batches there. String arrays
(for a ``StringLookup`` / ``TextVectorization`` front end) stay numpy arrays on the host, batched
with the same permutation. Floating-point data that is not ``floatx()`` is cast to it, as Keras
does.
"""

import itertools
import math
import random
import types
import warnings

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.utils import tree
from lamina.utils.dataset import Dataset
from lamina.utils.py_dataset import PyDataset, _OrderedPrefetcher


def unpack_x_y_sample_weight(data):
    """Split a batch into ``(x, y, sample_weight)``: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``."""
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


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The inverse of ``unpack_x_y_sample_weight``: ``x`` alone (or ``(x,)`` for a list / tuple
    ``x``), ``(x, y)`` or ``(x, y, sample_weight)``, as Keras hands batches to ``train_step``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _is_array_leaf(v):
    return isinstance(v, (np.ndarray, torch.Tensor)) or (
        hasattr(v, "__array__") and hasattr(v, "shape") and not isinstance(v, (PyDataset, dict))
    )


def is_array_data(x):
    """Whether ``x`` is an array, a tensor, or a (possibly nested) list / tuple / dict of them."""
    if x is None:
        return False
    leaves = tree.flatten(x)
    return bool(leaves) and all(v is None or _is_array_leaf(v) for v in leaves) and any(
        v is not None for v in leaves
    )


def to_device(x):
    """Convert the leaves of ``x`` to tensors on the device; other floats become ``floatx()``."""
    device = config.get_device()
    floatx = to_torch_dtype(config.floatx())

    def convert(v):
        if v is None:
            return None
        if not isinstance(v, torch.Tensor):
            array = np.asarray(v)
            if array.dtype.kind in "US":
                return array  # torch has no string tensors: strings stay on the host, in numpy
            if array.dtype.kind not in "fiub":
                return v  # objects stay as they are (e.g. for preprocessing layers)
            if array.dtype.kind == "f" and array.dtype != np.dtype(config.floatx()):
                array = array.astype(config.floatx())
            if not array.flags.writeable:  # torch.from_numpy needs writable memory
                array = array.copy()
            v = torch.from_numpy(np.ascontiguousarray(array) if array.ndim else array)
        if v.is_floating_point() and v.dtype != floatx:
            v = v.to(floatx)
        if v.device != device:
            v = v.to(device, non_blocking=True)
        return v

    return tree.map_structure(convert, x)


def class_weight_to_sample_weight(y, class_weight):
    """One weight per sample, looked up in ``class_weight`` by the sample's class.

    The class is the argmax of one-hot targets, or the (rounded) label of integer targets with
    shape ``(n,)`` or ``(n, 1)``; classes missing from ``class_weight`` weigh 1.
    """
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y.squeeze(-1)
    classes = np.round(y).astype("int64").reshape(len(y), -1)[:, 0]
    weights = np.ones(len(classes), dtype=config.floatx())
    for i, c in enumerate(classes):
        weights[i] = class_weight.get(int(c), 1.0)
    return weights


def _check_cardinality(x, y, sample_weight):
    sizes = {
        name: [int(v.shape[0]) for v in tree.flatten(value) if v is not None]
        for name, value in (("x", x), ("y", y), ("sample_weight", sample_weight))
    }
    distinct = {s for values in sizes.values() for s in values}
    if len(distinct) > 1:
        detail = " ".join(
            f"'{name}' sizes: {', '.join(map(str, values))}." for name, values in sizes.items() if values
        )
        raise ValueError(
            "Data cardinality is ambiguous: make sure all arrays contain the same number of "
            f"samples. {detail}"
        )
    return distinct.pop() if distinct else 0


def _data_device(struct):
    """The device of the first tensor in ``struct`` (string arrays live on the host)."""
    for v in tree.flatten(struct):
        if isinstance(v, torch.Tensor):
            return v.device
    return torch.device("cpu")


class ArrayDataAdapter:
    """Batches sliced from in-memory arrays, reshuffled on the device every epoch.

    Args:
        x, y, sample_weight: Arrays / tensors or nested lists / dicts of them.
        batch_size: Samples per batch; defaults to 32, or to ``ceil(n / steps)`` when only
            ``steps`` is given.
        steps: Steps per epoch, if given.
        shuffle: ``True`` to draw a new order every epoch, ``"batch"`` to shuffle the order of
            the batches and the samples within each batch, ``False`` to keep the order.
        class_weight: Dict mapping class index to weight (single-output models only).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None):
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            if tree.is_nested(y):
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            if y is None:
                raise ValueError("`class_weight` needs targets `y`.")
            sample_weight = class_weight_to_sample_weight(y, class_weight)
        if sample_weight is not None and tree.is_nested(y) and not tree.is_nested(sample_weight):
            shape = tuple(np.shape(sample_weight))
            if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
                raise ValueError(
                    "For a model with multiple outputs, when providing a single `sample_weight` "
                    "array, it should only have one scalar score per sample (i.e. shape "
                    f"`(num_samples,)`). Received shape {shape}; pass one array per output instead."
                )
        self.x, self.y, self.sample_weight = to_device(x), to_device(y), to_device(sample_weight)
        self.num_samples = _check_cardinality(self.x, self.y, self.sample_weight)
        self._has_host_arrays = any(
            isinstance(v, np.ndarray) for v in tree.flatten((self.x, self.y, self.sample_weight))
        )
        if not batch_size:
            batch_size = int(math.ceil(self.num_samples / steps)) if steps else 32
        self.batch_size = int(batch_size)
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch'. Received: shuffle={shuffle!r}")
        self.shuffle = shuffle

    @property
    def num_batches(self):
        return int(math.ceil(self.num_samples / self.batch_size))

    def _order(self):
        n, device = self.num_samples, _data_device((self.x, self.y, self.sample_weight))
        if self.shuffle is True:
            return torch.randperm(n, device=device)
        if self.shuffle == "batch":
            # Shuffle whole batches, then the samples inside each batch.
            order = torch.arange(n, device=device)
            full = (n // self.batch_size) * self.batch_size
            blocks = order[:full].view(-1, self.batch_size)
            blocks = blocks[torch.randperm(blocks.shape[0], device=device)]
            blocks = blocks.gather(1, torch.argsort(torch.rand(blocks.shape, device=device), dim=1))
            return torch.cat([blocks.reshape(-1), order[full:]])
        return None

    def __iter__(self):
        order, bs, n = self._order(), self.batch_size, self.num_samples

        host_order = order.cpu().numpy() if order is not None and self._has_host_arrays else None
        # The batches' indices, cut in one call per epoch rather than one slice per batch.
        batch_indices = order.split(bs) if order is not None else None

        def pick(v, idx, start, stop):
            if v is None:
                return None
            if isinstance(v, np.ndarray):  # string data, batched on the host
                return v[host_order[start:stop]]
            return v.index_select(0, idx)

        def take(struct, step, start, stop):
            if struct is None:
                return None
            # A single tensor (the usual x and y) skips the walk over a structure.
            if order is None:
                if isinstance(struct, torch.Tensor):
                    return struct[start:stop]
                return tree.map_structure(lambda v: v[start:stop] if v is not None else None, struct)
            idx = batch_indices[step]
            if isinstance(struct, torch.Tensor):
                return struct.index_select(0, idx)
            return tree.map_structure(lambda v: pick(v, idx, start, stop), struct)

        for step in range(self.num_batches):
            start, stop = step * bs, min((step + 1) * bs, n)
            yield pack_x_y_sample_weight(
                take(self.x, step, start, stop),
                take(self.y, step, start, stop),
                take(self.sample_weight, step, start, stop),
            )

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


def train_validation_split(arrays, validation_split):
    """Keras semantics: the last ``validation_split`` fraction becomes validation data (unshuffled)."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(
            f"`validation_split` must be in (0, 1). Received: validation_split={validation_split}"
        )
    arrays = lists_to_arrays(tuple(arrays))
    if not all(v is None or is_array_data(v) for v in arrays):
        raise ValueError(
            "Argument `validation_split` is only supported for tensors or NumPy arrays. Received "
            f"x of type {type(arrays[0]).__name__}."
        )
    n = _check_cardinality(*arrays)
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split={validation_split}`. "
            "Either provide more data, or a different value for the `validation_split` argument."
        )

    def part(struct, sl):
        return tree.map_structure(lambda v: None if v is None else v[sl], struct)

    return part(arrays, slice(0, cut)), part(arrays, slice(cut, None))


class _BatchStreamAdapter:
    """Base for data that already comes in batches; converts each batch to device tensors."""

    num_batches = None
    class_weight = None

    def _standardize(self, batch):
        if isinstance(batch, (np.ndarray, torch.Tensor)):
            batch = (batch,)
        x, y, sw = unpack_x_y_sample_weight(batch)
        if self.class_weight is not None and y is not None:
            if sw is not None:
                raise ValueError("You cannot specify `class_weight` and `sample_weight` at the same time.")
            sw = class_weight_to_sample_weight(y, self.class_weight)
        return pack_x_y_sample_weight(to_device(x), to_device(y), to_device(sw))

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class TorchDataLoaderAdapter(_BatchStreamAdapter):
    """Batches from a ``DataLoader`` (re-iterated every epoch)."""

    def __init__(self, loader):
        self.loader = loader
        try:
            self.num_batches = len(loader)
        except TypeError:  # a DataLoader over an IterableDataset may have no length
            self.num_batches = None

    def __iter__(self):
        return (self._standardize(b) for b in self.loader)


class GeneratorDataAdapter(_BatchStreamAdapter):
    """Batches from a Python generator or iterator (consumed once, across epochs)."""

    def __init__(self, generator):
        self.generator = generator

    def __iter__(self):
        return (self._standardize(b) for b in self.generator)


class PyDatasetAdapter(_BatchStreamAdapter):
    """Batches from a ``PyDataset``, prefetched by its workers when it has more than one."""

    def __init__(self, dataset, class_weight=None, shuffle=False):
        self.dataset = dataset
        self.class_weight = class_weight
        self.shuffle = bool(shuffle)
        self._within_epoch = False

    @property
    def num_batches(self):
        return self.dataset.num_batches

    def __iter__(self):
        count = self.dataset.num_batches
        if count is None:
            indices = itertools.count()
        else:
            indices = list(range(count))
            if self.shuffle:
                random.shuffle(indices)
        workers, processes = self.dataset.workers, self.dataset.use_multiprocessing
        if workers > 1 or (workers > 0 and processes):
            source = _OrderedPrefetcher(
                self.dataset, indices, workers, processes, self.dataset.max_queue_size
            )
        else:
            source = (self.dataset[i] for i in indices)
        return (self._standardize(b) for b in source)

    def on_epoch_begin(self):
        self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def _is_pydataset_like(x):
    # Keras 2 `Sequence` subclasses that do not derive from PyDataset are accepted too.
    return isinstance(x, PyDataset) or (
        hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")
        and not isinstance(x, (torch.utils.data.Dataset, np.ndarray, torch.Tensor, list, tuple, dict))
    )


def _reject(arg, value, kind):
    if value is not None:
        raise ValueError(
            f"When providing `x` as a {kind}, `{arg}` should not be passed: {kind}s yield it "
            f"themselves. Received: {arg} of type {type(value).__name__}"
        )


def _is_numbers(v):
    if isinstance(v, (list, tuple)):
        return all(_is_numbers(u) for u in v)
    return isinstance(v, (int, float, bool, np.number))


def _is_strings(v):
    if isinstance(v, (list, tuple)):
        return all(_is_strings(u) for u in v)
    return isinstance(v, (str, bytes))


def lists_to_arrays(struct):
    """Nested Python lists of numbers become numpy arrays; lists of arrays keep their structure."""
    if isinstance(struct, (list, tuple)):
        if struct and (_is_numbers(struct) or _is_strings(struct)):
            return np.asarray(struct)
        return type(struct)(lists_to_arrays(v) for v in struct)
    if isinstance(struct, dict):
        return {k: lists_to_arrays(v) for k, v in struct.items()}
    return struct


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None,
                     shuffle=False, class_weight=None):
    """Pick the adapter for ``x`` and check that the other arguments fit it."""
    x, y, sample_weight = lists_to_arrays((x, y, sample_weight))
    if is_array_data(x):
        if y is not None and not is_array_data(y):
            raise ValueError(
                f"`y` must be arrays or tensors like `x`. Received: y of type {type(y).__name__}"
            )
        return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size, steps=steps_per_epoch,
                                shuffle=shuffle, class_weight=class_weight)
    if isinstance(x, PyDataset) or _is_pydataset_like(x):
        _reject("y", y, "PyDataset")
        _reject("sample_weight", sample_weight, "PyDataset")
        if not isinstance(x, PyDataset):
            x = _LegacySequence(x)
        # A `Dataset` orders itself, as Keras leaves a tf.data dataset's order to the dataset.
        return PyDatasetAdapter(x, class_weight=class_weight, shuffle=shuffle and not isinstance(x, Dataset))
    if isinstance(x, torch.utils.data.DataLoader):
        _reject("y", y, "torch DataLoader")
        _reject("sample_weight", sample_weight, "torch DataLoader")
        if class_weight is not None:
            raise ValueError(
                "Argument `class_weight` is not supported for torch DataLoader inputs: return "
                "`(x, y, sample_weight)` from the dataset instead."
            )
        return TorchDataLoaderAdapter(x)
    if isinstance(x, torch.utils.data.Dataset):
        _reject("y", y, "torch Dataset")
        _reject("sample_weight", sample_weight, "torch Dataset")
        if class_weight is not None:
            raise ValueError("Argument `class_weight` is not supported for torch Dataset inputs.")
        iterable = isinstance(x, torch.utils.data.IterableDataset)
        loader = torch.utils.data.DataLoader(x, batch_size=batch_size or 32,
                                             shuffle=bool(shuffle) and not iterable)
        return TorchDataLoaderAdapter(loader)
    if isinstance(x, types.GeneratorType) or (hasattr(x, "__next__") and hasattr(x, "__iter__")):
        _reject("y", y, "generator")
        _reject("sample_weight", sample_weight, "generator")
        if class_weight is not None:
            raise ValueError(
                "Argument `class_weight` is not supported for Python generator inputs. "
                f"Received: class_weight={class_weight}"
            )
        return GeneratorDataAdapter(x)
    raise ValueError(
        f"Unrecognized data type: x={type(x).__name__}. Expected numpy arrays or tensors (or "
        "lists / dicts of them), a PyDataset, a torch DataLoader or Dataset, or a Python generator."
    )


class _LegacySequence(PyDataset):
    """View of a Keras 2 style sequence (``__getitem__``/``__len__``/``on_epoch_end``)."""

    def __init__(self, sequence):
        super().__init__()
        self.sequence = sequence

    def __len__(self):
        return len(self.sequence)

    def __getitem__(self, index):
        return self.sequence[index]

    def on_epoch_end(self):
        self.sequence.on_epoch_end()


class EpochIterator:
    """Yield ``(step, batch)`` for each epoch, following Keras's ``steps_per_epoch`` rules.

    Without ``steps_per_epoch`` every epoch is a full pass. With it, the data is read on from where
    the previous epoch stopped and restarted once exhausted; an epoch that runs out of data early
    ends with a warning. The first batch can be read before training (``peek``) to validate it.
    """

    def __init__(self, adapter, steps_per_epoch=None):
        self.adapter = adapter
        self.steps_per_epoch = steps_per_epoch
        self._iterator = None
        self._seen = 0
        self._peeked = None
        self._in_epoch = False

    @property
    def num_batches(self):
        return self.steps_per_epoch or self.adapter.num_batches

    def peek(self):
        """The first batch of the next epoch (it is still delivered by that epoch)."""
        if self._peeked is None:
            self._begin_epoch()
            if self._iterator is None or self.steps_per_epoch is None:
                self._iterator = iter(self.adapter)
                self._seen = 0
            try:
                self._peeked = next(self._iterator)
            except StopIteration:
                return None
        return self._peeked

    def _begin_epoch(self):
        # `on_epoch_begin` runs once per epoch, before its first batch is read (even ahead).
        if not self._in_epoch:
            self._in_epoch = True
            self.adapter.on_epoch_begin()

    def __iter__(self):
        self._begin_epoch()
        total = self.adapter.num_batches
        steps = self.steps_per_epoch or total
        if self._peeked is None and (self._iterator is None or self.steps_per_epoch is None):
            self._iterator = iter(self.adapter)
            self._seen = 0
        step = 0
        try:
            while steps is None or step < steps:
                if total is not None and self._seen >= total:
                    if self.steps_per_epoch:
                        _ran_out()
                    break
                if self._peeked is not None:
                    batch, self._peeked = self._peeked, None
                else:
                    try:
                        batch = next(self._iterator)
                    except StopIteration:
                        self._iterator = None
                        if self.steps_per_epoch or step == 0:
                            _ran_out()
                        break
                self._seen += 1
                yield step, batch
                step += 1
            if total is not None and self._seen >= total:
                self._iterator = None
        finally:
            self._in_epoch = False
            self.adapter.on_epoch_end()


def _ran_out():
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches.",
        stacklevel=3,
    )
