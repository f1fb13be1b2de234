"""``DepthwiseConv2D``: 2D depthwise convolution."""

from lamina.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution layer.

    Each input channel is convolved with its own ``depth_multiplier`` filters; channels are never
    mixed. It is the first half of ``SeparableConv2D``.

    Args:
        kernel_size: Int or tuple of 2 ints, the window height and width.
        strides: Int or tuple of 2 ints, the step of the window.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        depth_multiplier: Positive integer, output channels per input channel.
        data_format: ``"channels_last"`` (``(batch, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, channels, rows, cols)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 2 ints, the dilation rate of the kernel.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        depthwise_initializer, bias_initializer: Initializers for the kernel and the bias.
        depthwise_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        depthwise_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        4D tensor ``(batch, rows, cols, channels)`` (``channels_last``) or
        ``(batch, channels, rows, cols)``.

    Output shape:
        4D tensor ``(batch, new_rows, new_cols, channels * depth_multiplier)``
        (``channels_last``) or ``(batch, channels * depth_multiplier, new_rows, new_cols)``.

    The weight ``kernel`` has shape ``(rows, cols, channels, depth_multiplier)``.

    Example:

    >>> x = np.random.rand(4, 10, 10, 12).astype("float32")
    >>> y = lamina.layers.DepthwiseConv2D(3, depth_multiplier=2)(x)
    >>> tuple(y.shape)
    (4, 8, 8, 24)
    """

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            rank=2,
            depth_multiplier=depth_multiplier,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
