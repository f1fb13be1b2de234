"""Shared base of the image preprocessing and augmentation layers, and their argument checks.

The layers take one image ``(height, width, channels)`` or a batch ``(batch, height, width,
channels)`` (``channels_first`` puts channels before the spatial axes). Random layers draw from
their own seeded stream and, as in Keras 3, augment by default when called directly (``call``'s
``training`` defaults to ``True``); ``fit`` calls them with ``training=True`` and ``predict`` /
``evaluate`` with ``training=False``, where they pass images through.
"""

import math
import numbers

import torch

from lamina.backend.config import standardize_data_format
from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.layer import Layer
from lamina.ops.image import affine_transform


class UnsupportedOptionError(ValueError, NotImplementedError):
    """An unsupported ``fill_mode`` / ``interpolation``: Keras 3 raises ``NotImplementedError``
    for these; Lamina's rule is ``ValueError``, so the error is both."""


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def validate_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"Argument `seed` must be an integer or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def validate_size(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def validate_option(value, allowed, name):
    if value not in allowed:
        raise UnsupportedOptionError(f"Unknown `{name}` {value!r}. Expected one of {allowed}.")
    return value


def symmetric_factor(factor, name, low=-1.0, high=1.0, low_inclusive=True):
    """``(lower, upper)`` from a number ``f`` (``(-|f|, |f|)``) or a pair, each in the bounds.

    The rule of RandomTranslation and RandomZoom (whose bound is ``(-1, 1]``).
    """
    interval = f"{'[' if low_inclusive else '('}{low}, {high}]"
    message = (
        f"The `{name}` argument should be a number (or a list of two numbers) in the range "
        f"{interval}. Received: {name}={factor!r}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        items = tuple(factor)
    else:
        items = (factor,)
    for v in items:
        if not is_number(v) or v > high or v < low or (v == low and not low_inclusive):
            raise ValueError(message)
    if len(items) == 2:
        lower, upper = sorted(items)
    else:
        lower, upper = -abs(items[0]), abs(items[0])
    return float(lower), float(upper)


def bounded_factor(factor, bounds=(-1.0, 1.0), name="factor"):
    """Keras 3's ``factor`` rule (RandomRotation, RandomBrightness, RandomContrast).

    A number ``f`` within ``bounds`` gives ``(max(-|f|, bounds[0]), |f|)``; a pair is sorted and
    must overlap the bounds (``factor[0] <= bounds[1]``, ``factor[1] >= bounds[0]``).
    """
    message = (
        f"The `{name}` argument should be a number (or a list of two numbers) in the range "
        f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor!r}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(is_number(v) for v in factor):
            raise ValueError(message)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if not is_number(factor) or factor < bounds[0] or factor > bounds[1]:
        raise ValueError(message)
    return max(-abs(factor), bounds[0]), abs(factor)


def validate_value_range(value_range):
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(is_number(v) for v in value_range)
    ):
        raise ValueError(
            "The `value_range` argument should be a list of two numbers. "
            f"Received: value_range={value_range!r}"
        )
    return value_range


def uniform(generator, shape, low, high, device, dtype=torch.float32):
    """Uniform draws in ``[low, high)``; ``low == high`` gives exactly ``low``."""
    u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
    return u * (high - low) + low


def affine_matrices(height, width, angle=None, scale=None, translate_x=None, translate_y=None):
    """Per-image ``[a0, a1, a2, b0, b1, b2, 0, 0]`` rotating by ``angle`` degrees and scaling
    about the image centre, then translating (float32, with Keras's order of operations).

    Args:
        height, width: Image size.
        angle, scale, translate_x, translate_y: ``(batch,)`` float32 tensors (``None``: 0, 1).
    """
    ref = next(t for t in (angle, scale, translate_x, translate_y) if t is not None)
    zeros = torch.zeros_like(ref)
    angle = zeros if angle is None else angle
    scale = torch.ones_like(ref) if scale is None else scale
    translate_x = zeros if translate_x is None else translate_x
    translate_y = zeros if translate_y is None else translate_y
    radians = angle * torch.tensor(math.pi / 180.0, dtype=angle.dtype)
    cos, sin = torch.cos(radians), torch.sin(radians)
    cx = 0.5 * (torch.tensor(width, dtype=ref.dtype) - 1)
    cy = 0.5 * (torch.tensor(height, dtype=ref.dtype) - 1)
    a0, a1 = scale * cos, scale * -sin
    b0, b1 = scale * sin, scale * cos
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], dim=1)


