"""``RandomZoom``: zoom images in or out by a random factor about their centre."""

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseRandomAffineLayer,
    symmetric_factor,
    uniform,
)
from lamina.saving.object_registration import register_builtin


def zoom_matrices(height_zoom, width_zoom, height, width):
    """Per-image matrices sampling ``zoom`` times farther from the centre (``> 1``: zoom out)."""
    zeros = torch.zeros_like(width_zoom)
    x_offset = (float(width) - 1.0) / 2.0 * (1.0 - width_zoom)
    y_offset = (float(height) - 1.0) / 2.0 * (1.0 - height_zoom)
    return torch.stack([width_zoom, zeros, x_offset, zeros, height_zoom, y_offset, zeros, zeros], dim=1)


@register_builtin("keras.layers")
class RandomZoom(BaseRandomAffineLayer):
    """Randomly zooms images during training.

    Each image is scaled about its centre: the output samples the input ``1 + u`` times
    farther from the centre, with ``u`` drawn uniformly from the factor range, so positive
    factors zoom out and negative factors zoom in. Uncovered pixels are filled per
    ``fill_mode``. With ``training=False`` the images pass through, cast to the compute dtype.

    Args:
        height_factor: A float in ``(-1, 1]`` (range ``[-f, f]``) or a pair ``(lower, upper)``;
            e.g. ``(-0.3, -0.2)`` zooms in by 20% to 30%.
        width_factor: Same for the width; ``None`` (default) zooms both axes by the height
            draw, keeping the aspect ratio.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
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

    >>> layer = lamina.layers.RandomZoom(0.2, seed=0)
    >>> layer(np.random.rand(2, 16, 16, 3), training=True).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_lower, self.height_upper = symmetric_factor(height_factor, "height_factor", low_inclusive=False)
        if width_factor is not None:
            self.width_lower, self.width_upper = symmetric_factor(width_factor, "width_factor", low_inclusive=False)
        self.height_factor = height_factor
        self.width_factor = width_factor

    def _matrices(self, batch, height, width, generator, device):
        height_zoom = uniform(generator, (batch,), 1.0 + self.height_lower, 1.0 + self.height_upper, device)
        if self.width_factor is None:
            width_zoom = height_zoom
        else:
            width_zoom = uniform(generator, (batch,), 1.0 + self.width_lower, 1.0 + self.width_upper, device)
        return zoom_matrices(height_zoom, width_zoom, height, width)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
