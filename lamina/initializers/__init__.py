"""Initializers: objects that compute the starting values of weights.

An initializer is called as ``initializer(shape, dtype=None)`` and returns a torch tensor of that shape
on ``lamina.backend.get_device()``, of dtype ``floatx()`` unless ``dtype`` says otherwise. Layers accept
an initializer object, its string name (``"glorot_uniform"``) or its serialized config.

Seeds follow Keras 3: an initializer made with an integer seed, or with ``seed=None`` (a seed is then
drawn once, when it is made, from Lamina's global generator, so ``set_random_seed`` makes programs
reproducible), returns the same values on every call. Pass a
``lamina.backend.random.SeedGenerator`` as ``seed`` to get new values on each call.
"""

from lamina.initializers.constant_initializers import Constant, Identity, Ones, Zeros
from lamina.initializers.initializer import _MODULE, Initializer
from lamina.initializers.random_initializers import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    _compute_fans,
)
from lamina.initializers.stft_initializer import STFT
from lamina.saving import object_lookup
from lamina.saving.object_registration import builtin_objects

# Module-level aliases that `keras.initializers` exposes.
zeros = Zeros
ones = Ones
constant = Constant
identity = IdentityInitializer = Identity
random_normal = RandomNormal
truncated_normal = TruncatedNormal
random_uniform = RandomUniform
variance_scaling = VarianceScaling
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = OrthogonalInitializer = Orthogonal
stft = STFTInitializer = STFT


get, serialize, deserialize = object_lookup.lookup_functions(
    "initializer", builtin_objects(_MODULE), Initializer
)

# `Variable(initializer="zeros")`: the backend (a floor below) resolves names through this lookup.
from lamina.backend import variables as _variables  # noqa: E402

_variables.set_initializer_lookup(get)