class BaseImagePreprocessingLayer(Layer):
    """Base of the image layers: data format, rank checks, unbatched images, config.

    Subclasses implement ``_transform(images, training)`` on 4D batches.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)

    def _spatial_axes(self, rank):
        """(height axis, width axis) for an input of ``rank`` 3 or 4."""
        offset = rank - 3
        return (offset, offset + 1) if self.data_format == "channels_last" else (offset + 1, offset + 2)

    def _check_rank(self, shape):
        if len(shape) not in (3, 4):
            raise ValueError(
                f"Layer '{self.name}' expected images of rank 3 (height, width, channels) or 4 "
                f"(batch, height, width, channels) in {self.data_format} format. "
                f"Received: inputs.shape={tuple(shape)}"
            )

    def call(self, inputs, training=True):
        self._check_rank(inputs.shape)
        if inputs.dim() == 3:
            return self._transform(inputs.unsqueeze(0), training).squeeze(0)
        return self._transform(inputs, training)

    def _transform(self, images, training):
        raise NotImplementedError

    def _cast(self, images):
        dtype = self._compute_torch_dtype
        return images if images.dtype == dtype else images.to(dtype)

    def _size(self, images):
        """(height, width) of a 4D batch."""
        h_axis, w_axis = self._spatial_axes(4)
        return images.shape[h_axis], images.shape[w_axis]

    def _generator(self, images):
        # A layer inside RandAugment / AugMix / RandomColorJitter draws from its owner's stream,
        # as in Keras: sublayers built with one `seed` would otherwise draw the same numbers.
        stream = self.__dict__.get("_draw_stream") or self.seed_generator
        return stream.generator(images.device)

    def _init_seed(self, seed):
        self.seed = validate_seed(seed)
        self.seed_generator = SeedGenerator(self.seed)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class BaseRandomAffineLayer(BaseImagePreprocessingLayer):
    """Base of the geometric augmentations: one batched affine warp of per-image matrices.

    Subclasses implement ``_matrices(batch, height, width, generator, device)``.
    """

    _FILL_MODES = ("reflect", "wrap", "constant", "nearest")
    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(
        self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.fill_mode = validate_option(fill_mode, self._FILL_MODES, "fill_mode")
        self.interpolation = validate_option(interpolation, self._INTERPOLATIONS, "interpolation")
        if not is_number(fill_value):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={fill_value!r}")
        self.fill_value = fill_value
        self._init_seed(seed)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        height, width = self._size(images)
        matrices = self._matrices(images.shape[0], height, width, self._generator(images), images.device)
        return affine_transform(
            images,
            matrices,
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            data_format=self.data_format,
        )

    def _matrices(self, batch, height, width, generator, device):
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "fill_mode": self.fill_mode,
                "interpolation": self.interpolation,
                "seed": self.seed,
                "fill_value": self.fill_value,
            }
        )
        return config


def transform_value_range(images, original_range, target_range):
    """Map pixel values linearly from ``original_range`` to ``target_range`` (in their dtype)."""
    if original_range[0] == target_range[0] and original_range[1] == target_range[1]:
        return images
    unit = (images - original_range[0]) / (original_range[1] - original_range[0])
    return unit * (target_range[1] - target_range[0]) + target_range[0]


def sorted_value_range(value_range):
    """Keras's rule for the colour layers: a list or tuple of two numbers, stored sorted."""
    return sorted(validate_value_range(value_range))


def per_image(values):
    """``(batch,)`` values shaped ``(batch, 1, 1, 1)`` to broadcast over images."""
    return values.reshape(-1, 1, 1, 1)
