"""Boston housing prices: 506 houses with 13 features, target the median value in k$."""

import numpy as np

from lamina.datasets._loading import _BASE_URL, check_test_split, shuffled_split
from lamina.utils.file_utils import get_file


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Load the Boston housing dataset, downloading it to ``~/.keras/datasets/`` the first time.

    Args:
        path: File name of the dataset in the cache.
        test_split: Fraction of the (shuffled) samples used as the test set.
        seed: Seed of the shuffle.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 13)`` and ``(n,)``.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.boston_housing.load_data()
    >>> x_train.shape
    (404, 13)
    """
    check_test_split(test_split)
    path = get_file(
        path,
        origin=f"{_BASE_URL}boston_housing.npz",
        file_hash="f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    )
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return shuffled_split(x, y, test_split, seed)
