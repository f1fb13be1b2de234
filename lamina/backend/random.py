"""Random number generation: the global seed and per-object seeded generators.

Every stochastic object (initializer, Dropout, ...) draws from a ``torch.Generator`` built from its
``seed``; objects without a seed draw a fresh seed from a global Python RNG, which
``set_random_seed`` resets, so a whole program becomes reproducible with one call.
"""

import contextlib
import random as _py_random

import numpy as np
import torch

_GLOBAL = _py_random.Random()


def set_random_seed(seed):
    """Seed Python, NumPy, torch and Lamina's own generator so runs are reproducible."""
    seed = int(seed)
    _py_random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    _GLOBAL.seed(seed)
    _EPOCH[0] += 1


# Bumped by `set_random_seed` so cached global generators know to start over.
_EPOCH = [0]


def seed_epoch():
    """How many times ``set_random_seed`` has been called (global generators restart on change)."""
    return _EPOCH[0]


def draw_seed():
    """A fresh seed from Lamina's global generator."""
    return _GLOBAL.randrange(2**31 - 1)


def make_generator(seed=None, device=None):
    """A ``torch.Generator`` seeded with ``seed`` (or a freshly drawn seed when ``None``)."""
    if seed is None:
        seed = draw_seed()
    device = torch.device(device or "cpu")
    # Meta tensors (shape-only builds) draw nothing; torch accepts a CPU generator for them.
    gen = torch.Generator(device="cpu" if device.type == "meta" else device)
    gen.manual_seed(int(seed))
    return gen


class SeedGenerator:
    """Stateful seeded generator owned by a layer: each draw continues the same stream.

    Args:
        seed: Python integer or ``None`` (a seed drawn from the global generator).
    """

    def __init__(self, seed=None):
        self.seed = draw_seed() if seed is None else int(seed)
        self._generators = {}

    def generator(self, device):
        device = torch.device(device)
        key = (device.type, device.index)
        gen = self._generators.get(key)
        if gen is None:
            gen = make_generator(self.seed, device=device)
            self._generators[key] = gen
        return gen


@contextlib.contextmanager
def preserved_global_seed():
    """Restore Lamina's global seed stream on exit: work done inside draws no seed for later code.

    Used for throw-away builds (e.g. sizing a model on the meta device before loading it), so a
    program seeded with ``set_random_seed`` draws the same numbers whether or not one happened.
    """
    state = _GLOBAL.getstate()
    try:
        yield
    finally:
        _GLOBAL.setstate(state)
