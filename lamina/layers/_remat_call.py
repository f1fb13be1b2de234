"""A layer's call under a ``RematScope`` mode: which calls to checkpoint, with their randomness
replayed exactly when the backward pass recomputes them."""

import math

import torch

from lamina.backend.remat import remat
from lamina.utils import tree


def _random_state(layer):
    """The layer's (and sublayers') random state: generator tables (device -> torch generator,
    filled lazily) and seed-generator state variables."""
    tables, states = [], []
    for sub in layer._flatten_layers(include_self=True):
        for value in sub.__dict__.values():
            table = getattr(value, "_generators", None)
            if isinstance(table, dict):
                tables.append(table)
        states.extend(g.state for g in sub.__dict__.get("_seed_generators", ()))
    return tables, states


def _snapshot(tables, states):
    return (
        [{key: (gen, gen.get_state()) for key, gen in table.items()} for table in tables],
        [s.data.clone() for s in states],
    )


def _restore(tables, states, snapshot):
    saved_tables, saved_states = snapshot
    for table, saved in zip(tables, saved_tables):
        # A generator made after the snapshot is dropped: it is rebuilt from its seed, identically.
        table.clear()
        for key, (gen, state) in saved.items():
            gen.set_state(state)
            table[key] = gen
    for s, value in zip(states, saved_states):
        s.data.copy_(value)


def _replaying(layer, fn):
    """``fn`` that, when run a second time (the recomputation), first rewinds the layer's random
    generators so dropout masks and noise match the forward pass."""
    tables, states = _random_state(layer)
    if not tables and not states:
        return fn
    before = _snapshot(tables, states)
    runs = [0]

    def run(*args, **kwargs):
        runs[0] += 1
        if runs[0] == 1:
            return fn(*args, **kwargs)
        # Recomputation: replay the forward draws, then leave the generators where they were.
        now = _snapshot(tables, states)
        _restore(tables, states, before)
        try:
            return fn(*args, **kwargs)
        finally:
            _restore(tables, states, now)

    return run


def _output_size(outputs):
    return sum(t.numel() for t in tree.flatten(outputs) if isinstance(t, torch.Tensor))


def remat_call(layer, args, kwargs, fn=None):
    """Run ``layer.call`` (or ``fn``, another call of the layer) as its remat mode asks (only
    while autograd records)."""
    fn = layer.call if fn is None else fn
    mode = layer._remat_mode
    if not torch.is_grad_enabled() or mode.mode is None:
        return fn(*args, **kwargs)
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names):
        return remat(_replaying(layer, fn))(*args, **kwargs)
    if mode.mode == "activations":
        activation = layer.__dict__.get("activation")
        if activation is None or not callable(activation):
            return fn(*args, **kwargs)
        layer.__dict__["activation"] = remat(activation)
        try:
            return fn(*args, **kwargs)
        finally:
            layer.__dict__["activation"] = activation
    if mode.mode == "larger_than":
        # The output size is known after a call: the first call for an input shape is
        # checkpointed (always correct) and measured; later ones follow the recorded decision.
        key = tuple(tuple(t.shape) for t in tree.flatten(args) if isinstance(t, torch.Tensor))
        decisions = layer.__dict__.setdefault("_remat_decisions", {})
        if decisions.get(key, True):
            out = remat(_replaying(layer, fn))(*args, **kwargs)
            decisions[key] = _output_size(out) > mode.output_size_threshold
            return out
    return fn(*args, **kwargs)
