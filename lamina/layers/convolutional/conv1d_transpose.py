"""``Conv1DTranspose``: 1D transposed convolution."""

from lamina.layers.convolutional.base_conv_transpose import BaseConvTranspose
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution layer (sometimes called deconvolution).

    Goes the opposite way of ``Conv1D``: from something shaped like a convolution's output to
    the shape of its input, with the same connectivity.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 1 int, the window length.
        strides: Int or tuple of 1 int, the upsampling step. ``strides > 1`` cannot be combined
            with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        output_padding: ``None`` (inferred) or int / tuple of 1 int smaller than ``strides``,
            extra steps added at the end of the output.
        data_format: ``"channels_last"`` (``(batch, steps, channels)``) or ``"channels_first"``
            (``(batch, channels, steps)``); defaults to ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 1 int, the dilation rate of the kernel.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        3D tensor ``(batch, steps, channels)`` (``channels_last``) or ``(batch, channels, steps)``.

    Output shape:
        3D tensor ``(batch, new_steps, filters)`` (``channels_last``) or
        ``(batch, filters, new_steps)``, where, with ``k = (kernel_size - 1) * dilation_rate + 1``,
        ``new_steps = (steps - 1) * strides + k - 2 * pad + output_padding`` (``pad = k // 2``
        for ``"same"``, ``0`` for ``"valid"``) when ``output_padding`` is given, and
        ``steps * strides`` (``"same"``) or ``steps * strides + max(k - strides, 0)``
        (``"valid"``) when it is ``None``.

    The kernel has shape ``(kernel_size, filters, channels)``.

    Example:

    >>> x = np.random.rand(4, 10, 8).astype("float32")
    >>> y = lamina.layers.Conv1DTranspose(32, 3, strides=2, padding="same")(x)
    >>> tuple(y.shape)
    (4, 20, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
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
            rank=1,
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


Convolution1DTranspose = register_builtin("keras.layers", "Convolution1DTranspose")(
    Conv1DTranspose
)
