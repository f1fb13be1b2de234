"""``RandomBrightness``: add a random offset to each image."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    uniform,
    validate_value_range,
)
from lamina.saving.object_registration import register_builtin


def adjust_brightness(images, delta, value_range):
    """``images + delta`` clipped to ``value_range``; ``delta`` has shape ``(batch, 1, 1, 1)``.

    Integer images get the offset truncated toward zero and keep their dtype; the sum is formed
    in floating point so that unsigned images cannot wrap around before the clip.
    """
    if images.is_floating_point():
        return torch.clamp(images + delta.to(images.dtype), value_range[0], value_range[1])
    out = torch.clamp(images.double() + torch.trunc(delta.double()), value_range[0], value_range[1])
    return out.to(images.dtype)


@register_builtin("keras.layers")
class RandomBrightness(BaseImagePreprocessingLayer):
    """Randomly adjusts the brightness of images during training.

    Each image gets ``u * (value_range[1] - value_range[0])`` added to all its pixels, with ``u``
    drawn uniformly from ``factor``'s range, and is clipped to ``value_range``. With
    ``training=False`` the images pass through unchanged.

    Args:
        factor: A float ``f`` in ``[-1, 1]`` (range ``[-|f|, |f|]``) or a pair
            ``(lower, upper)`` of fractions of the value range.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomBrightness(0.2, value_range=(0, 1), seed=0)
    >>> y = layer(np.random.rand(2, 8, 8, 3), training=True)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = bounded_factor(0.0 if factor is None else factor)
        self.value_range = sorted(validate_value_range(value_range))
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        shape = (images.shape[0], 1, 1, 1)
        draws = uniform(self._generator(images), shape, self.factor[0], self.factor[1], images.device)
        delta = draws * (self.value_range[1] - self.value_range[0])
        return adjust_brightness(images, delta, self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
