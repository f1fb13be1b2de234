"""The points where ``fit`` / ``evaluate`` / ``predict`` meet data parallel training.

The trainer calls four things: the ``distributed_loop`` decorator on each loop, ``shard_adapter``
when it makes a data adapter, ``train_function`` when it picks the forward pass of the built-in
train step, and ``reduce_metrics`` before it reads the metrics at the end of an epoch or an
evaluation. Gradients reach the processes' average through the optimizer's ``gradient_reducer``
seam, which custom train steps go through as well. With no ``DataParallel`` distribution set, or no process group of several
processes, the decorator calls the loop straight away and the other two return at once: the
per-batch path of single-process training is untouched.
"""

import functools
import inspect

import numpy as np
import torch
import torch.distributed as dist

from lamina.distribution import devices, distribution_lib
from lamina.trainers import distributed_collectives as _collectives
from lamina.trainers.data_adapters import unpack_x_y_sample_weight
from lamina.trainers.distributed_data import SharedRandomness, ShardedAdapter
from lamina.trainers.model_parallel import ModelShards, in_loop
from lamina.trainers.validation import check_batch_against_model
from lamina.utils import tree

_LOOPS = []  # the distributed loops running, innermost last (evaluate may run inside fit)
_ROLES = {"fit": "train", "evaluate": "eval", "predict": "predict"}


