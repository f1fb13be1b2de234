"""Shared base of ``RandomHeight`` and ``RandomWidth`` (Keras 2 layers, dropped by Keras 3)."""

import numpy as np

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    is_number,
    uniform,
    validate_option,
)
from lamina.ops.image import RESIZE_INTERPOLATIONS, resize


def axis_factor(factor):
    """``(lower, upper)`` from a number ``f`` (``(-f, f)``) or a pair, each at least -1."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(is_number(v) for v in factor):
            raise ValueError(f"`factor` must be a number or a pair of numbers. Received: factor={factor!r}")
        lower, upper = factor
    elif is_number(factor):
        lower, upper = -factor, factor
    else:
        raise ValueError(f"`factor` must be a number or a pair of numbers. Received: factor={factor!r}")
    if upper < lower:
        raise ValueError(
            f"`factor` argument cannot have an upper bound lesser than the lower bound. Received: factor={factor!r}"
        )
    if lower < -1.0 or upper < -1.0:
        raise ValueError(f"`factor` argument must have values larger than -1. Received: factor={factor!r}")
    return float(lower), float(upper)


class BaseRandomAxisResize(BaseImagePreprocessingLayer):
    """Resizes one spatial axis (``_AXIS``: 0 height, 1 width) of ``channels_last`` images by a
    random factor drawn once per call, in training only."""

    _AXIS = None

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(data_format="channels_last", **kwargs)
        self.lower, self.upper = axis_factor(factor)
        self.factor = factor
        self.interpolation = validate_option(interpolation, RESIZE_INTERPOLATIONS, "interpolation")
        self._init_seed(seed)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        size = list(self._size(images))
        draw = uniform(self.seed_generator.generator("cpu"), (), 1.0 + self.lower, 1.0 + self.upper, "cpu")
        # float32 product truncated to an int, as Keras 2; at least one pixel is kept.
        size[self._AXIS] = max(int(np.float32(draw.item()) * np.float32(size[self._AXIS])), 1)
        return resize(images, size, interpolation=self.interpolation, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        shape = list(input_shape)
        shape[len(shape) - 3 + self._AXIS] = None
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        # Keras 2 layers: no data_format argument.
        config.pop("data_format")
        config.update({"factor": self.factor, "interpolation": self.interpolation, "seed": self.seed})
        return config
