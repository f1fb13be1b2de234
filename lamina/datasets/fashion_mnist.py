"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 kinds of clothing."""

import gzip
import os

import numpy as np

from lamina.datasets._loading import _BASE_URL
from lamina.utils.file_utils import get_file

_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)


def _read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data():
    """Load Fashion-MNIST, downloading its four IDX files to ``~/.keras/datasets/fashion-mnist/``.

    Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
    8 Bag, 9 Ankle boot.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` and uint8 labels.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.fashion_mnist.load_data()
    >>> x_test.shape
    (10000, 28, 28)
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=_BASE_URL + name, cache_subdir=subdir) for name in _FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
