"""``Iterator``: the base of the Keras 2 image iterators, a ``PyDataset`` of batches.

An iterator is both a dataset (``len`` batches, ``it[i]``, ``on_epoch_end`` reshuffles: what
``model.fit`` reads) and an endless Python iterator (``next(it)``, the Keras 1 way of looping).
"""

import threading

import numpy as np

from lamina.utils.py_dataset import PyDataset


class Iterator(PyDataset):
    """Base class for image data iterators.

    Subclasses implement ``_get_batches_of_transformed_samples(index_array)``, which builds the
    batch made of the samples at ``index_array``.

    Args:
        n: Number of samples.
        batch_size: Samples per batch.
        shuffle: Whether to shuffle the order of the samples at every epoch.
        seed: Seed for the shuffling and the random transformations; batch ``k`` (counted over the
            iterator's life) reseeds ``np.random`` with ``seed + k``, as Keras 2 does.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` (see ``PyDataset``).
    """

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n, batch_size, shuffle, seed, **kwargs):
        super().__init__(**kwargs)
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer. Received: {batch_size!r}")
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = np.random.permutation(self.n)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(
                f"Asked to retrieve element {idx}, but the Sequence has length {len(self)}"
            )
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        index_array = self.index_array[self.batch_size * idx : self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        """Restart the endless iteration (``next``) at the first batch."""
        self.batch_index = 0

    def _flow_index(self):
        # The index arrays of the endless iteration; reshuffled whenever a pass completes.
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current = 0 if self.n == 0 else (self.batch_index * self.batch_size) % self.n
            if self.n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current : current + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array = next(self.index_generator)
        # The transformation runs outside the lock, so threads can prepare batches in parallel.
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array):
        """The batch made of the samples at ``index_array`` (implemented by subclasses)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `_get_batches_of_transformed_samples`."
        )
