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
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset, Sequence
from lamina.utils.text_dataset_utils import text_dataset_from_directory
from lamina.utils.timeseries_dataset_utils import timeseries_dataset_from_array

__all__ = [
    "CustomObjectScope",
    "Dataset",
    "GeneratorEnqueuer",
    "OrderedEnqueuer",
    "Progbar",
    "PyDataset",
    "Sequence",
    "SequenceEnqueuer",
    "audio_dataset_from_directory",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "image_dataset_from_directory",
    "is_keras_tensor",
    "normalize",
    "pack_x_y_sample_weight",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
    "split_dataset",
    "standardize_dtype",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
