"""``RandomHue``: rotate the hue of each image by a random amount."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    transform_value_range,
    uniform,
)
from lamina.ops.image import hsv_to_rgb, rgb_to_hsv
from lamina.saving.object_registration import register_builtin


def shift_hue(images, delta, value_range, data_format):
    """Add ``delta`` (fractions of a turn, ``(batch,)``) to the hue of RGB images in
    ``value_range``, wrapping once around the colour wheel."""
    axis = -1 if data_format == "channels_last" else 1
    unit = transform_value_range(images, value_range, (0, 1))
    hue, saturation, value = rgb_to_hsv(unit, data_format=data_format).unbind(dim=axis)
    hue = hue + delta.reshape(-1, 1, 1).to(hue.dtype)
    hue = torch.where(hue > 1.0, hue - 1.0, hue)
    hue = torch.where(hue < 0.0, hue + 1.0, hue)
    rgb = hsv_to_rgb(torch.stack([hue, saturation, value], dim=axis), data_format=data_format)
    return transform_value_range(torch.clamp(rgb, 0, 1), (0, 1), value_range)


@register_builtin("keras.layers")
class RandomHue(BaseImagePreprocessingLayer):
    """Randomly shifts the hue of images during training.

    Each image's hue moves by ``+/- f / 2`` of a turn of the colour wheel, with ``f`` drawn
    uniformly from ``factor`` and the sign at random; ``factor=1`` covers the whole wheel. With
    ``training=False`` the images pass through.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (range ``[0, f]``) or a pair ``(lower, upper)``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomHue(0.2, value_range=(0, 1), seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3), training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.value_range = value_range
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        generator, batch = self._generator(images), images.shape[0]
        sign = torch.where(torch.rand(batch, generator=generator, device=images.device) > 0.5, -1.0, 1.0)
        amount = uniform(generator, (batch,), self.factor[0], self.factor[1], images.device)
        return shift_hue(images, sign * amount * 0.5, self.value_range, self.data_format).to(images.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
