"""Keras 2 sequence utilities (``keras.preprocessing.sequence``).

``pad_sequences``, the ``TimeseriesGenerator`` dataset of sliding windows, and the word2vec
helpers ``skipgrams`` / ``make_sampling_table``. The random choices use Python's ``random`` module
(and ``np.random`` for a shuffled ``TimeseriesGenerator``) exactly as Keras 2 does, so seeding them
gives Keras's results.
"""

import json
import random

import numpy as np

from lamina.utils.py_dataset import PyDataset
from lamina.utils.sequence_utils import pad_sequences

__all__ = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]


class TimeseriesGenerator(PyDataset):
    """Batches of sliding windows over a time series, with the target following each window.

    Sample ``i`` of the series is the window ``data[row - length:row:sampling_rate]`` and its target
    is ``targets[row]``, for ``row`` from ``start_index + length`` to ``end_index`` in steps of
    ``stride``.

    Args:
        data: Indexable series (list or array) whose first axis is time.
        targets: Targets, one per time step of ``data`` (same length).
        length: Length of the window history, in time steps.
        sampling_rate: Period between the time steps kept inside a window.
        stride: Period between the starts of successive windows.
        start_index: Time steps before this index are not used as targets.
        end_index: Last time step used as a target (inclusive); ``None`` means the last one.
        shuffle: Draw each batch's rows at random (with ``np.random``) instead of in order.
        reverse: Reverse the time steps inside each window.
        batch_size: Windows per batch (the last batch may be smaller).
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` (see ``PyDataset``).

    Example:

    >>> data = np.arange(50).reshape(50, 1)
    >>> gen = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    >>> x, y = gen[0]
    >>> x.shape, y.tolist()
    ((2, 5, 1), [[10], [11]])
    """

    def __init__(
        self,
        data,
        targets,
        length,
        sampling_rate=1,
        stride=1,
        start_index=0,
        end_index=None,
        shuffle=False,
        reverse=False,
        batch_size=128,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(data) != len(targets):
            raise ValueError(
                "Data and targets have to be of same length. "
                f"Data length is {len(data)} while target length is {len(targets)}"
            )
        for name, value in (("length", length), ("sampling_rate", sampling_rate),
                            ("stride", stride), ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {value!r}")
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(
                f"`start_index+length={self.start_index} > end_index={self.end_index}` is "
                "disallowed, as no part of the sequence would be left to be used as current step."
            )

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            last = min(first + self.batch_size * self.stride, self.end_index + 1)
            rows = np.arange(first, last, self.stride)
        window = self.length
        samples = np.array([self.data[row - window : row : self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self):
        """The generator's arguments, with ``data`` and ``targets`` as JSON strings."""

        def as_json(name, value):
            if type(value).__module__ == np.__name__:
                value = value.tolist()
            try:
                return json.dumps(value)
            except TypeError as e:
                raise TypeError(f"{name} not JSON Serializable: {value}") from e

        return {
            "data": as_json("Data", self.data),
            "targets": as_json("Targets", self.targets),
            "length": self.length,
            "sampling_rate": self.sampling_rate,
            "stride": self.stride,
            # Keras 2 stores the shifted index; `start_index - length` is the argument given.
            "start_index": self.start_index,
            "end_index": self.end_index,
            "shuffle": self.shuffle,
            "reverse": self.reverse,
            "batch_size": self.batch_size,
        }

    def to_json(self, **kwargs):
        """The generator as a JSON string (``class_name`` and ``config``).

        Args:
            **kwargs: Passed on to ``json.dumps``.
        """
        config = {"class_name": type(self).__name__, "config": self.get_config()}
        return json.dumps(config, **kwargs)


def make_sampling_table(size, sampling_factor=1e-5):
    """Word-rank based sampling probabilities, for ``skipgrams``' ``sampling_table``.

    Word frequencies are assumed to follow Zipf's law, so the word of rank ``r`` (index ``r`` of a
    frequency-ranked vocabulary) is kept with probability
    ``min(1, sqrt(sampling_factor / frequency(r)))``, as in word2vec's subsampling.

    Args:
        size: Size of the vocabulary.
        sampling_factor: The word2vec sampling factor.

    Returns:
        A float array of length ``size``: the probability of keeping the word of each rank.
    """
    euler_gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + euler_gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inverse_frequency
    return np.minimum(1.0, f / np.sqrt(f))


def skipgrams(
    sequence,
    vocabulary_size,
    window_size=4,
    negative_samples=1.0,
    shuffle=True,
    categorical=False,
    sampling_table=None,
    seed=None,
):
    """Skip-gram word pairs from a sequence of word indices (for word2vec training).

    Positive pairs ``[word, context]`` (label 1) join each word with the words within
    ``window_size`` of it; negative pairs (label 0) join a word with a random index. Index 0 is
    skipped (it is padding).

    Args:
        sequence: List of word indices (ints) ranked by frequency (1 is the most frequent).
        vocabulary_size: Maximum word index + 1.
        window_size: Half the size of the context window.
        negative_samples: Number of negative pairs per positive pair (a float >= 0).
        shuffle: Whether to shuffle the pairs.
        categorical: Labels ``[0, 1]`` / ``[1, 0]`` instead of ``1`` / ``0``.
        sampling_table: Optional array where entry ``i`` is the probability of keeping a word of
            index ``i`` (see ``make_sampling_table``).
        seed: Seed for the shuffle.

    Returns:
        ``(couples, labels)``: a list of ``[word, context]`` pairs and the list of their labels.
    """
    couples = []
    labels = []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([wi, sequence[j]])
                labels.append([0, 1] if categorical else 1)

    if negative_samples > 0:
        num_negative = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [
            [words[i % len(words)], random.randint(1, vocabulary_size - 1)]
            for i in range(num_negative)
        ]
        labels += [[1, 0] if categorical else 0 for _ in range(num_negative)]

    if shuffle:
        if seed is None:
            seed = random.randint(0, 10_000_000)
        # The same seed shuffles both lists the same way, keeping pairs and labels aligned.
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels
