"""Variables held as shards of a ``torch.distributed.tensor`` (DTensor) layout.

A ``TensorLayout`` names, for each dimension of a tensor, the mesh axis it is split along (or
``None``); on torch that is a DTensor placement per mesh axis (``Shard(dim)`` or ``Replicate()``).
Between training steps a sharded variable holds only this process's shard (its ``data`` is the
DTensor's local tensor), so a variable split over N processes takes 1/N of its memory on each.
For the forward and backward passes the shards are gathered into the whole value; the gradient is
then summed over the batch axis and cut back to this process's shard (DTensor ``redistribute``),
and the optimizer updates the shard. Weights are kept whole while they compute, as FSDP does; the
layouts decide where they are stored.
"""

import math

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh as TorchDeviceMesh
from torch.distributed.tensor import DTensor, Partial, Replicate, Shard
from torch.distributed.tensor import distribute_tensor as _torch_distribute_tensor

from lamina.backend import is_keras_tensor
from lamina.distribution import devices as devices_lib
from lamina.distribution import shard_views
from lamina.distribution.layout import TensorLayout

_MESHES = {}  # id of a lamina DeviceMesh -> (the mesh, its torch DeviceMesh)


def _device_rank(name):
    # "cpu:3" / "cuda:3": with one process per device, the device's number is its process's rank.
    return int(str(name).rsplit(":", 1)[-1])


def torch_mesh(device_mesh):
    """The ``torch.distributed`` ``DeviceMesh`` of a Lamina ``DeviceMesh`` (made once, cached)."""
    cached = _MESHES.get(id(device_mesh))
    if cached is not None and cached[0] is device_mesh:
        return cached[1]
    if not devices_lib.is_initialized():
        raise ValueError(
            "Sharding needs a torch.distributed process group: call "
            "`lamina.distribution.initialize()` first (or launch the script with torchrun)."
        )
    world = dist.get_world_size()
    if device_mesh.devices.size != world:
        raise ValueError(
            f"The device mesh has {device_mesh.devices.size} devices but the process group has "
            f"{world} processes. Build the mesh after `initialize()`, one device per process."
        )
    ranks = np.vectorize(_device_rank)(device_mesh.devices).astype(np.int64)
    kind = "cuda" if dist.get_backend() == "nccl" else "cpu"
    mesh = TorchDeviceMesh(kind, torch.from_numpy(ranks),
                           mesh_dim_names=tuple(device_mesh.axis_names))
    _MESHES[id(device_mesh)] = (device_mesh, mesh)
    return mesh


def placements(layout, ndim):
    """The DTensor placements (one per mesh axis) of ``layout`` for a tensor of rank ``ndim``."""
    axes = tuple(layout.axes)
    if len(axes) != ndim:
        raise ValueError(
            f"The layout {axes} has {len(axes)} entries but the tensor has {ndim} dimensions."
        )
    out = []
    for name in layout.device_mesh.axis_names:
        dims = [i for i, axis in enumerate(axes) if axis == name]
        if len(dims) > 1:
            raise ValueError(f"The layout {axes} splits more than one dimension along '{name}'.")
        out.append(Shard(dims[0]) if dims else Replicate())
    return tuple(out)


def distribute_tensor(tensor, layout):
    """See ``lamina.distribution.distribute_tensor``."""
    if not isinstance(layout, TensorLayout):
        raise ValueError(
            f"`layout` must be a `TensorLayout`. Received: layout={layout!r}"
        )
    if is_keras_tensor(tensor):  # a symbolic tensor has no values to place
        return tensor
    if not devices_lib.is_initialized() or dist.get_world_size() < 2:
        return tensor
    if layout.device_mesh is None:
        raise ValueError("The layout has no `device_mesh`: give it one to distribute a tensor.")
    tensor = tensor if isinstance(tensor, torch.Tensor) else torch.as_tensor(np.asarray(tensor))
    mesh = torch_mesh(layout.device_mesh)
    return _torch_distribute_tensor(tensor.detach(), mesh, placements(layout, tensor.ndim))


