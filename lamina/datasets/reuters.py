"""Reuters newswires: 11,228 newswires as word-index sequences, labelled with one of 46 topics."""

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

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi",
    "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei",
    "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Load the Reuters newswires, downloading ``reuters.npz`` to ``~/.keras/datasets/`` the first time.

    Args:
        path: File name of the dataset in the cache.
        num_words: Keep the ``num_words`` most frequent words; others become ``oov_char``.
        skip_top: Also replace the ``skip_top`` most frequent words by ``oov_char``.
        maxlen: Drop sequences of ``maxlen`` words or more.
        test_split: Fraction of the (shuffled) newswires used as the test set.
        seed: Seed of the shuffle.
        start_char: Index marking the start of each sequence (``None`` for none).
        oov_char: Index replacing dropped words (``None`` removes them instead).
        index_from: Offset added to every word index.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int topics.

    Example:

    >>> (x_train, y_train), _ = lamina.datasets.reuters.load_data(num_words=10000)
    >>> lamina.datasets.reuters.get_label_names()[int(y_train[0])]
    'earn'
    """
    path = get_file(
        fname=path,
        origin=f"{_BASE_URL}reuters.npz",
        file_hash="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    )
    f = load_npz(path)
    xs, labels = f["x"], f["y"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    if start_char is not None or index_from:
        xs = shift_indices(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    xs = limit_vocabulary(list(xs), num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return (
        (np.array(xs[:split], dtype="object"), np.array(labels[:split])),
        (np.array(xs[split:], dtype="object"), np.array(labels[split:])),
    )


def get_word_index(path="reuters_word_index.json"):
    """The ``{word: index}`` dictionary of the Reuters dataset (indices before ``index_from``).

    Args:
        path: File name of the index in the cache.

    Returns:
        A dict from words to their (1-based, by frequency) index.
    """
    path = get_file(
        path,
        origin=f"{_BASE_URL}reuters_word_index.json",
        file_hash="4d44cc38712099c9e383dc6e5f11a921",
    )
    with open(path) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, in label order (label ``i`` is ``get_label_names()[i]``)."""
    return _LABEL_NAMES
