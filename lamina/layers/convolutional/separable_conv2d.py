"""``SeparableConv2D``: 2D depthwise-separable convolution."""

from lamina.layers.convolutional.base_separable_conv import BaseSeparableConv
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class SeparableConv2D(BaseSeparableConv):
    """2D depthwise-separable convolution layer.

    First a depthwise convolution acts on each input channel separately (producing
    ``depth_multiplier`` channels per input channel), then a pointwise (1x1) convolution mixes
    the resulting channels into ``filters`` outputs. It factors a regular convolution kernel into
    two much smaller ones.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 2 ints, the depthwise window height and width.
        strides: Int or tuple of 2 ints, the step of the depthwise window.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` (``(batch, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, channels, rows, cols)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 2 ints, the dilation rate of the depthwise kernel.
        depth_multiplier: Positive integer, depthwise output channels per input channel; the
            pointwise step sees ``channels * depth_multiplier`` channels.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector after the pointwise step.
        depthwise_initializer, pointwise_initializer, bias_initializer: Initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: Regularizers.
        activity_regularizer: Regularizer for the output.
        depthwise_constraint, pointwise_constraint, bias_constraint: Constraints applied after
            optimizer updates.

    Input shape:
        4D tensor ``(batch, rows, cols, channels)`` (``channels_last``) or
        ``(batch, channels, rows, cols)``.

    Output shape:
        4D tensor ``(batch, new_rows, new_cols, filters)`` (``channels_last``) or
        ``(batch, filters, new_rows, new_cols)``.

    Weights, in order: ``depthwise_kernel`` ``(rows, cols, channels, depth_multiplier)``,
    ``pointwise_kernel`` ``(1, 1, channels * depth_multiplier, filters)``, ``bias`` ``(filters,)``.

    Example:

    >>> x = np.random.rand(4, 10, 10, 12).astype("float32")
    >>> y = lamina.layers.SeparableConv2D(4, 3, depth_multiplier=2)(x)
    >>> tuple(y.shape)
    (4, 8, 8, 4)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            rank=2,
            depth_multiplier=depth_multiplier,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


SeparableConvolution2D = register_builtin("keras.layers", "SeparableConvolution2D")(
    SeparableConv2D
)
