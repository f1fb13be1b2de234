"""Keras 2's enqueuers: read a ``Sequence`` or a generator ahead of the consumer, in threads.

``OrderedEnqueuer`` replays a ``Sequence`` epoch after epoch, in order (or reshuffled every epoch),
calling ``on_epoch_end`` between epochs; ``GeneratorEnqueuer`` drains a generator. Both fill a
bounded queue from background threads: ``start`` them, iterate ``get()``, and ``stop`` them.
"""

import queue
import random
import threading
import warnings

from lamina.utils.py_dataset import _OrderedPrefetcher

_POLL = 0.1  # seconds between checks of the stop flag while waiting on a full or empty queue


class _Failure:
    """An exception raised in a worker, carried to the consumer."""

    def __init__(self, error):
        self.error = error


_END = object()  # the generator is exhausted


class SequenceEnqueuer:
    """Base class: a background producer feeding a bounded queue that ``get()`` reads.

    Args:
        sequence: A ``Sequence`` (``OrderedEnqueuer``) or a generator (``GeneratorEnqueuer``).
        use_multiprocessing: Keras 2 option. ``OrderedEnqueuer`` then prepares batches in forked
            processes; ``GeneratorEnqueuer`` always uses threads (a generator cannot be shared
            between processes).
    """

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence = sequence
        self.use_multiprocessing = use_multiprocessing
        self.workers = 0
        self.queue = None
        self._stop_event = None
        self._threads = []

    def is_running(self):
        """Whether the enqueuer was started and not stopped."""
        return self._stop_event is not None and not self._stop_event.is_set()

    def start(self, workers=1, max_queue_size=10):
        """Start the background workers.

        Args:
            workers: Number of worker threads (or processes for an ``OrderedEnqueuer`` with
                ``use_multiprocessing``).
            max_queue_size: How many items may wait in the queue.
        """
        if self.is_running():
            raise RuntimeError(f"{type(self).__name__} is already running; call `stop()` first.")
        self.workers = max(int(workers), 1)
        self.queue = queue.Queue(max(int(max_queue_size), 1))
        self._stop_event = threading.Event()
        self._threads = self._start_threads()

    def stop(self, timeout=None):
        """Stop the workers and wait up to ``timeout`` seconds (``None``: until done) for them."""
        if self._stop_event is None:
            return
        self._stop_event.set()
        self._drain()  # frees producers blocked on a full queue
        for thread in self._threads:
            thread.join(timeout)
        self._drain()
        self._threads = []

    def _drain(self):
        try:
            while True:
                self.queue.get_nowait()
        except queue.Empty:
            pass

    def _put(self, item):
        """Put ``item`` in the queue unless stopped first; returns whether it was queued."""
        while not self._stop_event.is_set():
            try:
                self.queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def get(self):
        """Yield the items produced by the workers, until stopped (or the generator ends)."""
        while self.is_running() or not self.queue.empty():
            try:
                item = self.queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if isinstance(item, _Failure):
                self.stop()
                raise item.error
            if item is _END:
                self._stop_event.set()
                return
            yield item

    def __del__(self):
        if self.is_running():
            self._stop_event.set()

    def _start_threads(self):
        raise NotImplementedError


class OrderedEnqueuer(SequenceEnqueuer):
    """Read a ``Sequence`` ahead of the consumer, batches in order, epoch after epoch.

    Args:
        sequence: A ``lamina.utils.Sequence`` (``PyDataset``) or any object with ``__len__``,
            ``__getitem__`` and ``on_epoch_end``.
        use_multiprocessing: Prepare batches in forked processes instead of threads.
        shuffle: Visit the batches in a new random order every epoch.

    Example:

    >>> enqueuer = lamina.utils.data_utils.OrderedEnqueuer(sequence, shuffle=False)
    >>> enqueuer.start(workers=4, max_queue_size=10)
    >>> batches = enqueuer.get()
    >>> x, y = next(batches)
    >>> enqueuer.stop()
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        self.shuffle = shuffle

    def _start_threads(self):
        thread = threading.Thread(target=self._run, daemon=True, name="OrderedEnqueuer")
        thread.start()
        return [thread]

    def _run(self):
        try:
            while not self._stop_event.is_set():
                indices = list(range(len(self.sequence)))
                if self.shuffle:
                    random.shuffle(indices)
                prefetcher = _OrderedPrefetcher(
                    self.sequence, indices, self.workers, self.use_multiprocessing, self.queue.maxsize
                )
                for batch in prefetcher:
                    if not self._put(batch):
                        return
                # As Keras 2: the epoch ends once the consumer has taken every batch of it.
                while self.queue.unfinished_tasks and not self._stop_event.is_set():
                    self._stop_event.wait(_POLL / 10)
                if self._stop_event.is_set():
                    return
                self.sequence.on_epoch_end()
        except Exception as e:  # delivered to the consumer by get()
            self._put(_Failure(e))

    def get(self):
        for item in super().get():
            self.queue.task_done()
            yield item


class GeneratorEnqueuer(SequenceEnqueuer):
    """Drain a Python generator from background threads into a queue that ``get()`` reads.

    ``next()`` is called under a lock, so the generator need not be thread-safe; items keep the
    generator's order. ``get()`` ends when the generator is exhausted.

    Args:
        generator: A generator or iterator.
        use_multiprocessing: Keras 2 option; threads are used in any case (with a warning).
        random_seed: Keras 2 option seeding worker processes; unused with threads.
    """

    def __init__(self, generator, use_multiprocessing=False, random_seed=None):
        super().__init__(generator, use_multiprocessing)
        self.random_seed = random_seed
        if use_multiprocessing:
            warnings.warn(
                "`GeneratorEnqueuer` reads the generator in threads: a generator cannot be shared "
                "between processes. `use_multiprocessing=True` is ignored.",
                stacklevel=2,
            )
        self._lock = threading.Lock()
        self._iterator = iter(generator)

    def _start_threads(self):
        threads = [
            threading.Thread(target=self._run, daemon=True, name=f"GeneratorEnqueuer-{i}")
            for i in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _run(self):
        while not self._stop_event.is_set():
            # Reading and queueing under one lock keeps the generator's order across threads.
            with self._lock:
                if self._stop_event.is_set():
                    return
                try:
                    item = next(self._iterator)
                except StopIteration:
                    self._put(_END)
                    return
                except Exception as e:
                    self._put(_Failure(e))
                    return
                if not self._put(item):
                    return
