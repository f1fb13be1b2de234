"""``RandomSharpness``: blend each image with a smoothed copy by a random factor."""

import torch
import torch.nn.functional as F

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    per_image,
    sorted_value_range,
    uniform,
)
from lamina.saving.object_registration import register_builtin


def adjust_sharpness(images, sharpness, value_range, data_format):
    """``x + (1 - s) * (smooth(x) - x)`` clipped to ``value_range``, per image ``s``
    (``(batch,)``): 1 keeps the image, 0 smooths it, 2 sharpens it. ``smooth`` is the 3x3
    kernel ``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13`` per channel with zero padding."""
    x = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    channels = x.shape[1]
    kernel = torch.full((3, 3), 1.0 / 13.0, dtype=x.dtype, device=x.device)
    kernel[1, 1] = 5.0 / 13.0
    smooth = F.conv2d(x, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
    if data_format == "channels_last":
        smooth = smooth.permute(0, 2, 3, 1)
    blended = images + (1.0 - per_image(sharpness).to(images.dtype)) * (smooth - images)
    return torch.clamp(blended, value_range[0], value_range[1])


@register_builtin("keras.layers")
class RandomSharpness(BaseImagePreprocessingLayer):
    """Randomly changes the sharpness of images during training.

    A value ``u`` is drawn per image from ``factor`` and the image becomes
    ``x + (1 - 2u) * (smooth(x) - x)``, clipped to ``value_range``: ``u = 0`` gives the smoothed
    image, ``0.5`` the original and ``1`` a sharpened one. Images are cast to the compute dtype;
    with ``training=False`` they are returned otherwise unchanged.

    Args:
        factor: A float ``f`` in ``[0, 1]`` (range ``[0, f]``) or a pair ``(lower, upper)``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomSharpness((0.4, 0.9), seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor, bounds=(0, 1))
        self.value_range = sorted_value_range(value_range)
        self._init_seed(seed)

    def _transform(self, images, training):
        images = self._cast(images)
        if not training:
            return images
        draws = uniform(self._generator(images), (images.shape[0],), self.factor[0], self.factor[1], images.device)
        return adjust_sharpness(images, draws * 2, self.value_range, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
