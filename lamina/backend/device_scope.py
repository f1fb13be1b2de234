"""``device``: choose the device new tensors and variables are made on, for a block of code."""

import contextlib

import torch

from lamina.backend import config


def _parse(device_name):
    if isinstance(device_name, torch.device):
        return device_name
    if not isinstance(device_name, str):
        raise ValueError(
            "Invalid value for argument `device_name`. Expected a string like 'gpu:0' or 'cpu'. "
            f"Received: device_name={device_name!r}"
        )
    # Keras spells accelerators "gpu"; torch calls them "cuda".
    name = device_name.lower().replace("gpu", "cuda")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise ValueError(
            f"Invalid value for argument `device_name`: {device_name!r} is not a device ({e})."
        ) from None


@contextlib.contextmanager
def device(device_name):
    """Create new variables and tensors (``ops.ones``, ``convert_to_tensor``...) on ``device_name``.

    Args:
        device_name: ``"cpu"``, ``"gpu"``, ``"gpu:1"``, ``"cuda:0"`` or a ``torch.device``.

    Example:

    >>> with lamina.device("cpu"):
    ...     v = lamina.Variable(np.zeros(2))
    >>> v.device
    device(type='cpu')
    """
    target = _parse(device_name)
    config.push_device(target)
    try:
        yield target
    finally:
        config.pop_device()
