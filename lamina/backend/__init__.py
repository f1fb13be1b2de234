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
from lamina.backend.legacy import *  # noqa: E402,F401,F403  (Keras 2 K.* functions)
