"""``RandomSaturation``: scale the saturation of each image by a random factor."""

import torch

from lamina.backend.config import epsilon
from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    bounded_factor,
    sorted_value_range,
    uniform,
)
from lamina.ops.image import hsv_to_rgb, rgb_to_hsv
from lamina.saving.object_registration import register_builtin


def scale_saturation(images, scale, value_range, data_format):
    """Multiply the HSV saturation of RGB ``images`` by ``scale`` (``(batch,)``), clipped to
    ``value_range`` as Keras does."""
    axis = -1 if data_format == "channels_last" else 1
    hue, saturation, value = rgb_to_hsv(images, data_format=data_format).unbind(dim=axis)
    saturation = torch.clamp(saturation * scale.reshape(-1, 1, 1).to(saturation.dtype), value_range[0], value_range[1])
    return hsv_to_rgb(torch.stack([hue, saturation, value], dim=axis), data_format=data_format)


@register_builtin("keras.layers")
class RandomSaturation(BaseImagePreprocessingLayer):
    """Randomly adjusts the saturation of images during training.

    A value ``u`` is drawn per image from ``factor`` and the HSV saturation is multiplied by
    ``u / (1 - u)``: ``u = 0.5`` keeps the image, ``0`` makes it gray, values near 1 saturate
    it fully. With ``training=False`` the images pass through.

    Args:
        factor: A float ``f`` in ``[-1, 1]`` (range ``[-|f|, |f|]``, as Keras 3) or a pair
            ``(lower, upper)``.
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: Integer seed of the layer's random stream.

    Input shape:
        3D (unbatched) or 4D (batched) RGB images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomSaturation((0.3, 0.7), seed=0)
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = bounded_factor(factor)
        self.value_range = sorted_value_range(value_range)
        self._init_seed(seed)

    def _transform(self, images, training):
        if not training:
            return images
        images = self._cast(images)
        draws = uniform(self._generator(images), (images.shape[0],), self.factor[0], self.factor[1], images.device)
        scale = draws / (1 - draws + epsilon())
        return scale_saturation(images, scale, self.value_range, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range, "seed": self.seed})
        return config
