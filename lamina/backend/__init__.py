"""The backend: configuration, naming, random seeds, dtypes, tensor conversion, and the Keras 2
style ``K.*`` functions (``from lamina import backend as K``)."""

import importlib as _importlib
import importlib.util as _importlib_util

from lamina.backend.config import (
    backend,
    epsilon,
    floatx,
    get_device,
    image_data_format,
    set_device,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    standardize_data_format,
)
from lamina.backend.core import (
    cast,
    convert_to_numpy,
    convert_to_tensor,
    is_tensor,
    standardize_dtype,
    standardize_shape,
)
from lamina.backend.dtypes import is_float_dtype, is_int_dtype, result_type
from lamina.backend.naming import get_uid
from lamina.backend import numpy_interop as _numpy_interop

_numpy_interop.install()


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic ``KerasTensor`` (as made by ``lamina.Input``), not real data."""
    return getattr(x, "_is_keras_tensor", False) is True


def clear_session():
    """Reset the default-name counters (``dense``, ``dense_1``, ...) and free cached state."""
    from lamina.backend import naming

    naming.reset_uids()
    from lamina.backend.legacy import training_phase  # Keras 2: the learning phase is unset too

    training_phase.reset_learning_phase()


# The Keras 2 ``K.*`` functions (``lamina.backend.legacy``) are written with ``lamina.ops`` and so sit
# a floor above it; they are loaded on first use, so that importing the backend never imports ops.
# Whatever ``legacy.__all__`` lists is reachable as ``lamina.backend.X`` (and through ``import *``).
def __getattr__(name):
    if name == "__all__":
        return [n for n in __dir__() if not n.startswith("_") and not _is_submodule(n)]
    # A submodule not imported yet (``from lamina.backend import dtype_policy``) is the import
    # system's to load, not a ``K.*`` function.
    if name.startswith("__") or _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    legacy = _importlib.import_module("lamina.backend.legacy")
    if name not in legacy.__all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(legacy, name)
    globals()[name] = value  # later lookups skip this function
    return value


def _is_submodule(name):
    return isinstance(globals().get(name), type(_importlib))


def __dir__():
    legacy = _importlib.import_module("lamina.backend.legacy")
    return sorted(set(globals()) | set(legacy.__all__))
