"""``ContrastLimitedAdaptiveHistogramEqualization`` (CLAHE): equalize images tile by tile."""

import numbers

import torch

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    sorted_value_range,
    transform_value_range,
)
from lamina.ops._image_math import fix_index
from lamina.saving.object_registration import register_builtin


def _tile_mappings(tiles, clip_limit, tile_pixels):
    """Per tile and channel, the 256-entry map of each grey level to its equalized value.

    ``tiles`` holds integer levels ``(batch, grid_h, grid_w, channels, tile_pixels)``. Bins above
    ``clip_limit * tile_pixels / 256`` are clipped and the excess spread evenly over all bins.
    """
    hists = torch.zeros(*tiles.shape[:-1], 256, dtype=torch.float32, device=tiles.device)
    hists.scatter_add_(-1, tiles, torch.ones_like(tiles, dtype=torch.float32))
    if clip_limit > 0:
        clipped = torch.clamp(hists, max=clip_limit * tile_pixels / 256.0)
        hists = clipped + (hists - clipped).sum(-1, keepdim=True) / 256.0
    cdf = torch.cumsum(hists, dim=-1)
    cdf_min = cdf.min(dim=-1, keepdim=True).values
    denominator = tile_pixels - cdf_min
    denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.clamp((cdf - cdf_min) * 255.0 / denominator, 0, 255)


def clahe(images, clip_limit, grid):
    """CLAHE of channels_last float images in ``[0, 255]`` (each channel on its own).

    The image is padded symmetrically to a whole number of tiles; each pixel's value is the
    bilinear blend of the mappings of the four tiles whose centres surround it (edge tiles'
    mappings extend past the border).
    """
    batch, height, width, channels = images.shape
    grid_h, grid_w = grid
    tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
    padded_h, padded_w = tile_h * grid_h, tile_w * grid_w
    device = images.device
    rows = fix_index(torch.arange(padded_h, device=device), height, "reflect")
    cols = fix_index(torch.arange(padded_w, device=device), width, "reflect")
    padded = images[:, rows][:, :, cols]
    levels = padded.to(torch.int32).clamp(0, 255).long()
    tiles = levels.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels).permute(0, 1, 3, 5, 2, 4)
    maps = _tile_mappings(tiles.reshape(batch, grid_h, grid_w, channels, -1), clip_limit, tile_h * tile_w)
    # Repeat the edge tiles' maps so every pixel has four neighbouring tile centres.
    maps = torch.cat([maps[:, :1], maps, maps[:, -1:]], dim=1)
    maps = torch.cat([maps[:, :, :1], maps, maps[:, :, -1:]], dim=2)

    def grid_position(size, tile, count):
        position = (torch.arange(size, dtype=torch.float32, device=device) - tile / 2.0) / tile + 1.0
        lower = torch.floor(position)
        weight = position - lower
        return lower.clamp(0, count + 1).long(), (lower + 1).clamp(0, count + 1).long(), weight

    y0, y1, wy = grid_position(padded_h, tile_h, grid_h)
    x0, x1, wx = grid_position(padded_w, tile_w, grid_w)
    b = torch.arange(batch, device=device)[:, None, None, None]
    c = torch.arange(channels, device=device)[None, None, None, :]
    y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
    x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
    top = maps[b, y0, x0, c, levels] * (1.0 - wx) + maps[b, y0, x1, c, levels] * wx
    bottom = maps[b, y1, x0, c, levels] * (1.0 - wx) + maps[b, y1, x1, c, levels] * wx
    result = top * (1.0 - wy) + bottom * wy
    return result[:, :height, :width, :]


@register_builtin("keras.layers")
class ContrastLimitedAdaptiveHistogramEqualization(BaseImagePreprocessingLayer):
    """Contrast Limited Adaptive Histogram Equalization (CLAHE).

    The image is split into a ``tile_grid_size`` grid of tiles; each tile's histogram (256
    levels over ``value_range``, per channel) is clipped at ``clip_limit`` times its mean bin
    height and equalized, and pixels blend the mappings of the nearest four tiles bilinearly.
    Deterministic, so applied in training and inference alike; images are cast to the compute
    dtype.

    Args:
        value_range: The ``(min, max)`` range of the pixel values. Defaults to ``(0, 255)``.
        clip_limit: Float, the contrast limit; ``0`` or less turns clipping off. Defaults to 4.
        tile_grid_size: Pair of integers, the number of tile rows and columns. Defaults to
            ``(8, 8)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched) images.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(4, 4))
    >>> layer(np.random.rand(2, 32, 32, 3) * 255).shape
    torch.Size([2, 32, 32, 3])
    """

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self._range = sorted_value_range(value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, numbers.Real):
            raise ValueError(f"Argument `clip_limit` must be a number. Received: clip_limit={clip_limit!r}")
        self.clip_limit = clip_limit
        if (
            not isinstance(tile_grid_size, (tuple, list))
            or len(tile_grid_size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in tile_grid_size)
        ):
            raise ValueError(
                "Argument `tile_grid_size` must be a pair of positive integers. "
                f"Received: tile_grid_size={tile_grid_size!r}"
            )
        self.tile_grid_size = tile_grid_size

    def _transform(self, images, training):
        images = self._cast(images)
        x = images.permute(0, 2, 3, 1) if self.data_format == "channels_first" else images
        x = transform_value_range(x.float(), self._range, (0, 255))
        x = clahe(x, float(self.clip_limit), tuple(int(v) for v in self.tile_grid_size))
        x = transform_value_range(x, (0, 255), self._range).to(images.dtype)
        return x.permute(0, 3, 1, 2) if self.data_format == "channels_first" else x

    def get_config(self):
        config = super().get_config()
        config.update(
            {"value_range": self.value_range, "clip_limit": self.clip_limit, "tile_grid_size": self.tile_grid_size}
        )
        return config
