"""Reading the pickled batches of the CIFAR-10 / CIFAR-100 python archives."""

import numpy as np

from lamina.backend import config
from lamina.datasets._loading import safe_unpickle


def load_batch(fpath, label_key="labels"):
    """``(data, labels)`` of one CIFAR batch file: uint8 ``(n, 3, 32, 32)`` and a list of ints.

    The file is a Python 2 pickle of a dict with bytes keys; it is read with the restricted
    unpickler (numpy arrays and plain containers only).
    """
    with open(fpath, "rb") as f:
        batch = safe_unpickle(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{fpath} is not a CIFAR batch: expected a pickled dict, found {type(batch).__name__}.")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def to_image_data_format(x):
    """CIFAR images are stored channels-first; transpose them for ``channels_last``."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
