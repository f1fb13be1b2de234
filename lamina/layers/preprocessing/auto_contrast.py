"""``AutoContrast``: stretch each image's values to the full value range."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    sorted_value_range,
    transform_value_range,
)
from lamina.saving.object_registration import register_builtin


def auto_contrast(images, value_range):
    """Map each image's per-channel minimum to ``value_range[0]`` and maximum to
    ``value_range[1]`` linearly; channels that are constant keep their values.

    The extremes are taken over axes 1 and 2 of the batch, as Keras does (the spatial axes for
    ``channels_last``)."""
    x = transform_value_range(images, value_range, (0, 255))
    low = x.amin(dim=(1, 2), keepdim=True)
    high = x.amax(dim=(1, 2), keepdim=True)
    scale = 255.0 / (high - low)
    stretched = torch.clamp(x * scale + (-low * scale), 0.0, 255.0)
    out = transform_value_range(stretched, (0, 255), value_range)
    return torch.where(torch.isnan(out), images, out)


@register_builtin("keras.layers")
class AutoContrast(BaseImagePreprocessingLayer):
    """Performs auto-contrast on images.

    Each channel of each image is stretched linearly so that its darkest value becomes
    ``value_range[0]`` and its brightest ``value_range[1]``. The layer is deterministic and
    applies in training and inference alike; the output has the compute dtype.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)``.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.AutoContrast()
    >>> layer(np.array([[[[50.0], [100.0]]]])).flatten().tolist()
    [0.0, 255.0]
    """

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = sorted_value_range(value_range)

    def _transform(self, images, training):
        return auto_contrast(self._cast(images), self.value_range)

    def get_config(self):
        config = super().get_config()
        config["value_range"] = self.value_range
        return config
