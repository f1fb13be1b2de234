"""The points where ``fit`` / ``evaluate`` / ``predict`` meet data parallel training.

The trainer calls three things: the ``distributed_loop`` decorator on each loop, ``shard_adapter``
when it makes a data adapter, and ``reduce_metrics`` before it reads the metrics at the end of an
epoch or an evaluation. With no ``DataParallel`` distribution set, or no process group of several
processes, the decorator calls the loop straight away and the other two return at once: the
per-batch path of single-process training is untouched.
"""

import functools
import inspect

import numpy as np
import torch
import torch.distributed as dist

from lamina.distribution import _gradients, devices
from lamina.distribution import distribution_lib
from lamina.distribution._sharding import SharedRandomness, ShardedAdapter
from lamina.utils import tree

_LOOPS = []  # the distributed loops running, innermost last (evaluate may run inside fit)
_ROLES = {"fit": "train", "evaluate": "eval", "predict": "predict"}


def _active_data_parallel():
    current = distribution_lib.distribution()
    if not isinstance(current, distribution_lib.DataParallel):
        return None
    if not devices.is_initialized() or dist.get_world_size() < 2:
        return None
    if current.device_mesh.devices.size != dist.get_world_size():
        raise ValueError(
            f"The DataParallel distribution's mesh has {current.device_mesh.devices.size} devices "
            f"but the process group has {dist.get_world_size()} processes. Create the "
            "distribution after `lamina.distribution.initialize()`, or pass one device per process."
        )
    return current


def _comm_device():
    # NCCL communicates CUDA tensors only; gloo CPU tensors (and CUDA ones, through the host).
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _shared_seed():
    seed = torch.zeros((), dtype=torch.int64, device=_comm_device())
    if dist.get_rank() == 0:
        # Drawn from process 0's generator, so `set_random_seed` makes the shuffling reproducible.
        seed.fill_(int(torch.randint(0, 2**62, ())))
    dist.broadcast(seed, 0)
    return int(seed)


