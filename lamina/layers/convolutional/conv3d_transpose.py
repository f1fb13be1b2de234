"""``Conv3DTranspose``: 3D transposed convolution."""

from lamina.layers.convolutional.base_conv_transpose import BaseConvTranspose
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution layer (sometimes called deconvolution).

    Goes the opposite way of ``Conv3D``: from something shaped like a convolution's output to
    the shape of its input, with the same connectivity.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 3 ints, the window depth, height and width.
        strides: Int or tuple of 3 ints, the upsampling step. ``strides > 1`` cannot be combined
            with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` (``(batch, depth, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, channels, depth, rows, cols)``); defaults to
            ``lamina.config.image_data_format()``.
        output_padding: ``None`` (inferred) or int / tuple of 3 ints, each smaller than the
            stride on its axis: extra cells added at the end of the output. (As in Keras 3 it
            comes after ``data_format``; the Keras 2 order, ``output_padding`` then
            ``data_format``, is recognised when both are passed by position.)
        dilation_rate: Int or tuple of 3 ints, the dilation rate of the kernel.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        5D tensor ``(batch, depth, rows, cols, channels)`` (``channels_last``) or
        ``(batch, channels, depth, rows, cols)``.

    Output shape:
        5D tensor ``(batch, new_depth, new_rows, new_cols, filters)`` (``channels_last``) or
        ``(batch, filters, new_depth, new_rows, new_cols)``. With ``output_padding`` given,
        ``new_depth = (depth - 1) * strides[0] + kernel_size[0] - 2 * padding[0] +
        output_padding[0]`` (``padding[0]`` is ``kernel_size[0] // 2`` for ``"same"``, ``0`` for
        ``"valid"``), and likewise for the other axes. Without it, ``depth * strides[0]``
        (``"same"``) or ``depth * strides[0] + max(kernel_size[0] - strides[0], 0)``
        (``"valid"``).

    The kernel has shape ``(depth, rows, cols, filters, channels)``.

    Example:

    >>> x = np.random.rand(4, 5, 6, 7, 8).astype("float32")
    >>> y = lamina.layers.Conv3DTranspose(2, 3, strides=2, padding="same")(x)
    >>> tuple(y.shape)
    (4, 10, 12, 14, 2)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        output_padding=None,
        dilation_rate=(1, 1, 1),
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
        if data_format is not None and not isinstance(data_format, str) and (
            output_padding is None or isinstance(output_padding, str)
        ):
            # Keras 2 took `output_padding` before `data_format`: a padding in the data_format
            # slot means the caller used that positional order.
            data_format, output_padding = output_padding, data_format
        super().__init__(
            rank=3,
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


Convolution3DTranspose = register_builtin("keras.layers", "Convolution3DTranspose")(
    Conv3DTranspose
)
