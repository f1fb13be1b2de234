"""A model's variables under ``ModelParallel``: sharded at rest, gathered to compute.

Variables created while the distribution is set are created as their shards (``add_weight``);
the records made then are taken over here, so their values are never gathered to be split.

``ModelShards.of(model, distribution)`` splits every variable of a built model by the
distribution's layouts (once per model and distribution) and hooks the model's forward pass so the
whole weights are gathered before it runs. The training loop installs ``reducer`` as the
optimizer's ``gradient_reducer``: after the backward pass it turns each whole gradient into this
process's shard of the batch's gradient and puts every variable back to its shard, so the optimizer
builds its slots on the shards and updates them there.

Gathering is a collective: under a model parallel distribution every process calls the model, as
every process runs the same program (SPMD).
"""

import contextlib
import weakref

import torch

_SHARDS = weakref.WeakKeyDictionary()  # model -> its ModelShards
_ACTIVE_LOOPS = [0]  # loops running; outside them a no-grad call gives the memory back


class ModelShards:
    """The ``ShardedVariable`` records of one model's variables, and the gather/reshard steps."""

    def __init__(self, model, distribution):
        # Deferred: torch.distributed.tensor takes seconds to import; only sharding needs it.
        from lamina.distribution.sharded_variables import ShardedVariable

        self.model = model
        self.distribution = distribution
        axis = distribution.device_mesh.axis_names.index(distribution.batch_dim_name)
        self.records = [_record(v, distribution, axis) for v in _unique(model.weights)]
        self._by_id = {id(r.variable): r for r in self.records}
        self.whole = False
        self._hooks = [model.register_forward_pre_hook(self._before_call),
                       model.register_forward_hook(self._after_call)]

    @classmethod
    def of(cls, model, distribution):
        """The model's shards under ``distribution``, made (and the variables split) the first
        time."""
        shards = _SHARDS.get(model)
        if shards is None or shards.distribution is not distribution:
            if shards is not None:  # another distribution: start again from whole variables
                shards.gather()
                for hook in shards._hooks:
                    hook.remove()
            shards = cls(model, distribution)
            _SHARDS[model] = shards
        return shards

    @staticmethod
    def find(model):
        return _SHARDS.get(model)

    def optimizer_records(self):
        """Records for the optimizer's per-variable state (slots made from a sharded variable's
        shard, named after its path), so saving can gather them like the variables."""
        return optimizer_records(self.model, self.records)

    # --- the two states ---------------------------------------------------------------------------
    def gather(self):
        """Every variable whole (all processes call it together)."""
        if self.whole:
            return
        from lamina.distribution.sharded_variables import gather_all

        gather_all(self.records)
        self.whole = True

    def reshard(self):
        """Every variable back to this process's shard."""
        if not self.whole:
            return
        for record in self.records:
            record.reshard()
        self.whole = False

    def _before_call(self, module, args):
        self.gather()

    def _after_call(self, module, args, outputs):
        if not _ACTIVE_LOOPS[0] and not torch.is_grad_enabled():
            self.reshard()

    # --- the optimizer's seam -----------------------------------------------------------------------
    def reducer(self, grads, variables, weight):
        """For ``gradient_reducer``: this process's shard of each variable's gradient, summed over
        the batch axis (each process's gradient weighted first by ``weight``, its share of the
        batch)."""
        from lamina.distribution.sharded_variables import reduce_gradients

        out = list(grads)
        todo = []
        for i, (grad, variable) in enumerate(zip(grads, variables)):
            record = self._by_id.get(id(variable))
            if grad is None or record is None:
                continue
            if self.whole and tuple(grad.shape) != record.shape:
                raise ValueError(
                    f"The gradient of '{variable.path}' has shape {tuple(grad.shape)}, expected "
                    f"the variable's whole shape {record.shape}."
                )
            todo.append((i, record, grad * weight))
            variable.grad = None  # whole-shaped; the variable is about to become its shard again
        reduced = reduce_gradients([r for _, r, _ in todo], [g for _, _, g in todo])
        for (i, _, _), grad in zip(todo, reduced):
            out[i] = grad
        self.reshard()
        return out

    # --- state kept alike -------------------------------------------------------------------------
    def average_state(self, group_size, all_reduce):
        """Average the non-trainable float variables (moving statistics) over the batch axis."""
        state = [r for r in self.records if not r.variable.trainable
                 and r.variable.is_floating_point() and not r.is_sharded_over_batch]
        all_reduce([r.variable for r in state], scale=1.0 / group_size)

    def parameter_bytes(self):
        """Bytes this process holds for the model's variables now."""
        return sum(r.variable.numel() * r.variable.element_size() for r in self.records)