class _Loop:
    """The state of one distributed ``fit`` / ``evaluate`` / ``predict`` call."""

    def __init__(self, kind, data_parallel, model):
        self.kind, self.model = kind, model
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.randomness = SharedRandomness(_shared_seed()) if data_parallel.auto_shard_dataset else None
        self.train_adapter = self.predict_adapter = None
        self._ddp = self._averaging_apply = None
        self._train_function = None
        self._replaced_train_function = False

    def shard(self, adapter):
        role = _ROLES[self.kind]
        if role == "train" and self.train_adapter is not None:
            role = "eval"  # the validation data of `fit`
        sharded = ShardedAdapter(adapter, role, self.rank, self.world, self.randomness,
                                 on_first_batch=self._prepare_training if role == "train" else None)
        if role == "train":
            self.train_adapter = sharded
        elif role == "predict":
            self.predict_adapter = sharded
        return sharded

    def _prepare_training(self, batch):
        """Before the first training step: build the model, give every process process 0's
        weights, and set up the gradient averaging."""
        from lamina.trainers.data_adapters import unpack_x_y_sample_weight
        from lamina.trainers.trainer import Trainer
        from lamina.trainers.validation import check_batch_against_model

        model = self.model
        if not model.built:
            check_batch_against_model(model, batch)
            with torch.no_grad():
                model(unpack_x_y_sample_weight(batch)[0], training=False)
        if not model.trainable_weights:
            _gradients.broadcast_(model.weights)
        elif type(model).train_step is Trainer.train_step:
            self._ddp = _gradients.wrap_model(model, self.train_adapter)
            self._train_function = model.__dict__.get("_train_function")
            model.__dict__["_train_function"] = _gradients.DataParallelStep(model, self._ddp)
            self._replaced_train_function = True
        else:
            _gradients.broadcast_(model.weights)
            self._averaging_apply = _gradients.AveragingApply(model.optimizer, self.train_adapter)
            self._averaging_apply.install()

    def close(self, completed):
        model = self.model
        if self._replaced_train_function:
            model.__dict__["_train_function"] = self._train_function
        if self._averaging_apply is not None:
            self._averaging_apply.remove()
        self._ddp = None
        if completed and self.kind == "fit" and self.train_adapter is not None:
            self._sync_state()

    def _sync_state(self):
        # Statistics such as moving means are updated from each process's own slice: average
        # them so every process ends with the same model (other state: process 0's).
        state = [v for v in self.model.weights if not v.trainable]
        floats = [v for v in state if v.is_floating_point()]
        _gradients.all_reduce_(floats, scale=1.0 / self.world)
        _gradients.broadcast_([v for v in state if not v.is_floating_point()])

    def gather_predictions(self, outputs):
        """Every process's predictions, put back in the order of the data."""
        adapter = self.predict_adapter
        layouts = [adapter.local_layout(r) for r in range(self.world)]
        rows = [sum(kept for kept, _ in layout) for layout in layouts]
        device = _comm_device()
        gathered = []
        for leaf in tree.flatten(outputs):
            local = torch.from_numpy(np.ascontiguousarray(leaf)).to(device)
            if local.ndim == 0 or local.shape[0] != rows[self.rank]:
                raise ValueError(
                    "Distributed `predict` needs one output row per input sample to gather the "
                    f"outputs; got an output of shape {tuple(local.shape)} for "
                    f"{rows[self.rank]} samples."
                )
            padded = local.new_zeros((max(rows),) + tuple(local.shape[1:]))
            padded[: local.shape[0]] = local
            parts = [torch.empty_like(padded) for _ in range(self.world)]
            dist.all_gather(parts, padded)
            offsets = [0] * self.world
            pieces = []
            for b in range(len(adapter.global_sizes)):
                for r in range(self.world):
                    kept, real = layouts[r][b]
                    pieces.append(parts[r][offsets[r]: offsets[r] + real])
                    offsets[r] += kept
            gathered.append(torch.cat(pieces).cpu().numpy())
        if isinstance(outputs, np.ndarray):
            return gathered[0]
        return tree.pack_sequence_as(outputs, gathered)


def distributed_loop(kind):
    """Decorate ``fit`` / ``evaluate`` / ``predict`` (``kind``) to run data parallel when asked.

    Only process 0 shows a progress bar; ``predict`` returns the whole result on every process.
    """

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def run(model, *args, **kwargs):
            data_parallel = _active_data_parallel()
            if data_parallel is None:
                return method(model, *args, **kwargs)
            bound = signature.bind(model, *args, **kwargs)
            if dist.get_rank() != 0:
                bound.arguments["verbose"] = 0
            loop = _Loop(kind, data_parallel, model)
            _LOOPS.append(loop)
            completed = False
            try:
                result = method(*bound.args, **bound.kwargs)
                completed = True
            finally:
                _LOOPS.remove(loop)
                loop.close(completed)
            if kind == "predict" and loop.predict_adapter is not None and loop.randomness is not None:
                result = loop.gather_predictions(result)
            return result

        return run

    return decorate


def shard_adapter(adapter):
    """This process's part of ``adapter``'s batches inside a distributed loop, else ``adapter``."""
    if not _LOOPS:
        return adapter
    return _LOOPS[-1].shard(adapter)


def reduce_metrics(model):
    """Combine the metrics' state across processes inside a distributed loop (else do nothing)."""
    if not _LOOPS:
        return
    summed, averaged, first = [], [], []
    for metric in model.metrics:
        for v in metric.variables:
            aggregation = getattr(v, "aggregation", "sum")
            if aggregation == "mean":
                averaged.append(v)
            elif aggregation == "only_first_replica":
                first.append(v)
            else:
                summed.append(v)
    _gradients.all_reduce_(summed)
    _gradients.all_reduce_(averaged, scale=1.0 / _LOOPS[-1].world)
    _gradients.broadcast_(first)
