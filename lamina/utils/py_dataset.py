"""``PyDataset`` (alias ``Sequence``): a dataset written in Python that returns whole batches.

``fit``/``evaluate``/``predict`` read a ``PyDataset`` batch by batch. With ``workers > 1`` (or
``use_multiprocessing=True``) the next batches are prepared ahead of time, in order, by a pool of
threads (or of forked processes) while the model trains on the current one.
"""

import collections
import itertools
import multiprocessing
import warnings
from concurrent import futures


class PyDataset:
    """Base class for datasets written in Python: each item is a complete batch.

    Subclasses implement ``__len__`` (the number of batches) and ``__getitem__(index)`` (batch
    ``index``: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, as numpy arrays or tensors).
    ``on_epoch_begin`` / ``on_epoch_end`` run around every epoch (e.g. to reshuffle the samples).
    A dataset whose ``num_batches`` is ``None`` is infinite: ``fit`` then needs ``steps_per_epoch``.

    Args:
        workers: Number of threads (or processes) preparing batches ahead of the training loop.
            1 (the default) reads batches in the loop itself, 0 as well.
        use_multiprocessing: Prepare batches in forked worker processes instead of threads, for
            CPU-bound Python code. The workers see the dataset as it was when the epoch began, and
            batches travel back pickled. Where ``fork`` is unavailable, threads are used (with a
            warning).
        max_queue_size: How many batches may wait, prepared, in front of the training loop.

    Example:

    >>> class Batches(lamina.utils.PyDataset):
    ...     def __init__(self, x, y, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return math.ceil(len(self.x) / self.batch_size)
    ...     def __getitem__(self, index):
    ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return self.x[part], self.y[part]
    >>> model.fit(Batches(x, y, batch_size=32, workers=4), epochs=3)
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _setting(self, attr, default):
        # Subclasses that forget `super().__init__()` still work, with the defaults.
        if attr not in self.__dict__:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be ignored.",
                stacklevel=3,
            )
            self.__dict__[attr] = default
        return self.__dict__[attr]

    @property
    def workers(self):
        return self._setting("_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return self._setting("_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return self._setting("_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Return batch number ``index``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `__getitem__`.")

    @property
    def num_batches(self):
        """The number of batches, or ``None`` for an infinite dataset (defaults to ``len(self)``)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__len__` or the `num_batches` property."
        )

    def __iter__(self):
        count = self.num_batches
        indices = range(count) if count is not None else itertools.count()
        for index in indices:
            yield self[index]

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


# Keras 2 name.
Sequence = PyDataset

# The dataset a forked worker process reads from; set in the parent just before the fork.
_WORKER_DATASET = None


def _set_worker_dataset(dataset):
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _worker_getitem(index):
    return _WORKER_DATASET[index]


def _fork_context():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


class _OrderedPrefetcher:
    """Read ``dataset[i]`` for ``i`` in ``indices`` ahead of time in a pool; yield them in order.

    At most ``max_queue_size`` batches (and at least ``workers``) are requested ahead of the
    consumer. The pool lives for one pass over ``indices``, so a process pool sees the dataset as
    ``on_epoch_begin`` left it.
    """

    def __init__(self, dataset, indices, workers, use_multiprocessing, max_queue_size):
        self.dataset = dataset
        self.indices = indices
        self.workers = max(int(workers), 1)
        self.depth = max(int(max_queue_size or 1), self.workers)
        self.use_processes = bool(use_multiprocessing)
        if self.use_processes and _fork_context() is None:
            warnings.warn(
                "`use_multiprocessing=True` needs the 'fork' start method, which this platform "
                "lacks; batches are prepared in threads instead.",
                stacklevel=2,
            )
            self.use_processes = False

    def _make_pool(self):
        if not self.use_processes:
            return futures.ThreadPoolExecutor(self.workers), self.dataset.__getitem__
        # With 'fork' the workers inherit the dataset: it need not be picklable.
        pool = futures.ProcessPoolExecutor(
            self.workers,
            mp_context=_fork_context(),
            initializer=_set_worker_dataset,
            initargs=(self.dataset,),
        )
        return pool, _worker_getitem

    def __iter__(self):
        pool, getitem = self._make_pool()
        pending = collections.deque()
        indices = iter(self.indices)
        try:
            for index in itertools.islice(indices, self.depth):
                pending.append(pool.submit(getitem, index))
            while pending:
                batch = pending.popleft().result()
                for index in itertools.islice(indices, 1):
                    pending.append(pool.submit(getitem, index))
                yield batch
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
