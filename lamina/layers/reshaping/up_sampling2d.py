"""``UpSampling2D``: enlarge images by integer factors, by repetition or interpolation."""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from lamina.layers.reshaping.base_spatial import BaseUpSampling, repeat_spatial
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_tuple

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def _keys_cubic(distance):
    # Keys' cubic convolution kernel with a = -0.5 (what Keras' "bicubic" resize uses).
    d = distance
    near = (1.5 * d - 2.5) * d * d + 1.0
    far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
    return np.where(d < 1.0, near, np.where(d < 2.0, far, 0.0))


def _lanczos(radius):
    def kernel(distance):
        d = np.where(distance > 1e-3, distance, 1.0)
        value = radius * np.sin(math.pi * d) * np.sin(math.pi * d / radius) / (math.pi * d) ** 2
        value = np.where(distance > 1e-3, value, 1.0)
        return np.where(distance > radius, 0.0, value)

    return kernel


_KERNELS = {"bicubic": _keys_cubic, "lanczos3": _lanczos(3), "lanczos5": _lanczos(5)}


@functools.lru_cache(maxsize=64)
def _interpolation_matrix(size, factor, interpolation):
    """The ``(size * factor, size)`` matrix mapping one input axis to the upsampled axis.

    Output cell ``i`` is centred on input coordinate ``(i + 0.5) / factor - 0.5`` (half-pixel
    centres); its weights are the kernel at the distance to each input cell, renormalised to sum
    to one so that cells near the border only use the input that exists.
    """
    centres = (np.arange(size * factor) + 0.5) / factor - 0.5
    weights = _KERNELS[interpolation](np.abs(centres[:, None] - np.arange(size)[None, :]))
    total = weights.sum(axis=1, keepdims=True)
    usable = np.abs(total) > 1000.0 * np.finfo(np.float32).eps
    return np.where(usable, weights / np.where(total != 0, total, 1.0), 0.0)


def _interpolate(x, factors, interpolation):
    """Upsample the two last axes of ``x`` (``(batch, channels, rows, cols)``) by ``factors``."""
    if interpolation == "bilinear":
        # torch's half-pixel bilinear with border clamping equals the renormalised triangle
        # kernel exactly when upsampling, and is a fused kernel.
        size = (x.shape[2] * factors[0], x.shape[3] * factors[1])
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    for axis, factor in zip((2, 3), factors):
        # A factor of 1 is the identity; skipping it also avoids the tiny off-centre weights
        # the Lanczos kernels give at integer distances.
        if factor == 1:
            continue
        matrix = _interpolation_matrix(x.shape[axis], factor, interpolation)
        matrix = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
        if axis == 2:
            x = torch.matmul(matrix, x)
        else:
            x = torch.matmul(x, matrix.T)
    return x


def _resize(inputs, factors, data_format, interpolation):
    """Upsample the spatial axes of a 4D tensor by integer ``factors`` (Keras semantics)."""
    if interpolation in ("nearest", "area"):
        # For integer factors, "area" averages over a single input cell: it is a repetition.
        axes = (1, 2) if data_format == "channels_last" else (2, 3)
        return repeat_spatial(inputs, axes, factors)
    x = inputs.permute(0, 3, 1, 2) if data_format == "channels_last" else inputs
    if x.dtype in (torch.float32, torch.float64):
        out = _interpolate(x, factors, interpolation)
    else:
        # Half precision and integer images are interpolated in float32; integers are then
        # rounded half to even.
        out = _interpolate(x.float(), factors, interpolation)
        out = (out if x.is_floating_point() else torch.round(out)).to(x.dtype)
    return out.permute(0, 2, 3, 1) if data_format == "channels_last" else out


@register_builtin("keras.layers")
class UpSampling2D(BaseUpSampling):
    """Upsampling layer for 2D inputs: enlarges rows by ``size[0]`` and columns by ``size[1]``.

    With ``interpolation="nearest"`` each row and column is repeated. The other modes resample
    with half-pixel centres (no antialiasing, which only matters when shrinking), renormalising
    the kernel weights at the borders, as ``keras.ops.image.resize`` does.

    Args:
        size: Int or tuple of 2 positive ints, the upsampling factors for rows and columns.
            Defaults to ``(2, 2)``.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        interpolation: One of ``"nearest"`` (default), ``"bilinear"``, ``"bicubic"`` (Keys cubic
            kernel, ``a = -0.5``), ``"lanczos3"``, ``"lanczos5"``, or ``"area"`` (the same as
            ``"nearest"`` for integer factors). Case-insensitive.

    Input shape:
        - ``"channels_last"``: ``(batch_size, rows, cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, rows, cols)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, upsampled_rows, upsampled_cols, channels)``
        - ``"channels_first"``: ``(batch_size, channels, upsampled_rows, upsampled_cols)``

    Example:

    >>> input_shape = (2, 2, 1, 3)
    >>> x = np.arange(np.prod(input_shape)).reshape(input_shape)
    >>> lamina.layers.UpSampling2D(size=(1, 2))(x)[0]
    tensor([[[0, 1, 2],
             [0, 1, 2]],
    <BLANKLINE>
            [[3, 4, 5],
             [3, 4, 5]]])
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        size = standardize_tuple(size, 2, "size")
        if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
            raise ValueError(
                f"The `interpolation` argument must be one of {list(_INTERPOLATIONS)}. "
                f"Received: interpolation={interpolation!r}"
            )
        super().__init__(2, size, data_format=data_format, **kwargs)
        self.size = size
        self.interpolation = interpolation.lower()

    def call(self, inputs):
        return _resize(inputs, self.size, self.data_format, self.interpolation)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "data_format": self.data_format,
                "interpolation": self.interpolation,
            }
        )
        return config
