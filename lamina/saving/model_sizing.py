"""Size a model from its config without allocating it: a build on torch's ``meta`` device.

A config from a stranger can declare ``Dense(units=300_000_000)``; building it for real would
allocate gigabytes before any check. Built on the meta device, the same model has every variable
with its true shape and dtype but no storage, so the loader can compare it with the weights
file's declared shapes (and bound how large the weights file may be) first, and allocate only a
model the file can actually fill.
"""

import contextlib

import torch

from lamina.backend import config as _config
from lamina.backend import naming, random

# HDF5 bookkeeping per stored tensor (object header, links, attributes), with a wide margin.
_H5_BYTES_PER_TENSOR = 64 * 1024
_H5_BASE_BYTES = 16 * 1024 * 1024
# Optimizer slots stored next to the weights: Adam with amsgrad keeps three per variable.
_OPTIMIZER_SLOTS = 3


@contextlib.contextmanager
def _meta_device():
    previous = _config.get_device()
    _config.set_device("meta")
    try:
        with torch.device("meta"), random.preserved_global_seed(), naming.preserved_uids():
            yield
    finally:
        _config.set_device(previous)


def build_on_meta(build):
    """Run ``build()`` with every new tensor on the meta device; returns its result or ``None``.

    ``None`` means the build does not work without real storage (a layer reading tensor values
    while it builds); the caller then loads without the pre-allocation check. Errors that the
    real build would raise as well are raised there, with the real build's message.
    """
    try:
        with _meta_device():
            return build()
    except Exception:  # noqa: BLE001 - any failure here is raised again by the real build
        return None


def tensor_bytes(model):
    """Bytes held by the distinct tensors (variables, buffers) of ``model``, and their count."""
    seen = {}
    for tensor in list(model.parameters()) + list(model.buffers()):
        seen[id(tensor)] = tensor.numel() * tensor.element_size()
    return sum(seen.values()), len(seen)


def weights_file_bound(model, other_bytes=0):
    """The most bytes a weights file written for ``model`` can legitimately hold.

    Args:
        model: The (meta or real) model whose variables the file stores.
        other_bytes: Size of the config and assets, which bound what ``save_own_variables``
            hooks store (a lookup layer's IDF weights: one float per vocabulary entry).

    Returns:
        An upper bound in bytes, generous for any file Keras or Lamina writes.
    """
    nbytes, count = tensor_bytes(model)
    return (1 + _OPTIMIZER_SLOTS) * (nbytes + count * _H5_BYTES_PER_TENSOR) + 4 * other_bytes + _H5_BASE_BYTES
