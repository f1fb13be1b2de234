"""``AdaptiveAveragePooling2D``: average pooling of the height and width to a fixed output size."""

from lamina.layers.pooling.base_adaptive_pooling import BaseAdaptivePooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Adaptive average pooling for 2D spatial data.

    Pools the height and width of the input to exactly ``output_size`` cells, whatever the input
    size: along an axis of length ``n`` pooled to ``m`` cells, cell ``i`` is the average of input
    cells ``floor(i * n / m)`` up to ``ceil((i + 1) * n / m)`` (exclusive), channel by channel.
    Windows may differ in size by one cell and overlap; with ``m > n`` cells repeat.

    Args:
        output_size: Int or tuple of 2 ints ``(output_height, output_width)``; an int is used for
            both.
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        - ``"channels_last"``: ``(batch_size, height, width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, height, width)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, output_height, output_width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, output_height, output_width)``

    Example:

    >>> x = np.random.rand(2, 64, 48, 3).astype("float32")
    >>> lamina.layers.AdaptiveAveragePooling2D((8, 6))(x).shape
    torch.Size([2, 8, 6, 3])
    """

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(
            output_size, pool_dimensions=2, pool_mode="average", data_format=data_format, **kwargs
        )
