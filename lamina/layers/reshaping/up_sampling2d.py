"""``UpSampling2D``: enlarge images by integer factors, by repetition or interpolation."""

import torch

from lamina.layers.reshaping.base_spatial import BaseUpSampling, repeat_spatial
from lamina.ops.image import resize_nchw
from lamina.saving.object_registration import register_builtin
from lamina.utils.argument_validation import standardize_tuple

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def _resize(inputs, factors, data_format, interpolation):
    """Upsample the spatial axes of a 4D tensor by integer ``factors`` (Keras semantics)."""
    if interpolation in ("nearest", "area"):
        # For integer factors, "area" averages over a single input cell: it is a repetition.
        axes = (1, 2) if data_format == "channels_last" else (2, 3)
        return repeat_spatial(inputs, axes, factors)
    x = inputs.permute(0, 3, 1, 2) if data_format == "channels_last" else inputs
    size = (x.shape[2] * factors[0], x.shape[3] * factors[1])
    if x.dtype in (torch.float32, torch.float64):
        out = resize_nchw(x, size, interpolation)
    else:
        # Half precision and integer images are interpolated in float32; integers are then
        # rounded half to even.
        out = resize_nchw(x.float(), size, interpolation)
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