def created_records(model):
    """The records of ``model``'s variables created as shards, while no loop has taken them
    over (``[]`` once one has, or for a model created whole)."""
    if ModelShards.find(model) is not None:
        return []
    return [r for r in (getattr(v, "_shard_record", None) for v in _unique(model.weights))
            if r is not None]


def optimizer_records(model, records):
    """Records for ``model``'s optimizer slots made from the shards of ``records``."""
    from lamina.distribution.sharded_variables import ShardedVariable

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return []
    known = {id(r.variable) for r in records}
    prefixes = sorted(((r.variable.path.replace("/", "_") + "_", r) for r in records),
                      key=lambda item: -len(item[0]))
    out = []
    for slot in _unique(optimizer.variables):
        if id(slot) in known:
            continue
        for prefix, record in prefixes:
            if slot.name.startswith(prefix) and tuple(slot.shape) == _shard_shape(record):
                out.append(ShardedVariable(slot, None, record.batch_axis, already_sharded_like=record))
                break
    return out


def _record(variable, distribution, axis):
    """The variable's record: the one it was created with when that matches ``distribution``'s
    layout for it (its values then stay where they are), else a new one (process 0's value
    split)."""
    from lamina.distribution.sharded_variables import ShardedVariable, placements, torch_mesh

    created = getattr(variable, "_shard_record", None)
    if created is not None:
        layout = distribution._layout_for(variable.path, created.shape)
        if (created.mesh == torch_mesh(distribution.device_mesh) and created.batch_axis == axis
                and created.placements == placements(layout, len(created.shape))):
            return created
        created.gather()  # created under another distribution: laid out again from whole
        variable._shard_record = None
    return ShardedVariable(variable, distribution.get_variable_layout(variable), axis)


def _shard_shape(record):
    return tuple(record.variable.shape) if not record.whole else None


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


@contextlib.contextmanager
def gathered(model, include_optimizer=False):
    """Inside the block, ``model``'s variables (and with ``include_optimizer`` its optimizer's
    state) hold their whole values (a collective: every process enters it); afterwards they are
    back to their shards. A no-op for a model that was never sharded."""
    shards = ModelShards.find(model)
    if shards is None:
        with _created_shards_gathered(model, include_optimizer):
            yield model
        return
    shards.reshard()
    slots = shards.optimizer_records() if include_optimizer else []
    shards.gather()
    for slot in slots:
        slot.gather()
    _ACTIVE_LOOPS[0] += 1  # calls inside the block leave the weights whole
    try:
        yield model
    finally:
        _ACTIVE_LOOPS[0] -= 1
        shards.reshard()
        for slot in slots:
            slot.reshard()


@contextlib.contextmanager
def _created_shards_gathered(model, include_optimizer):
    # A model created sharded that no loop has run yet: its records are on the variables.
    records = created_records(model)
    if include_optimizer:
        records = records + optimizer_records(model, records)
    for record in records:
        record.gather()
    _ACTIVE_LOOPS[0] += 1
    try:
        yield
    finally:
        _ACTIVE_LOOPS[0] -= 1
        for record in records:
            record.reshard()


@contextlib.contextmanager
def in_loop():
    _ACTIVE_LOOPS[0] += 1
    try:
        yield
    finally:
        _ACTIVE_LOOPS[0] -= 1
