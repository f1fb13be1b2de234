"""Scaling out on torch.distributed (``keras.distribution``): data parallel training.

One process per device, joined by ``initialize()`` (or launched by ``torchrun``); with a
``DataParallel`` distribution set, ``fit`` / ``evaluate`` / ``predict`` split every batch across the
processes and keep the model replicas identical. A model is also a plain ``torch.nn.Module``, so
``torch.nn.parallel.DistributedDataParallel(model)`` works in a hand-written loop.

Sharding variables across devices (Keras's ``ModelParallel``) is not implemented: a ``LayoutMap``
can be built and queried, but nothing places variables by it yet.
"""

from lamina.distribution.devices import get_device_count, initialize, list_devices
from lamina.distribution.distribution_lib import (
    DataParallel,
    Distribution,
    distribution,
    set_distribution,
)
from lamina.distribution.layout import DeviceMesh, LayoutMap, TensorLayout

__all__ = [
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "LayoutMap",
    "TensorLayout",
    "distribution",
    "get_device_count",
    "initialize",
    "list_devices",
    "set_distribution",
]
