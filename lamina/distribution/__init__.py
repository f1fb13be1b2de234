"""Scaling out on torch.distributed (``keras.distribution``): data and model parallel training.

One process per device, joined by ``initialize()`` (or launched by ``torchrun``); with a
``DataParallel`` distribution set, ``fit`` / ``evaluate`` / ``predict`` split every batch across the
processes and keep the model replicas identical. A model is also a plain ``torch.nn.Module``, so
``torch.nn.parallel.DistributedDataParallel(model)`` works in a hand-written loop.

With ``ModelParallel`` (a ``LayoutMap`` of variable-path regexes to ``TensorLayout``s) or
``FullySharded``, each process stores only its shards of the variables (``torch.distributed.tensor``
placements) and the batch is split along the mesh's batch axis.

This package holds the settings (mesh, layouts, strategies); the step glue that applies them
during ``fit`` / ``evaluate`` / ``predict`` lives in ``lamina.trainers.distributed``.
"""

from lamina.distribution.devices import get_device_count, initialize, list_devices
from lamina.distribution.distribution_lib import (
    DataParallel,
    Distribution,
    FullySharded,
    distribute_tensor,
    ModelParallel,
    distribution,
    set_distribution,
)
from lamina.distribution.layout import DeviceMesh, LayoutMap, TensorLayout

__all__ = [
    "DataParallel",
    "DeviceMesh",
    "Distribution",
    "FullySharded",
    "ModelParallel",
    "LayoutMap",
    "TensorLayout",
    "distribute_tensor",
    "distribution",
    "get_device_count",
    "initialize",
    "list_devices",
    "set_distribution",
]
