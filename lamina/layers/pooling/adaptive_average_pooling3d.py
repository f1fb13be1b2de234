"""``AdaptiveAveragePooling3D``: average pooling of the depth, height and width."""

from lamina.layers.pooling.base_adaptive_pooling import BaseAdaptivePooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Adaptive average pooling for 3D spatial data.

    Pools the depth, height and width of the input to exactly ``output_size`` cells, whatever the
    input size: along an axis of length ``n`` pooled to ``m`` cells, cell ``i`` is the average of
    input cells ``floor(i * n / m)`` up to ``ceil((i + 1) * n / m)`` (exclusive), channel by
    channel. Windows may differ in size by one cell and overlap; with ``m > n`` cells repeat.

    Args:
        output_size: Int or tuple of 3 ints ``(output_depth, output_height, output_width)``; an int
            is used for all three.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, depth, height, width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, depth, height, width)``

    Output shape:
        - ``"channels_last"``:
          ``(batch_size, output_depth, output_height, output_width, channels)``
        - ``"channels_first"``:
          ``(batch_size, channels, output_depth, output_height, output_width)``

    Example:

    >>> x = np.random.rand(2, 9, 16, 16, 3).astype("float32")
    >>> lamina.layers.AdaptiveAveragePooling3D((3, 4, 4))(x).shape
    torch.Size([2, 3, 4, 4, 3])
    """

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(
            output_size, pool_dimensions=3, pool_mode="average", data_format=data_format, **kwargs
        )
