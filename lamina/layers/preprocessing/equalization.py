"""``Equalization``: histogram equalization of each channel."""

import numbers

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    sorted_value_range,
)
from lamina.saving.object_registration import register_builtin


def _rescale(values, source, target):
    # Keras's scale-and-offset form (not transform_value_range's), for the same bin boundaries.
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return values * scale + (target[0] - source[0] * scale)


def equalize(images, value_range, bins, data_format):
    """Histogram-equalize each channel, one histogram per channel over the whole batch (as Keras).

    Values are mapped to ``0..255`` and binned into ``bins`` equal bins (truncating); each bin's
    new value is its rounded cumulative share ``255 * (cdf - cdf_min) / (cdf[-1] - cdf_min)``.
    Channels whose values all fall in one bin are left as they are.
    """
    x = images if data_format == "channels_last" else images.movedim(1, -1)
    channels = x.shape[-1]
    x = _rescale(x, value_range, (0, 255))
    flat = x.reshape(-1, channels).T
    index = torch.clamp((flat.float() * (bins - 1) / 255.0).to(torch.int32), 0, bins - 1).long()
    hist = torch.zeros(channels, bins, dtype=torch.int64, device=x.device)
    hist.scatter_add_(1, index, torch.ones_like(index))
    cdf = torch.cumsum(hist, dim=1)
    first = torch.argmax((cdf > 0).to(torch.int32), dim=1, keepdim=True)
    cdf_min = torch.gather(cdf, 1, first)
    denominator = cdf[:, -1:] - cdf_min
    denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    lookup = ((cdf - cdf_min) * 255).to(torch.float32) / denominator.to(torch.float32)
    lookup = torch.clamp(torch.round(lookup), 0, 255).to(flat.dtype)
    lookup_index = torch.clamp(flat / 255.0 * (bins - 1), 0, bins - 1).to(torch.int32).long()
    equalized = torch.gather(lookup, 1, lookup_index)
    single_bin = (hist > 0).sum(dim=1, keepdim=True) <= 1
    equalized = torch.where(single_bin, flat, equalized)
    out = _rescale(equalized.T.reshape(x.shape), (0, 255), value_range)
    return out if data_format == "channels_last" else out.movedim(-1, 1)


@register_builtin("keras.layers")
class Equalization(BaseImagePreprocessingLayer):
    """Performs histogram equalization on a channel-wise basis during training.

    Each channel's values are remapped so that their histogram (``bins`` equal bins over the
    value range, counted over the whole batch as Keras does) becomes as flat as possible. The
    output has the compute dtype; with ``training=False`` the images pass through.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        bins: Number of histogram bins. Defaults to 256.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.Equalization()
    >>> layer(np.random.rand(2, 8, 8, 3) * 255, training=True).shape
    torch.Size([2, 8, 8, 3])
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
            raise ValueError(f"Argument `bins` must be a positive integer. Received: bins={bins!r}")
        self.bins = bins
        self.value_range = sorted_value_range(value_range)

    def _transform(self, images, training):
        if not training:
            return images
        return equalize(self._cast(images), self.value_range, self.bins, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"bins": self.bins, "value_range": self.value_range})
        return config
