"""``RandomContrast``: scale each image's deviation from its mean by a random factor."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    uniform,
    validate_value_range,
)
from lamina.saving.object_registration import register_builtin


def adjust_contrast(images, contrast_factor, value_range, data_format):
    """``(x - mean) * factor + mean`` per image and channel (mean over the spatial axes), clipped
    to ``value_range``; ``contrast_factor`` has shape ``(batch, 1, 1, 1)``."""
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    mean = images.mean(dim=axes, keepdim=True)
    return torch.clamp((images - mean) * contrast_factor + mean, value_range[0], value_range[1])


@register_builtin("keras.layers")
class RandomContrast(BaseImagePreprocessingLayer):
    """Randomly adjusts the contrast of images during training.

    For each image and channel, the pixels ``x`` become ``(x - mean) * c + mean`` (``mean`` over
    the spatial axes), clipped to ``value_range``; ``c`` is drawn per image from
    ``[1 - factor[0], 1 + factor[1]]``. As in Keras 3, a single number ``f`` gives
    ``factor = (0, f)``, i.e. ``c`` in ``[1, 1 + f]``. With ``training=False`` the images pass
    through unchanged.

    Args:
        factor: A float in ``[0, 1]`` or a pair ``(lower, upper)`` (see above).
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomContrast(0.2, seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.value_range = validate_value_range(value_range)
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        factor = uniform(
            self._generator(images), (images.shape[0], 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1],
            images.device, images.dtype,
        )
        return adjust_contrast(images, factor, self.value_range, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
