"""Shared pieces of the dataset loaders: safe unpickling, the word-sequence filters, the splits.

Two Keras dataset files carry Python pickles: ``imdb.npz`` / ``reuters.npz`` hold object arrays of
word-index lists, and the CIFAR batches are pickled dicts. They are read with an unpickler that
builds only the plain containers pickle makes natively (dicts, lists, tuples, numbers, bytes,
strings) and numpy arrays; any other class named in the file is refused, so a tampered file
cannot run code.
"""

import io
import pickle
import zipfile

import numpy as np

_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the numpy array constructors in ``_ALLOWED_GLOBALS``."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load `{module}.{name}` from a dataset file: only numpy arrays and plain "
            "containers are allowed. The file may be corrupted or malicious."
        )


def safe_unpickle(file, encoding="ASCII"):
    """Read one pickle from the open binary ``file`` with the restricted unpickler."""
    return _RestrictedUnpickler(file, encoding=encoding).load()


def _read_npy(buffer):
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:
        # An object array: the header is followed by a pickle of the array.
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        if major == 1:
            np.lib.format.read_array_header_1_0(buffer)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"Unsupported `.npy` format version {major}.")
        return safe_unpickle(buffer)


def load_npz(path):
    """The arrays of an ``.npz`` file as a dict; object arrays are unpickled safely."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[: -len(".npy")]] = _read_npy(io.BytesIO(raw.read()))
    return arrays


def remove_long_seq(maxlen, seq, label):
    """Keep the sequences shorter than ``maxlen`` (and their labels)."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def shift_indices(sequences, start_char, index_from):
    """Offset word indices by ``index_from`` and prepend ``start_char`` (if not ``None``)."""
    head = [] if start_char is None else [start_char]
    return [head + [w + index_from for w in x] for x in sequences]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Replace (or drop, when ``oov_char`` is ``None``) words outside ``[skip_top, num_words)``."""
    if not num_words:
        num_words = max(max(x) for x in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in sequences]
    return [[w for w in x if skip_top <= w < num_words] for x in sequences]


def shuffled_split(x, y, test_split, seed):
    """Shuffle ``x`` and ``y`` with ``RandomState(seed)`` and cut off the last ``test_split``."""
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x))
    rng.shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def check_test_split(test_split):
    if not 0 <= test_split < 1:
        raise ValueError(
            f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1)."
        )
