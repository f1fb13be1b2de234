"""The backend: configuration, naming, random seeds, dtypes, tensor conversion, and the Keras 2
style ``K.*`` functions (``from lamina import backend as K``)."""

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
from lamina.backend import _hooks
from lamina.backend import numpy_interop as _numpy_interop

_numpy_interop.install()


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic ``KerasTensor`` (as made by ``lamina.Input``), not real data."""
    return getattr(x, "_is_keras_tensor", False) is True


def clear_session():
    """Reset the default-name counters (``dense``, ``dense_1``, ...) and free cached state."""
    from lamina.backend import naming

    naming.reset_uids()
    for reset in _hooks.SESSION_RESETS:  # state kept on higher floors (Keras 2's learning phase)
        reset()


# The Keras 2 ``K.*`` functions (``lamina.backend.legacy``) are written with ``lamina.ops`` and so sit
# floors above the backend, which never imports them: the public namespace installs them when it
# loads (lamina/__init__.py, through ``_hooks``). Whatever their ``__all__`` lists is reachable as
# ``lamina.backend.X`` (and through ``import *``).
def __getattr__(name):
    if name == "__all__":
        return [n for n in __dir__() if not n.startswith("_") and not _is_submodule(n)]
    keras2 = _hooks.keras2_functions()
    if name.startswith("__") or keras2 is None or name not in keras2.__all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(keras2, name)
    globals()[name] = value  # later lookups skip this function
    return value


def _is_submodule(name):
    return isinstance(globals().get(name), type(_numpy_interop))


def __dir__():
    keras2 = _hooks.keras2_functions()
    return sorted(set(globals()) | set(keras2.__all__ if keras2 is not None else ()))
