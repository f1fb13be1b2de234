"""``MaxPooling3D`` (alias ``MaxPool3D``): maximum pooling over the three spatial axes."""

from lamina.layers.pooling.base_pooling import BasePooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class MaxPooling3D(BasePooling):
    """Max pooling for 3D spatial data.

    Slides a window of ``pool_size`` over the three spatial axes with step ``strides`` and keeps the
    maximum of each window, channel by channel.

    Args:
        pool_size: Int or tuple of 3 ints, the window size. Defaults to ``(2, 2, 2)``.
        strides: Int or tuple of 3 ints, or ``None`` (the default) to use ``pool_size``.
        padding: ``"valid"`` (no padding, windows must fit inside the input) or ``"same"``
            (pad evenly, the extra cell at the end, so that ``output = ceil(input / strides)``).
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        name: Name of the layer.

    Input shape:
        - ``"channels_last"``: ``(batch_size, dim1, dim2, dim3, channels)``
        - ``"channels_first"``: ``(batch_size, channels, dim1, dim2, dim3)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, pooled_dim1, pooled_dim2, pooled_dim3, channels)``
        - ``"channels_first"``: ``(batch_size, channels, pooled_dim1, pooled_dim2, pooled_dim3)``

    Example:

    >>> x = np.random.rand(2, 6, 6, 6, 3).astype("float32")
    >>> lamina.layers.MaxPooling3D(pool_size=3)(x).shape
    torch.Size([2, 2, 2, 2, 3])
    """

    def __init__(
        self,
        pool_size=(2, 2, 2),
        strides=None,
        padding="valid",
        data_format=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=3,
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


MaxPool3D = MaxPooling3D
register_builtin("keras.layers", "MaxPool3D")(MaxPooling3D)
