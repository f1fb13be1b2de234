"""A layer's call under a ``RematScope`` mode: which calls to checkpoint, with their randomness
replayed exactly when the backward pass recomputes them."""

import math

import torch

from lamina.backend.remat import remat
from lamina.utils import tree


def _generators(layer):
    """Every torch generator and seed-generator state variable the layer (and sublayers) draws from."""
    gens, states = [], []
    for sub in layer._flatten_layers(include_self=True):
        for value in sub.__dict__.values():
            table = getattr(value, "_generators", None)
            if isinstance(table, dict):
                gens.extend(table.values())
        states.extend(g.state for g in sub.__dict__.get("_seed_generators", ()))
    return gens, states


def _replaying(layer, fn):
    """``fn`` that, when run a second time (the recomputation), first rewinds the layer's random
    generators so dropout masks and noise match the forward pass."""
    gens, states = _generators(layer)
    if not gens and not states:
        return fn
    saved_gens = [g.get_state() for g in gens]
    saved_states = [s.data.clone() for s in states]
    runs = [0]

    def run(*args, **kwargs):
        runs[0] += 1
        if runs[0] == 1:
            return fn(*args, **kwargs)
        # Recomputation: replay the forward draws, then leave the generators where they were.
        now_gens = [g.get_state() for g in gens]
        now_states = [s.data.clone() for s in states]
        for g, state in zip(gens, saved_gens):
            g.set_state(state)
        for s, value in zip(states, saved_states):
            s.data.copy_(value)
        try:
            return fn(*args, **kwargs)
        finally:
            for g, state in zip(gens, now_gens):
                g.set_state(state)
            for s, value in zip(states, now_states):
                s.data.copy_(value)

    return run


def _output_size(outputs):
    return sum(t.numel() for t in tree.flatten(outputs) if isinstance(t, torch.Tensor))


def remat_call(layer, args, kwargs):
    """Run ``layer.call`` as its remat mode asks (only while autograd records)."""
    mode = layer._remat_mode
    if not torch.is_grad_enabled() or mode.mode is None:
        return layer.call(*args, **kwargs)
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names):
        return remat(_replaying(layer, layer.call))(*args, **kwargs)
    if mode.mode == "activations":
        activation = layer.__dict__.get("activation")
        if activation is None or not callable(activation):
            return layer.call(*args, **kwargs)
        layer.__dict__["activation"] = remat(activation)
        try:
            return layer.call(*args, **kwargs)
        finally:
            layer.__dict__["activation"] = activation
    if mode.mode == "larger_than":
        # The output size is known after a call: the first call for an input shape is
        # checkpointed (always correct) and measured; later ones follow the recorded decision.
        key = tuple(tuple(t.shape) for t in tree.flatten(args) if isinstance(t, torch.Tensor))
        decisions = layer.__dict__.setdefault("_remat_decisions", {})
        if decisions.get(key, True):
            out = remat(_replaying(layer, layer.call))(*args, **kwargs)
            decisions[key] = _output_size(out) > mode.output_size_threshold
            return out
    return layer.call(*args, **kwargs)
