"""``SeedGenerator``: the state of a random stream, held in a variable (Keras's design).

Random functions in ``lamina.random`` are stateless: an integer ``seed`` gives the same numbers on
every call. A ``SeedGenerator`` passed as ``seed`` gives new numbers on each call: its state is a
non-trainable ``(2,)`` ``uint32`` variable ``[seed, counter]`` that each draw reads and advances. A
layer holding one as an attribute lists that state in ``layer.variables`` and
``layer.non_trainable_variables`` (not in ``layer.weights``, and not in weight files -- as Keras).
"""

import torch

from lamina.backend import device_scope
from lamina.backend import random as backend_random
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend import torch_compat
from lamina.backend.torch_compat import unset_fake_temporarily
from lamina.backend.variables import SCOPE, Variable

_UINT32 = 2**32


class SeedGenerator:
    """Generates a new seed on each call of a random function it is passed to.

    Args:
        seed: Initial seed (a Python integer), or ``None`` for one drawn from Lamina's global
            generator (which ``lamina.utils.set_random_seed`` makes reproducible).
        name: Name of the generator; its state variable is ``"{name}/seed_generator_state"``.

    Example:

    >>> seed_gen = lamina.random.SeedGenerator(seed=42)
    >>> values = lamina.random.normal(shape=(2, 3), seed=seed_gen)
    >>> new_values = lamina.random.normal(shape=(2, 3), seed=seed_gen)

    In a layer:

    >>> class Dropout(lamina.Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.seed_generator = lamina.random.SeedGenerator(1337)
    ...     def call(self, x, training=False):
    ...         if training:
    ...             return lamina.random.dropout(x, rate=0.5, seed=self.seed_generator)
    ...         return x
    """

    _is_lamina_seed_generator = True

    def __init__(self, seed=None, name=None, **kwargs):
        # Keras accepts a `backend` module to generate with; Lamina has only one backend.
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._initial_seed = seed
        if seed is None:
            seed = backend_random.draw_seed()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        with device_scope.device("cpu"):
            # Host bookkeeping: on CPU, reading the state before each draw never waits on a GPU.
            self.state = Variable(
                initializer=torch.tensor([seed % _UINT32, 0], dtype=torch.int64).to(torch.uint32),
                shape=(2,),
                dtype="uint32",
                trainable=False,
                name="seed_generator_state",
            )
        self.state.path = f"{self.name}/seed_generator_state"

    @property
    def seed(self):
        """The initial seed as given (``None`` when it was drawn from the global generator)."""
        return self._initial_seed

    def generator(self, device):
        """A ``torch.Generator`` on ``device`` seeded from the current state, which then advances.

        Layers draw all the random numbers of one call from one such generator: equal initial
        seeds give equal numbers call after call, and setting ``state`` replays a stream.
        """
        device = torch.device(device)
        gen = torch.Generator(device=device)
        gen.manual_seed(draw_seed(self))
        return gen

    def next(self, ordered=True):
        """The current state (a new ``uint32`` tensor), then advance the state.

        Args:
            ordered: If ``True`` the counter goes up by one; otherwise the state is scrambled
                (``(state + 1) * 5387 % 933199``), as Keras does for the global generator.
        """
        if torch_compat.is_compiling():
            # torch.export / torch.compile tracing: the program takes the current seed as a
            # constant; the state (host data, not a traced input) is read, not advanced.
            with torch_compat.without_dispatch_modes():
                return self.state.detach().numpy().copy()
        with unset_fake_temporarily():
            current = self.state.value.clone()
            if SCOPE.symbolic:
                # Shape inference runs the call without real data: it must not consume randomness.
                return current
            wide = current.to(torch.int64)
            if ordered:
                wide = wide + torch.tensor([0, 1], device=wide.device)
            else:
                wide = (wide + 1) * 5387 % 933199
            self.state.assign((wide % _UINT32).to(torch.uint32))
            return current

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name}, state={self.state.value.tolist()}>"


_GLOBAL = {"generator": None, "epoch": None}


def global_seed_generator():
    """The generator unseeded random calls draw from (renewed by ``set_random_seed``)."""
    epoch = backend_random.seed_epoch()
    if _GLOBAL["generator"] is None or _GLOBAL["epoch"] != epoch:
        _GLOBAL["generator"] = SeedGenerator(name="global_seed_generator")
        _GLOBAL["epoch"] = epoch
    return _GLOBAL["generator"]


def draw_seed(seed):
    """The 64-bit integer seed for one random call, from an int, a ``SeedGenerator`` or ``None``."""
    if SCOPE.symbolic:
        # Shapes only: leave every generator's state as it is.
        return 0
    if getattr(seed, "_is_lamina_seed_generator", False):
        first, second = seed.next().tolist()
    elif isinstance(seed, int) and not isinstance(seed, bool):
        first, second = seed % _UINT32, 0
    elif seed is None:
        first, second = global_seed_generator().next(ordered=False).tolist()
    else:
        raise ValueError(
            "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
            f"Received: seed={seed} (of type {type(seed)})"
        )
    return _mix(int(first) * _UINT32 + int(second))


def _mix(value):
    """SplitMix64 finalizer: torch's CPU generator keeps only 32 bits of a seed, so both halves of
    the state must reach the low bits (else ``[s, 0]`` and ``[s, 1]`` could give the same stream)."""
    mask = 2**64 - 1
    value = (value + 0x9E3779B97F4A7C15) & mask
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & mask
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & mask
    return value ^ (value >> 31)
