"""California housing prices: 20,640 districts with 8 features, target the median house value."""

import numpy as np

from lamina.datasets._loading import _BASE_URL, check_test_split, shuffled_split
from lamina.utils.file_utils import get_file


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Load the California housing dataset, downloading it to ``~/.keras/datasets/`` the first time.

    Args:
        version: ``"large"`` (all 20,640 samples) or ``"small"`` (the first 600).
        path: File name of the dataset in the cache.
        test_split: Fraction of the (shuffled) samples used as the test set.
        seed: Seed of the shuffle.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 8)`` and ``(n,)``.

    Example:

    >>> (x_train, y_train), _ = lamina.datasets.california_housing.load_data(version="small")
    >>> x_train.shape
    (480, 8)
    """
    check_test_split(test_split)
    path = get_file(
        path,
        origin=f"{_BASE_URL}california_housing.npz",
        file_hash="1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
    )
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    return shuffled_split(x, y, test_split, seed)
