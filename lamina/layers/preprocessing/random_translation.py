"""``RandomTranslation``: shift images by a random fraction of their size."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseRandomAffineLayer,
    symmetric_factor,
    uniform,
)
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class RandomTranslation(BaseRandomAffineLayer):
    """Randomly translates images during training.

    Each image is shifted by ``dy = u * height`` rows and ``dx = v * width`` columns, with ``u``
    and ``v`` drawn uniformly from the height and width factor ranges (positive values move the
    content down / right). Uncovered pixels are filled per ``fill_mode``. With
    ``training=False`` the images pass through, cast to the compute dtype.

    Args:
        height_factor: A float in ``[-1, 1]`` (range ``[-f, f]``) or a pair ``(lower, upper)``,
            fractions of the height.
        width_factor: Same, fractions of the width.
        fill_mode: ``"reflect"`` (default, ``d c b a | a b c d | d c b a``), ``"wrap"``
            (``a b c d | a b c d | a b c d``), ``"constant"`` (``fill_value``) or ``"nearest"``
            (``a a a a | a b c d | d d d d``).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: Integer seed of the layer's random stream.
        fill_value: Float, the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images, ``(..., height, width, channels)`` in
        ``"channels_last"`` format.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3), training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_lower, self.height_upper = symmetric_factor(height_factor, "height_factor")
        self.width_lower, self.width_upper = symmetric_factor(width_factor, "width_factor")
        self.height_factor = height_factor
        self.width_factor = width_factor

    def _matrices(self, batch, height, width, generator, device):
        dy = uniform(generator, (batch,), self.height_lower, self.height_upper, device) * height
        dx = uniform(generator, (batch,), self.width_lower, self.width_upper, device) * width
        # An output pixel samples the input at (x - dx, y - dy).
        ones, zeros = torch.ones_like(dx), torch.zeros_like(dx)
        return torch.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], dim=1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
