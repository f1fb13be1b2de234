"""IMDB movie reviews: 25,000 training and 25,000 test reviews as word-index sequences, labelled
positive (1) or negative (0)."""

import json

import numpy as np

from lamina.datasets._loading import (
    _BASE_URL,
    limit_vocabulary,
    load_npz,
    remove_long_seq,
    shift_indices,
)
from lamina.utils.file_utils import get_file


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    """Load the IMDB reviews, downloading ``imdb.npz`` to ``~/.keras/datasets/`` the first time.

    Words are indexed by frequency (index 1 is the most frequent word of the corpus) and shifted
    by ``index_from``, leaving 0 for padding, ``start_char`` and ``oov_char`` free.

    Args:
        path: File name of the dataset in the cache.
        num_words: Keep the ``num_words`` most frequent words; others become ``oov_char``.
        skip_top: Also replace the ``skip_top`` most frequent words by ``oov_char``.
        maxlen: Drop sequences of ``maxlen`` words or more.
        seed: Seed of the shuffle of the training and test sets.
        start_char: Index marking the start of each sequence (``None`` for none).
        oov_char: Index replacing dropped words (``None`` removes them instead).
        index_from: Offset added to every word index.
        **kwargs: ``nb_words``, the Keras 1 name of ``num_words``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int labels.

    Example:

    >>> (x_train, y_train), _ = lamina.datasets.imdb.load_data(num_words=10000)
    >>> max(max(seq) for seq in x_train) < 10000
    True
    """
    if "nb_words" in kwargs:  # the Keras 1 name
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}.")
    path = get_file(
        fname=path,
        origin=f"{_BASE_URL}imdb.npz",
        file_hash="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    )
    f = load_npz(path)
    x_train, labels_train = f["x_train"], f["y_train"]
    x_test, labels_test = f["x_test"], f["y_test"]

    # One generator, train first then test: the same draws as Keras.
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    x_train = shift_indices(x_train, start_char, index_from)
    x_test = shift_indices(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                "kept. Increase maxlen."
            )
    xs = limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    split = len(x_train)
    return (
        (np.array(xs[:split], dtype="object"), labels[:split]),
        (np.array(xs[split:], dtype="object"), labels[split:]),
    )


def get_word_index(path="imdb_word_index.json"):
    """The ``{word: index}`` dictionary of the IMDB dataset (indices before ``index_from``).

    Args:
        path: File name of the index in the cache.

    Returns:
        A dict from words to their (1-based, by frequency) index.
    """
    path = get_file(
        fname=path,
        origin=f"{_BASE_URL}imdb_word_index.json",
        file_hash="bfafd718b763782e994055a2d397834f",
    )
    with open(path) as f:
        return json.load(f)
