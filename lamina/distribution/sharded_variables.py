"""Variables held as shards of a ``torch.distributed.tensor`` (DTensor) layout.

A ``TensorLayout`` names, for each dimension of a tensor, the mesh axis it is split along (or
``None``); on torch that is a DTensor placement per mesh axis (``Shard(dim)`` or ``Replicate()``).
Between training steps a sharded variable holds only this process's shard (its ``data`` is the
DTensor's local tensor), so a variable split over N processes takes 1/N of its memory on each.
For the forward and backward passes the shards are gathered into the whole value; the gradient is
then summed over the batch axis and cut back to this process's shard, and the optimizer updates
the shard. The shards of all the variables split along one mesh axis (same dtype) travel in one
all-gather, and on gloo all the gradients in one all-reduce, as FSDP's flat buffers do: one
collective per variable costs a rendezvous each. Weights are kept whole while they compute, as
FSDP does; the layouts decide where they are stored.
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
            self.ranges, self._shard_dim = like.ranges, like._shard_dim
            self.whole = False
            _mark_global_shape(variable, self.shape)
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
        _mark_global_shape(self.variable, shape)
        self.stride = tuple(int(math.prod(shape[i + 1:])) for i in range(len(shape)))
        self.is_sharded_over_batch = isinstance(placements_[self.batch_axis], Shard)
        self.ranges = local_ranges(shape, mesh, placements_)
        # (mesh axis, tensor dim) when the variable is split along one mesh axis only (the
        # coalesced collectives of `gather_all` / `reduce_gradients` handle those), else None.
        split = [(i, p.dim) for i, p in enumerate(placements_) if isinstance(p, Shard)]
        self._shard_dim = split[0] if len(split) == 1 else None

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
        if any(isinstance(p, Shard) for p in self.placements):
            local = self.variable.detach()[tuple(slice(a, b) for a, b in self.ranges)]
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


def _mark_global_shape(variable, shape):
    # What `Variable.global_shape` (so count_params and summary) reports while a shard is held.
    try:
        variable._global_shape = tuple(int(d) for d in shape)
    except AttributeError:  # not a lamina Variable (a plain tensor has no slot for it)
        pass


def gather_all(records):
    """``gather()`` every record, with one all-gather per mesh axis for the records split along
    a single axis (the others one by one): the shards of many variables travel together."""
    groups = {}
    for record in records:
        if record.whole:
            continue
        if not any(isinstance(p, Shard) for p in record.placements):
            record.whole = True  # replicated: the local value is the whole value
        elif record._shard_dim is None:
            record.gather()
        else:
            key = (id(record.mesh), record._shard_dim[0], record.variable.dtype, record.variable.device)
            groups.setdefault(key, []).append(record)
    for group in groups.values():
        _gather_group(group)


def _gather_group(records):
    mesh, axis = records[0].mesh, records[0]._shard_dim[0]
    parts = mesh.size(axis)
    pieces, layouts = [], []
    for record in records:
        dim = record._shard_dim[1]
        chunk = -(-record.shape[dim] // parts)
        local = record.variable.detach()
        if local.shape[dim] < chunk:  # a shorter last shard: padded to the common size
            pad = list(local.shape)
            pad[dim] = chunk - local.shape[dim]
            local = torch.cat([local, local.new_zeros(pad)], dim=dim)
        pieces.append(local.reshape(-1))
        layouts.append((record, dim, chunk, local.shape))
    flat = torch.cat(pieces)
    out = flat.new_empty((parts * flat.numel(),))
    dist.all_gather_single(out, flat, group=mesh.get_group(axis))
    out = out.view(parts, flat.numel())
    offset = 0
    for record, dim, chunk, padded_shape in layouts:
        size = math.prod(padded_shape)
        blocks = out[:, offset:offset + size]
        whole = torch.cat([blocks[i].reshape(padded_shape) for i in range(parts)], dim=dim)
        record._set(whole.narrow(dim, 0, record.shape[dim]).contiguous())
        record.whole = True
        offset += size


def reduce_gradients(records, grads):
    """Each record's shard of the sum over the batch axis of ``grads`` (whole-shaped, one per
    record): ``reduce_gradient`` for each, with the records that share a mesh reduced in one
    all-reduce on gloo (which has no reduce-scatter; NCCL keeps the per-variable reduce-scatter)."""
    if dist.get_backend() == "nccl" or not records:
        return [r.reduce_gradient(g) for r, g in zip(records, grads)]
    out = [None] * len(records)
    groups = {}
    for i, record in enumerate(records):
        key = (id(record.mesh), record.batch_axis, grads[i].dtype, grads[i].device)
        groups.setdefault(key, []).append(i)
    for indices in groups.values():
        first = records[indices[0]]
        flat = torch.cat([grads[i].detach().reshape(-1) for i in indices])
        dist.all_reduce(flat, group=first.mesh.get_group(first.batch_axis))
        offset = 0
        for i in indices:
            record = records[i]
            size = math.prod(record.shape)
            whole = flat[offset:offset + size].view(record.shape)
            out[i] = whole[tuple(slice(a, b) for a, b in record.ranges)].clone()
            offset += size
    return out


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


def creation_plan(distribution, layout, shape):
    """``(ranges, finish)`` for a variable of ``shape`` to be created as this process's shard of
    ``layout`` (``None`` when the layout replicates it): ``ranges`` is its block (see
    ``local_ranges``), and ``finish(variable)`` records on the new variable (holding that block)
    how it is sharded."""
    mesh = torch_mesh(layout.device_mesh)
    placements_ = placements(layout, len(shape))
    if not any(isinstance(p, Shard) for p in placements_):
        return None
    batch_axis = distribution.device_mesh.axis_names.index(distribution.batch_dim_name)

    def finish(variable):
        variable._shard_record = ShardedVariable.from_local(variable, mesh, placements_, tuple(shape),
                                                            batch_axis)
        return variable

    return local_ranges(shape, mesh, placements_), finish
