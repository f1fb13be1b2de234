"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes."""

import os

import numpy as np

from lamina.datasets._cifar import load_batch, to_image_data_format
from lamina.utils.file_utils import get_file


def load_data():
    """Load CIFAR-10, downloading and extracting it in ``~/.keras/datasets/`` the first time.

    Classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
    9 truck.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)`` (``(n, 3, 32,
        32)`` with ``channels_first``) and uint8 labels of shape ``(n, 1)``.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.cifar10.load_data()
    >>> x_train.shape, y_train.shape
    ((50000, 32, 32, 3), (50000, 1))
    """
    path = get_file(
        fname="cifar-10-batches-py-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        extract=True,
        file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    )
    path = os.path.join(path, "cifar-10-batches-py")
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([np.asarray(x, dtype="uint8") for x, _ in parts])
    y_train = np.concatenate([np.asarray(y, dtype="uint8") for _, y in parts])
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.reshape(y_test, (len(y_test), 1)).astype(y_train.dtype)
    x_test = np.asarray(x_test).astype(x_train.dtype)
    return (to_image_data_format(x_train), y_train), (to_image_data_format(x_test), y_test)