class ShardedVariable:
    """The sharding record of one variable: its mesh, placements, whole shape and current state.

    Args:
        variable: The variable; from now on it holds this process's shard between steps.
        layout: Its ``TensorLayout``.
        batch_axis: The index of the batch axis in the mesh (gradients are summed over it).
    """

    def __init__(self, variable, layout, batch_axis, already_sharded_like=None):
        self.variable = variable
        self.batch_axis = batch_axis
        if already_sharded_like is not None:
            # State made from a sharded variable's shard (an optimizer slot): same layout.
            like = already_sharded_like
            self.mesh, self.placements, self.shape = like.mesh, like.placements, like.shape
            self.stride, self.is_sharded_over_batch = like.stride, like.is_sharded_over_batch
            self.whole = False
            return
        self._describe(torch_mesh(layout.device_mesh), placements(layout, variable.ndim),
                       tuple(variable.shape))
        # Process 0's value is the one every process starts from.
        local = _torch_distribute_tensor(variable.detach(), self.mesh, self.placements).to_local()
        self._set(local.clone())
        self.whole = False
        shard_views.track(self)

    @classmethod
    def from_local(cls, variable, mesh, placements_, shape, batch_axis):
        """The record of a variable created as this process's shard of a ``shape`` tensor."""
        self = cls.__new__(cls)
        self.variable, self.batch_axis = variable, batch_axis
        self._describe(mesh, placements_, tuple(shape))
        self.whole = False
        shard_views.track(self)
        return self

    def _describe(self, mesh, placements_, shape):
        self.mesh, self.placements, self.shape = mesh, placements_, shape
        self.stride = tuple(int(math.prod(shape[i + 1:])) for i in range(len(shape)))
        self.is_sharded_over_batch = isinstance(placements_[self.batch_axis], Shard)

    def _set(self, tensor):
        with torch.no_grad():
            self.variable.data = tensor

    def as_dtensor(self, local):
        """``local`` (this process's shard) as the variable's DTensor."""
        return DTensor.from_local(local, self.mesh, self.placements, shape=torch.Size(self.shape),
                                  stride=self.stride)

    def gather(self):
        """Give the variable its whole value (a collective: every process calls it)."""
        if self.whole:
            return
        self._set(self.as_dtensor(self.variable.detach()).full_tensor())
        self.whole = True

    def reshard(self):
        """Keep only this process's shard of the whole value."""
        if not self.whole:
            return
        local = _local_chunk(self.variable.detach(), self.mesh, self.placements)
        self._set(local.clone())
        self.whole = False

    def reduce_gradient(self, grad):
        """This process's shard of the sum over the batch axis of every process's whole-value
        gradient (each already weighted by its share of the batch)."""
        partial = [Partial() if i == self.batch_axis else Replicate() for i in range(self.mesh.ndim)]
        summed = DTensor.from_local(grad.detach().contiguous(), self.mesh, partial,
                                    shape=torch.Size(self.shape), stride=self.stride)
        if dist.get_backend() != "nccl":
            # Through Replicate (an all-reduce) rather than straight to the shards: gloo has no
            # reduce-scatter; cutting a replicated tensor into shards is local.
            summed = summed.redistribute(self.mesh, [Replicate()] * self.mesh.ndim)
        return summed.redistribute(self.mesh, self.placements).to_local()


def local_ranges(shape, mesh, placements_):
    """This process's block of a ``shape`` tensor laid out by ``placements_``: one ``(start,
    stop)`` per dimension, cut as DTensor's ``Shard`` cuts (``torch.chunk``: equal parts rounded
    up, the last ones shorter or empty)."""
    ranges = [(0, int(d)) for d in shape]
    for mesh_dim, placement in enumerate(placements_):
        if not isinstance(placement, Shard):
            continue
        start, stop = ranges[placement.dim]
        parts, index = mesh.size(mesh_dim), mesh.get_local_rank(mesh_dim)
        size = -(-(stop - start) // parts)
        first = min(start + index * size, stop)
        ranges[placement.dim] = (first, min(stop, first + size))
    return ranges


def create_variable(initializer, shape, dtype, distribution, layout, **variable_args):
    """A new ``lamina.Variable`` holding only this process's shard of ``layout``, its values the
    slice of what ``initializer`` gives the whole shape (see ``initializers._local_shard``); or
    ``None`` when ``layout`` replicates the variable."""
    from lamina.backend.variables import Variable
    from lamina.initializers._local_shard import local_shard

    mesh = torch_mesh(layout.device_mesh)
    placements_ = placements(layout, len(shape))
    if not any(isinstance(p, Shard) for p in placements_):
        return None
    ranges = local_ranges(shape, mesh, placements_)
    value = local_shard(initializer, shape, dtype, ranges)
    variable = Variable(initializer=value, dtype=dtype, **variable_args)
    batch_axis = distribution.device_mesh.axis_names.index(distribution.batch_dim_name)
    variable._shard_record = ShardedVariable.from_local(variable, mesh, placements_, shape, batch_axis)
    return variable


def _local_chunk(whole, mesh, placements_):
    replicated = DTensor.from_local(whole, mesh, [Replicate()] * mesh.ndim)
    return replicated.redistribute(mesh, placements_).to_local()
