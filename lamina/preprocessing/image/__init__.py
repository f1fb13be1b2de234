"""Keras 2 image preprocessing (``keras.preprocessing.image``): ``ImageDataGenerator``, its
iterators, single-image random transformations, and the image file helpers.

``DataFrameIterator`` / ``ImageDataGenerator.flow_from_dataframe`` (which need pandas) are not
provided.
"""

from lamina.preprocessing.image.affine_transformations import (
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    random_brightness,
    random_channel_shift,
    random_rotation,
    random_shear,
    random_shift,
    random_zoom,
)
from lamina.preprocessing.image.directory_iterator import DirectoryIterator
from lamina.preprocessing.image.image_data_generator import ImageDataGenerator
from lamina.preprocessing.image.iterator import Iterator
from lamina.preprocessing.image.numpy_array_iterator import NumpyArrayIterator
from lamina.preprocessing.image.smart_resize import smart_resize
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = [
    "DirectoryIterator",
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "apply_affine_transform",
    "apply_brightness_shift",
    "apply_channel_shift",
    "array_to_img",
    "img_to_array",
    "load_img",
    "random_brightness",
    "random_channel_shift",
    "random_rotation",
    "random_shear",
    "random_shift",
    "random_zoom",
    "save_img",
    "smart_resize",
]
