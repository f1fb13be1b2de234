"""``Conv2DTranspose``: 2D transposed convolution."""

from lamina.layers.convolutional.base_conv_transpose import BaseConvTranspose
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution layer (sometimes called deconvolution).

    Goes the opposite way of ``Conv2D``: from something shaped like a convolution's output to
    the shape of its input, with the same connectivity.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 2 ints, the window height and width.
        strides: Int or tuple of 2 ints, the upsampling step. ``strides > 1`` cannot be combined
            with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        output_padding: ``None`` (inferred) or int / tuple of 2 ints, each smaller than the
            stride on its axis: extra rows/columns added at the end of the output.
        data_format: ``"channels_last"`` (``(batch, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, channels, rows, cols)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 2 ints, the dilation rate of the kernel.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        4D tensor ``(batch, rows, cols, channels)`` (``channels_last``) or
        ``(batch, channels, rows, cols)``.

    Output shape:
        4D tensor ``(batch, new_rows, new_cols, filters)`` (``channels_last``) or
        ``(batch, filters, new_rows, new_cols)``. With ``output_padding`` given,
        ``new_rows = (rows - 1) * strides[0] + kernel_size[0] - 2 * padding[0] +
        output_padding[0]`` (``padding[0]`` is ``kernel_size[0] // 2`` for ``"same"``, ``0`` for
        ``"valid"``; dilated kernels count their dilated size), and likewise for ``new_cols``.
        Without it, ``rows * strides[0]`` (``"same"``) or
        ``rows * strides[0] + max(kernel_size[0] - strides[0], 0)`` (``"valid"``).

    The kernel has shape ``(rows, cols, filters, channels)``.

    Example:

    >>> x = np.random.rand(4, 10, 8, 128).astype("float32")
    >>> y = lamina.layers.Conv2DTranspose(32, 2, 2, activation="relu")(x)
    >>> tuple(y.shape)
    (4, 20, 16, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
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
            rank=2,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
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


Convolution2DTranspose = register_builtin("keras.layers", "Convolution2DTranspose")(
    Conv2DTranspose
)
