"""Utilities (``keras.utils``): one-hot encoding, normalization, seeding, Python datasets, the
progress bar, and the serialization helpers Keras also exposes here."""

from lamina.backend import clear_session
from lamina.backend.dtypes import standardize_dtype
from lamina.backend.random import set_random_seed
from lamina.layers.symbolic import is_keras_tensor
from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from lamina.trainers.data_adapters import pack_x_y_sample_weight, unpack_x_y_sample_weight
from lamina.utils import data_utils  # the Keras 2 module path `keras.utils.data_utils`
from lamina.utils.audio_dataset_utils import audio_dataset_from_directory
from lamina.utils.dataset import Dataset
from lamina.utils.dataset_utils import split_dataset
from lamina.utils.enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer
from lamina.utils.file_utils import get_file
from lamina.utils.image_dataset_utils import image_dataset_from_directory
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.layers.preprocessing.feature_space import FeatureSpace
from lamina.utils import bounding_boxes
from lamina.utils.config import Config
from lamina.utils.source_inputs import get_source_inputs
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset, Sequence
from lamina.utils.sequence_utils import pad_sequences
from lamina.utils.text_dataset_utils import text_dataset_from_directory
from lamina.utils.timeseries_dataset_utils import timeseries_dataset_from_array

__all__ = [
    "array_to_img",
    "audio_dataset_from_directory",
    "bounding_boxes",
    "clear_session",
    "Config",
    "custom_object_scope",
    "CustomObjectScope",
    "Dataset",
    "deserialize_keras_object",
    "FeatureSpace",
    "GeneratorEnqueuer",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "get_source_inputs",
    "image_dataset_from_directory",
    "img_to_array",
    "is_keras_tensor",
    "load_img",
    "normalize",
    "OrderedEnqueuer",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "Progbar",
    "PyDataset",
    "register_keras_serializable",
    "save_img",
    "Sequence",
    "SequenceEnqueuer",
    "serialize_keras_object",
    "set_random_seed",
    "split_dataset",
    "standardize_dtype",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]


# The interactive-logging switches live in `lamina.config`; they are offered here only once
# that module defines them (looked up lazily: `lamina.config` is imported after this package).
_FROM_CONFIG = ("disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled")


def __getattr__(name):
    if name in _FROM_CONFIG:
        from lamina import config as _config

        if hasattr(_config, name):
            return getattr(_config, name)
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")
from lamina.utils.io_utils import (  # noqa: E402
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from lamina.utils import legacy  # noqa: E402,F401
# Keras 2 module paths (`keras.utils.np_utils.to_categorical`, ...).
from lamina.utils import generic_utils, layer_utils, np_utils  # noqa: E402
from lamina.utils.model_visualization import model_to_dot, plot_model  # noqa: E402,F401
__all__ += ["model_to_dot", "plot_model"]
