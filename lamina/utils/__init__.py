"""Utilities (``keras.utils``): one-hot encoding, normalization, seeding, Python datasets, the
progress bar, the serialization helpers Keras also exposes here, file downloads, dataset builders,
image helpers, FeatureSpace and bounding boxes."""

import importlib as _importlib

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
from lamina.ops.numerical_utils import normalize, to_categorical
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset, Sequence

# Names ``keras.utils`` offers whose modules sit on higher floors (ops, layers, trainers) or pull in
# optional packages: looked up on first use. The lower floors import ``lamina.utils.<module>``,
# which runs this file, and must not load layers or trainers.
_LAZY = {
    "is_keras_tensor": "lamina.backend.symbolic",
    "pack_x_y_sample_weight": "lamina.trainers.data_adapters",
    "unpack_x_y_sample_weight": "lamina.trainers.data_adapters",
    "FeatureSpace": "lamina.layers.preprocessing.feature_space",
    "Config": "lamina.utils.config",
    "get_source_inputs": "lamina.utils.source_inputs",
    "array_to_img": "lamina.utils.image_utils",
    "img_to_array": "lamina.utils.image_utils",
    "load_img": "lamina.utils.image_utils",
    "save_img": "lamina.utils.image_utils",
    "pad_sequences": "lamina.utils.sequence_utils",
    "get_file": "lamina.utils.file_utils",
    "Dataset": "lamina.utils.dataset",
    "split_dataset": "lamina.utils.dataset_utils",
    "audio_dataset_from_directory": "lamina.utils.audio_dataset_utils",
    "image_dataset_from_directory": "lamina.utils.image_dataset_utils",
    "text_dataset_from_directory": "lamina.utils.text_dataset_utils",
    "timeseries_dataset_from_array": "lamina.utils.timeseries_dataset_utils",
    "GeneratorEnqueuer": "lamina.utils.enqueuers",
    "OrderedEnqueuer": "lamina.utils.enqueuers",
    "SequenceEnqueuer": "lamina.utils.enqueuers",
    "disable_interactive_logging": "lamina.utils.io_utils",
    "enable_interactive_logging": "lamina.utils.io_utils",
    "is_interactive_logging_enabled": "lamina.utils.io_utils",
    "model_to_dot": "lamina.utils.model_visualization",
    "plot_model": "lamina.utils.model_visualization",
}

# Submodules reachable as attributes (``keras.utils.bounding_boxes``, and the Keras 2 paths
# ``keras.utils.np_utils``, ``generic_utils``, ``layer_utils``, ``data_utils``, ``legacy``).
_SUBMODULES = ("bounding_boxes", "data_utils", "generic_utils", "layer_utils", "legacy", "np_utils")

__all__ = sorted(
    [
        "CustomObjectScope",
        "Progbar",
        "PyDataset",
        "Sequence",
        "bounding_boxes",
        "clear_session",
        "custom_object_scope",
        "deserialize_keras_object",
        "get_custom_objects",
        "get_registered_name",
        "get_registered_object",
        "normalize",
        "register_keras_serializable",
        "serialize_keras_object",
        "set_random_seed",
        "standardize_dtype",
        "to_categorical",
    ]
    + [name for name in _LAZY if not name.endswith("interactive_logging") and name != "is_interactive_logging_enabled"],
    key=str.lower,
)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
