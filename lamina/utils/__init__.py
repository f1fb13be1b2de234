"""Utilities (``keras.utils``): one-hot encoding, normalization, seeding, Python datasets, the
progress bar, and the serialization helpers Keras also exposes here."""

from lamina.backend import clear_session
from lamina.backend.dtypes import standardize_dtype
from lamina.backend.random import set_random_seed
from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset, Sequence

__all__ = [
    "CustomObjectScope",
    "Progbar",
    "PyDataset",
    "Sequence",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "is_keras_tensor",
    "normalize",
    "pack_x_y_sample_weight",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
    "standardize_dtype",
    "to_categorical",
    "unpack_x_y_sample_weight",
]


# Names ``keras.utils`` also offers from higher floors, looked up on first use: the lower floors
# import ``lamina.utils.<module>``, which runs this file, and must not load layers or trainers.
_FROM_HIGHER_FLOORS = {
    "is_keras_tensor": "lamina.layers.symbolic",
    "pack_x_y_sample_weight": "lamina.trainers.data_adapters",
    "unpack_x_y_sample_weight": "lamina.trainers.data_adapters",
}


def __getattr__(name):
    if name not in _FROM_HIGHER_FLOORS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_FROM_HIGHER_FLOORS[name]), name)
    globals()[name] = value
    return value
