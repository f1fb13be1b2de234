"""``MaxPooling1D`` (alias ``MaxPool1D``): maximum pooling over steps."""

from lamina.layers.pooling.base_pooling import BasePooling
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class MaxPooling1D(BasePooling):
    """Max pooling for 1D spatial data.

    Slides a window of ``pool_size`` over steps with step ``strides`` and keeps the
    maximum of each window, channel by channel.

    Args:
        pool_size: Int or tuple of 1 int, the window size. Defaults to ``2``.
        strides: Int or tuple of 1 int, or ``None`` (the default) to use ``pool_size``.
        padding: ``"valid"`` (no padding, windows must fit inside the input) or ``"same"``
            (pad evenly, the extra cell at the end, so that ``output = ceil(input / strides)``).
        data_format: ``"channels_last"`` or ``"channels_first"``, the axis order of the inputs
            (see the shapes below). Defaults to ``image_data_format()``.
        name: Name of the layer.

    Input shape:
        - ``"channels_last"``: ``(batch_size, steps, features)``
        - ``"channels_first"``: ``(batch_size, features, steps)``

    Output shape:
        - ``"channels_last"``: ``(batch_size, pooled_steps, features)``
        - ``"channels_first"``: ``(batch_size, features, pooled_steps)``

    Example:

    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    >>> lamina.layers.MaxPooling1D(pool_size=2, strides=1)(x)[0, :, 0]
    tensor([2., 3., 4., 5.])
    """

    def __init__(
        self,
        pool_size=2,
        strides=None,
        padding="valid",
        data_format=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=1,
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


MaxPool1D = MaxPooling1D
register_builtin("keras.layers", "MaxPool1D")(MaxPooling1D)
