"""``Conv1D``: 1D convolution (e.g. temporal convolution)."""

from lamina.layers.convolutional.base_conv import BaseConv
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Conv1D(BaseConv):
    """1D convolution layer (e.g. temporal convolution).

    Convolves a kernel with the input over one spatial (or temporal) axis, adds a bias when
    ``use_bias`` is true and applies ``activation`` when it is set.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 1 int, the window length.
        strides: Int or tuple of 1 int, the step of the window. ``strides > 1`` cannot be combined
            with ``dilation_rate > 1``.
        padding: ``"valid"`` (no padding), ``"same"`` (the output has ``ceil(steps / strides)``
            steps) or ``"causal"`` (pad the start by ``dilation_rate * (kernel_size - 1)`` so that
            ``output[t]`` never depends on ``input[t + 1:]``, as in WaveNet). Case-insensitive.
        data_format: ``"channels_last"`` (``(batch, steps, channels)``, the default through
            ``image_data_format()``) or ``"channels_first"`` (``(batch, channels, steps)``).
        dilation_rate: Int or tuple of 1 int, the dilation rate of the kernel.
        groups: Positive integer; channels are split into this many groups convolved separately.
            ``filters`` and the input channels must both be divisible by it.
        activation: Activation function or name; ``None`` means linear (``a(x) = x``).
        use_bias: Whether to add a bias vector.
        kernel_initializer, bias_initializer: Initializers for the kernel and the bias.
        kernel_regularizer, bias_regularizer: Regularizers for the kernel and the bias.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.

    Input shape:
        3D tensor ``(batch, steps, channels)`` (``channels_last``) or ``(batch, channels, steps)``.

    Output shape:
        3D tensor ``(batch, new_steps, filters)`` (``channels_last``) or
        ``(batch, filters, new_steps)``; ``new_steps`` depends on padding, strides and dilation.

    The kernel has shape ``(kernel_size, channels // groups, filters)``.

    Example:

    >>> x = np.random.rand(4, 10, 128).astype("float32")
    >>> y = lamina.layers.Conv1D(32, 3, activation="relu")(x)
    >>> tuple(y.shape)
    (4, 8, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
            rank=1,
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


Convolution1D = register_builtin("keras.layers", "Convolution1D")(Conv1D)