def _active_distribution():
    current = distribution_lib.distribution()
    if not isinstance(current, (distribution_lib.DataParallel, distribution_lib.ModelParallel)):
        return None
    if not devices.is_initialized() or dist.get_world_size() < 2:
        return None
    if current.device_mesh.devices.size != dist.get_world_size():
        raise ValueError(
            f"The {type(current).__name__} distribution's mesh has {current.device_mesh.devices.size} devices "
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


def _uses_builtin_train_step(model):
    from lamina.trainers.trainer import Trainer  # deferred: trainer.py imports this module

    return type(model).train_step is Trainer.train_step


class _Loop:
    """The state of one distributed ``fit`` / ``evaluate`` / ``predict`` call."""

    def __init__(self, kind, distribution, model):
        self.kind, self.model = kind, model
        self.distribution = distribution
        self.model_parallel = isinstance(distribution, distribution_lib.ModelParallel)
        if self.model_parallel:
            # The batch is split over the mesh's batch axis only: the processes at one position
            # on it read the same slice, and metrics and gradients are summed along it.
            from lamina.distribution.sharded_variables import torch_mesh

            mesh = torch_mesh(distribution.device_mesh)
            axis = distribution.device_mesh.axis_names.index(distribution.batch_dim_name)
            self.group = mesh.get_group(axis)
            self.rank, self.world = mesh.get_local_rank(axis), mesh.size(axis)
        else:
            self.group = None
            self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.randomness = SharedRandomness(_shared_seed()) if distribution.auto_shard_dataset else None
        self.shards = ModelShards.find(model) if self.model_parallel else None
        self.train_adapter = self.predict_adapter = None
        self._ddp = None
        self.train_function = None  # the built-in step's forward pass, through DDP
        self._optimizer = None  # whose `gradient_reducer` this loop set
        self._synchronized = []  # BatchNormalization layers this loop synchronizes

    def shard(self, adapter):
        role = _ROLES[self.kind]
        if role == "train" and self.train_adapter is not None:
            role = "eval"  # the validation data of `fit`
        first = on_iter = None
        if self.model_parallel:
            first = self._prepare_model_parallel(role)
            if role != "train":
                # Gathered when iteration starts, on every process together: a process whose
                # slice of a batch is empty skips that batch's forward pass.
                on_iter = self._gather_if_sharded
        elif role == "train":
            first = self._prepare_training
        sharded = ShardedAdapter(adapter, role, self.rank, self.world, self.randomness,
                                 on_first_batch=first, on_iter=on_iter)
        if role == "train":
            self.train_adapter = sharded
        elif role == "predict":
            self.predict_adapter = sharded
        return sharded

    def _prepare_training(self, batch):
        """Before the first training step: build the model, give every process process 0's
        weights, and set up the gradient averaging."""
        model = self.model
        if not model.built:
            check_batch_against_model(model, batch)
            with torch.no_grad():
                model(unpack_x_y_sample_weight(batch)[0], training=False)
        if getattr(self.distribution, "sync_batchnorm", False):
            # Asked through the layers' attribute: trainers do not import layer classes.
            self._synchronized = [layer for layer in model._flatten_layers(include_self=True)
                                  if hasattr(type(layer), "_synchronized_by_loop")]
            for layer in self._synchronized:
                layer._synchronized_by_loop = True
        if not model.trainable_weights:
            _collectives.broadcast_(model.weights)
        elif _uses_builtin_train_step(model):
            # DDP averages the gradients while the backward pass runs.
            self._ddp = _collectives.wrap_model(model, self.train_adapter)
            self.train_function = _collectives.DataParallelStep(model, self._ddp)
        else:
            # A custom train step: its gradients are averaged when it hands them to the optimizer.
            _collectives.broadcast_(model.weights)
            self._optimizer = model.optimizer
            self._optimizer.gradient_reducer = _collectives.AveragingReducer(self.train_adapter)

    def _gather_if_sharded(self):
        shards = ModelShards.find(self.model)
        if shards is not None and shards.distribution is self.distribution:
            self.shards = shards
            shards.gather()

    def _prepare_model_parallel(self, role):
        def prepare(batch):
            model = self.model
            if not model.built:
                check_batch_against_model(model, batch)
                with torch.no_grad():
                    model(unpack_x_y_sample_weight(batch)[0], training=False)
            self.shards = ModelShards.of(model, self.distribution)
            if role != "train":
                self.shards.gather()
                return
            adapter = self.train_adapter
            shards = self.shards
            builtin = _uses_builtin_train_step(model)
            optimizer = model.optimizer
            for name in ("clipnorm", "global_clipnorm"):
                if getattr(optimizer, name, None) is not None:
                    raise ValueError(
                        f"The optimizer's `{name}` needs whole gradients, but under "
                        f"{type(self.distribution).__name__} each process updates its shards. "
                        "Use `clipvalue`, or train without the distribution."
                    )

            def reducer(grads, variables):
                # The built-in step weighted the loss already; a custom step's gradients are
                # weighted here.
                return shards.reducer(grads, variables, 1.0 if builtin else adapter.weight)

            def forward_and_loss(x, y, sample_weight):
                # Eager: the forward pre-hook swaps the weights' storage, which compiled code
                # would not see.
                y_pred, loss = model._forward_and_loss(x, y, sample_weight)
                # The gradient of this process's share of the global batch's mean loss, with
                # the loss's value unchanged: weighting the loss (not the gradients) keeps terms
                # that cross processes (synchronized BatchNormalization) weighted right.
                return y_pred, loss + (adapter.weight - 1.0) * (loss - loss.detach())

            self._optimizer = model.optimizer
            self._optimizer.gradient_reducer = reducer
            self.train_function = forward_and_loss

        return prepare

    def close(self, completed):
        for layer in self._synchronized:
            layer._synchronized_by_loop = False
        if self._optimizer is not None:
            self._optimizer.gradient_reducer = None
        self._ddp = self.train_function = None
        if self.model_parallel:
            if self.shards is not None:
                if completed and self.kind == "fit" and self.train_adapter is not None:
                    self.shards.gather()
                    self.shards.average_state(self.world, self._all_reduce)
                self.shards.reshard()
            return
        if completed and self.kind == "fit" and self.train_adapter is not None:
            self._sync_state()

    def _all_reduce(self, tensors, scale=None):
        _collectives.all_reduce_(tensors, scale=scale, group=self.group)

    def _sync_state(self):
        # Statistics such as moving means are updated from each process's own slice: average
        # them so every process ends with the same model (other state: process 0's).
        state = [v for v in self.model.weights if not v.trainable]
        floats = [v for v in state if v.is_floating_point()]
        _collectives.all_reduce_(floats, scale=1.0 / self.world)
        _collectives.broadcast_([v for v in state if not v.is_floating_point()])

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
            dist.all_gather(parts, padded, group=self.group)
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
            current = _active_distribution()
            if current is None:
                return method(model, *args, **kwargs)
            bound = signature.bind(model, *args, **kwargs)
            if dist.get_rank() != 0:
                bound.arguments["verbose"] = 0
            loop = _Loop(kind, current, model)
            _LOOPS.append(loop)
            completed = False
            try:
                with in_loop():
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


def train_function(model):
    """The forward pass and loss the built-in train step runs inside a distributed loop of
    ``model``, or ``None`` to use the model's own."""
    for loop in reversed(_LOOPS):
        if loop.model is model:
            return loop.train_function
    return None


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
    group = _LOOPS[-1].group
    _collectives.all_reduce_(summed, group=group)
    _collectives.all_reduce_(averaged, scale=1.0 / _LOOPS[-1].world, group=group)
    _collectives.broadcast_(first, group=group)
