"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images of 0-9."""

import numpy as np

from lamina.datasets._loading import _BASE_URL
from lamina.utils.file_utils import get_file


def load_data(path="mnist.npz"):
    """Load the MNIST dataset, downloading it to ``~/.keras/datasets/`` the first time.

    Args:
        path: File name of the dataset in the cache (``~/.keras/datasets`` or
            ``$KERAS_HOME/datasets``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` with values 0-255
        and uint8 labels 0-9.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()
    >>> x_train.shape
    (60000, 28, 28)
    """
    path = get_file(
        fname=path,
        origin=f"{_BASE_URL}mnist.npz",
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    )
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
