"""``Conv3D``: 3D convolution (e.g. spatial convolution over volumes)."""

from lamina.layers.convolutional.base_conv import BaseConv
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Conv3D(BaseConv):
    """3D convolution layer (e.g. spatial convolution over volumes or video).

    Convolves a kernel with the input over its three spatial axes, adds a bias when ``use_bias``
    is true and applies ``activation`` when it is set.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 3 ints, the window depth, height and width.
        strides: Int or tuple of 3 ints, the step of the window. ``strides > 1`` cannot be
            combined with ``dilation_rate > 1``.
        padding: ``"valid"`` (no padding) or ``"same"`` (the output has ``ceil(size / strides)``
            cells per axis). Case-insensitive.
        data_format: ``"channels_last"`` (``(batch, dim1, dim2, dim3, channels)``) or
            ``"channels_first"`` (``(batch, channels, dim1, dim2, dim3)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 3 ints, the dilation rate of the kernel.
        groups: Positive integer; channels are split into this many groups convolved separately.
            ``filters`` and the input channels must both be divisible by it.
        activation: Activation function or name; ``None`` means linear (``a(x) = x``).
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        5D tensor ``(batch, dim1, dim2, dim3, channels)`` (``channels_last``) or
        ``(batch, channels, dim1, dim2, dim3)``.

    Output shape:
        5D tensor ``(batch, new_dim1, new_dim2, new_dim3, filters)`` (``channels_last``) or
        ``(batch, filters, new_dim1, new_dim2, new_dim3)``.

    The kernel has shape ``(dim1, dim2, dim3, channels // groups, filters)``.

    Example:

    >>> x = np.random.rand(4, 10, 10, 10, 1).astype("float32")
    >>> y = lamina.layers.Conv3D(2, 3, activation="relu")(x)
    >>> tuple(y.shape)
    (4, 8, 8, 8, 2)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1, 1),
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            rank=3,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


Convolution3D = register_builtin("keras.layers", "Convolution3D")(Conv3D)
