"""Weights of a model sharded by ``ModelParallel``: sharded checkpoints, and whole files.

A ``.weights.dcp`` path is a folder written with ``torch.distributed.checkpoint``: each process
writes its own shards (replicated variables once), and the folder loads onto any number of
processes and any layouts, or onto a single process without a process group. ``.weights.h5`` and
``.keras`` files of a sharded model hold the whole weights: they are gathered and process 0 writes
the file, so it is the same file single-process training would write.

A ``.weights.dcp`` folder holds the optimizer's state as well once the optimizer is built (so it
can resume training); loading reads it into the model's optimizer (in one process, building it
first when the model is compiled and the optimizer has not run yet), and skips it with a warning
when it does not match that optimizer's variables.
"""

import os
import warnings

import torch
import torch.distributed as dist

from lamina.backend.variables import whole_shape
from lamina.saving.weights_store import prepare_optimizer
from lamina.trainers.model_parallel import ModelShards, created_records, gathered, optimizer_records

SUFFIX = ".weights.dcp"
_OPTIMIZER = "optimizer/"  # the prefix of the optimizer's entries


def is_sharded(model):
    """Whether ``model``'s variables are sharded across a running process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return False
    return ModelShards.find(model) is not None or bool(created_records(model))


def _keys(variables, prefix="", named=True):
    """``{key: variable}``: each variable keyed by its place in the list and its name
    (``"3/kernel"``), so a model of the same architecture reads the checkpoint whatever its
    layers' names (as ``.weights.h5`` files are read by structure). Optimizer slots are keyed by
    place only: their names carry the layers' names (``dense_1_kernel_momentum``)."""
    out, seen = {}, set()
    for variable in variables:
        if id(variable) in seen:
            continue
        seen.add(id(variable))
        out[f"{prefix}{len(out)}/{variable.name}" if named else f"{prefix}{len(out)}"] = variable
    return out


def _entries(model):
    """``{key: (variable, its sharding record or None)}`` for the model's variables and, once
    the optimizer is built, the optimizer's (under ``"optimizer/"``)."""
    shards = ModelShards.find(model) if is_sharded(model) else None
    records = {}
    if shards is not None:
        shards.reshard()
        records = {id(r.variable): r for r in shards.records + shards.optimizer_records()}
    elif is_sharded(model):  # created as shards, before any loop took them over
        created = created_records(model)
        for record in created:
            record.reshard()
        records = {id(r.variable): r for r in created + optimizer_records(model, created)}
    variables = _keys(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables.update(_keys(optimizer.variables, prefix=_OPTIMIZER, named=False))
    return {key: (v, records.get(id(v))) for key, v in variables.items()}


def _state_dict(entries):
    return {key: (v.detach() if record is None else record.as_dtensor(v.detach()))
            for key, (v, record) in entries.items()}


def _check_path(filepath):
    filepath = os.fspath(filepath)
    if not filepath.endswith(SUFFIX):
        raise ValueError(f"A sharded checkpoint's path must end in `{SUFFIX}`. Received: {filepath!r}")
    return filepath


def save_weights(model, filepath):
    """Write ``model``'s variables to the ``.weights.dcp`` folder ``filepath`` (every process
    calls it; each writes its shards)."""
    import torch.distributed.checkpoint as dcp

    filepath = _check_path(filepath)
    distributed = dist.is_available() and dist.is_initialized()
    if not distributed or dist.get_rank() == 0:
        os.makedirs(filepath, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "torch.distributed is disabled", UserWarning)
        # A later save replaces the folder's checkpoint (save_weights' `overwrite` was checked
        # before); torch warns about it even when asked to.
        warnings.filterwarnings("ignore", "Detected an existing checkpoint", UserWarning)
        writer = dcp.FileSystemWriter(filepath, overwrite=True)
        dcp.save(_state_dict(_entries(model)), storage_writer=writer, no_dist=not distributed)


def load_weights(model, filepath):
    """Read ``model``'s variables from the ``.weights.dcp`` folder ``filepath``, whatever the
    number of processes and layouts it was written with."""
    import torch.distributed.checkpoint as dcp

    filepath = _check_path(filepath)
    if not os.path.isdir(filepath):
        raise ValueError(f"No sharded checkpoint at {filepath!r} (expected a folder).")
    distributed = dist.is_available() and dist.is_initialized()
    saved = dcp.FileSystemReader(filepath).read_metadata().state_dict_metadata
    if (
        not distributed
        and getattr(model, "optimizer", None) is not None
        and any(key.startswith(_OPTIMIZER) for key in saved)
    ):
        # A compiled model resuming from the checkpoint in one process: its optimizer gets the
        # saved state (moments, iteration count) rather than starting over. Across processes the
        # slots must be made at their shards' shapes, which only a loop's sharding does.
        prepare_optimizer(model)
    entries = _entries(model)
    missing = sorted(k for k in entries if k not in saved and not k.startswith(_OPTIMIZER))
    if missing:
        raise ValueError(
            f"The checkpoint {filepath!r} has no values for {len(missing)} of the model's "
            f"variables ({missing[:3]}...): it was written by a model of another architecture."
        )
    same_optimizer = _same_optimizer_state(entries, saved)
    entries = {k: e for k, e in entries.items() if k in saved}
    if not same_optimizer:
        # As for `.weights.h5` files: another optimizer's state is skipped, not forced in.
        warnings.warn(
            f"Skipping the optimizer state of {filepath!r}: it does not match the variables of "
            "the model's optimizer.", stacklevel=3,
        )
        entries = {k: e for k, e in entries.items() if not k.startswith(_OPTIMIZER)}
    targets = _state_dict(entries)
    with warnings.catch_warnings():
        # torch warns that it loads in one process even when asked to with `no_dist`.
        warnings.filterwarnings("ignore", "torch.distributed is disabled", UserWarning)
        dcp.load(targets, checkpoint_id=filepath, no_dist=not distributed)
    from torch.distributed.tensor import DTensor

    with torch.no_grad():
        for key, value in targets.items():
            local = value.to_local() if isinstance(value, DTensor) else value
            entries[key][0].data.copy_(local)


def _same_optimizer_state(entries, saved):
    """Whether the checkpoint's optimizer entries are exactly the built optimizer's variables
    (``entries``: all of the model's, before any is matched with the checkpoint), by name and
    whole shape; or either side has none."""
    mine = {k: v for k, (v, _) in entries.items() if k.startswith(_OPTIMIZER)}
    theirs = {k for k in saved if k.startswith(_OPTIMIZER)}
    if not mine or not theirs:
        return True  # nothing of the optimizer's is loaded
    return set(mine) == theirs and all(
        tuple(whole_shape(v)) == tuple(saved[k].size) for k, v in mine.items()
    )


def save_whole(model, write):
    """Call ``write()`` on process 0 with ``model``'s whole weights in place (every process
    calls it; the others wait for the file)."""
    if not is_sharded(model):
        write()
        return
    with gathered(model, include_optimizer=True):
        if dist.get_rank() == 0:
            write()
    dist.barrier()


def load_whole(model, read):
    """Call ``read()`` (which loads whole values into the variables) with the variables whole,
    then keep each process's shard."""
    if not is_sharded(model):
        read()
        return
    with gathered(model, include_optimizer=True):
        read()
