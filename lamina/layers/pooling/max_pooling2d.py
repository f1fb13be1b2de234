"""``MaxPooling2D`` (alias ``MaxPool2D``): maximum pooling over height and width."""

from lamina.layers.pooling.base_pooling import BasePooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class MaxPooling2D(BasePooling):
    """Max pooling for 2D spatial data.

    Slides a window of ``pool_size`` over height and width with step ``strides`` and keeps the
    maximum of each window, channel by channel.

    Args:
        pool_size: Int or tuple of 2 ints, the window size. Defaults to ``(2, 2)``.
        strides: Int or tuple of 2 ints, or ``None`` (the default) to use ``pool_size``.
        padding: ``"valid"`` (no padding, windows must fit inside the input) or ``"same"``
            (pad evenly, the extra cell at the end, so that ``output = ceil(input / strides)``).
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        name: Name of the layer.

    Input shape:
        - ``"channels_last"``: ``(batch_size, height, width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, height, width)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, pooled_height, pooled_width, channels)``
        - ``"channels_first"``: ``(batch_size, channels, pooled_height, pooled_width)``

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> lamina.layers.MaxPooling2D()(x)[0, :, :, 0]
    tensor([[ 5.,  7.],
            [13., 15.]])
    """

    def __init__(
        self,
        pool_size=(2, 2),
        strides=None,
        padding="valid",
        data_format=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=2,
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


MaxPool2D = MaxPooling2D
register_builtin("keras.layers", "MaxPool2D")(MaxPooling2D)
