"""Keeping the replicas in step: gradient averaging, and broadcasting or averaging variables.

The built-in train step runs its forward pass through torch's ``DistributedDataParallel``, whose
reducer all-reduces gradient buckets while the backward pass is still running; a communication
hook weights each process's gradient by its share of the global batch, so the result is the
gradient of the global batch's mean loss even when the slices differ in size. A custom
``train_step`` does its own forward pass, so there the gradients handed to ``optimizer.apply`` are
all-reduced in flattened buckets instead.
"""

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from lamina.trainers import trainer_utils

_BUCKET_BYTES = 25 * 1024 * 1024  # DistributedDataParallel's default bucket size


def _buckets(tensors):
    """Indices of ``tensors`` grouped by dtype and device, each group cut at ``_BUCKET_BYTES``."""
    groups, sizes = {}, {}
    out = []
    for i, t in enumerate(tensors):
        key = (t.dtype, t.device)
        if key not in groups or sizes[key] + t.numel() * t.element_size() > _BUCKET_BYTES:
            groups[key] = []
            sizes[key] = 0
            out.append(groups[key])
        groups[key].append(i)
        sizes[key] += t.numel() * t.element_size()
    return out


def _all_reduce(tensors, op, scale=None, group=None):
    """All-reduce ``tensors`` bucket by bucket; returns the results (new tensors), in order."""
    results = list(tensors)
    pending = []
    for bucket in _buckets(tensors):
        flat = _flatten_dense_tensors([tensors[i] for i in bucket])
        if scale is not None:
            flat.mul_(scale)
        pending.append((bucket, flat, dist.all_reduce(flat, op=op, group=group, async_op=True)))
    for bucket, flat, work in pending:
        work.wait()
        parts = _unflatten_dense_tensors(flat, [tensors[i] for i in bucket])
        for i, part in zip(bucket, parts):
            results[i] = part
    return results


def broadcast_(tensors, src=0, group=None):
    """Overwrite ``tensors`` in place with the values of process ``src`` (its rank in ``group``)."""
    tensors = [t for t in tensors if t.numel()]
    for bucket in _buckets(tensors):
        part = [tensors[i] for i in bucket]
        flat = _flatten_dense_tensors([t.detach() for t in part])
        dist.broadcast(flat, group=group, group_src=src)
        with torch.no_grad():
            for t, value in zip(part, _unflatten_dense_tensors(flat, part)):
                t.copy_(value)


def all_reduce_(tensors, op=dist.ReduceOp.SUM, scale=None, group=None):
    """Replace ``tensors`` in place by their all-reduced values (optionally scaled first)."""
    tensors = [t for t in tensors if t.numel()]
    results = _all_reduce([t.detach() for t in tensors], op, scale, group)
    with torch.no_grad():
        for t, value in zip(tensors, results):
            t.copy_(value)


def average_gradients(grads, weight):
    """``sum over processes of weight * grad``, for each gradient that is not ``None``."""
    present = [i for i, g in enumerate(grads) if g is not None]
    reduced = _all_reduce([grads[i].detach() for i in present], dist.ReduceOp.SUM, weight)
    out = list(grads)
    for i, g in zip(present, reduced):
        out[i] = g
    return out


class _HookState:
    def __init__(self, adapter):
        self.adapter = adapter


def _weighted_all_reduce(state, bucket):
    tensor = bucket.buffer()
    tensor.mul_(state.adapter.weight)
    future = dist.all_reduce(tensor, async_op=True).get_future()
    return future.then(lambda fut: fut.value()[0])


def wrap_model(model, adapter):
    """``DistributedDataParallel(model)`` (which broadcasts process 0's weights), averaging each
    gradient bucket weighted by ``adapter.weight``."""
    first = next(iter(model.parameters()), None)
    device_ids = [first.device.index] if first is not None and first.device.type == "cuda" else None
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    ddp.register_comm_hook(_HookState(adapter), _weighted_all_reduce)
    return ddp


class DataParallelStep:
    """The forward pass and loss of the built-in train step, run through ``DistributedDataParallel``.

    It stands in for the model's train function during ``fit`` (``jit_compile`` still applies).
    """

    def __init__(self, model, ddp):
        self.model, self.ddp = model, ddp
        forward = self._forward_and_loss
        self._run = trainer_utils.CompiledOrEager(forward) if model.jit_compile else forward

    def _forward_and_loss(self, x, y, sample_weight):
        y_pred = self.ddp(x, training=True)
        return y_pred, self.model._compute_loss(x, y, y_pred, sample_weight, training=True)

    def __call__(self, x, y, sample_weight):
        return self._run(x, y, sample_weight)


class AveragingReducer:
    """An optimizer's ``gradient_reducer`` for a custom train step: the gradients handed to
    ``optimizer.apply`` are all-reduced, each process's weighted by its share of the batch."""

    def __init__(self, adapter):
        self.adapter = adapter

    def __call__(self, grads, variables):
        return average_gradients(list(grads), self.adapter.weight)
