"""``ConvLSTM2D``: 2D convolutional LSTM (sequences of images)."""

from lamina.layers.recurrent._arguments import arguments_for
from lamina.layers.recurrent.conv_lstm import ConvLSTM
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM.

    Like an ``LSTM``, but the input and recurrent transformations are 2D convolutions: the
    gates are ``conv(x_t, kernel) + conv(h_{t-1}, recurrent_kernel) + bias`` (order i, f, c, o).

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Int or tuple of 2 ints, the convolution window.
        strides: Int or tuple of 2 ints, the stride of the input convolution. ``strides > 1``
            cannot be combined with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive), for the input convolution.
        data_format: ``"channels_last"`` (``(batch, time, rows, cols, channels)``) or
            ``"channels_first"`` (``(batch, time, channels, rows, cols)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of 2 ints, the dilation of the input convolution.
        activation: Activation of the cell input and the output. Defaults to ``"tanh"``.
        recurrent_activation: Activation of the gates. Defaults to ``"sigmoid"`` (Keras 3;
            Keras 2 defaulted to ``"hard_sigmoid"``).
        use_bias: Whether the layer uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers of the kernel,
            the recurrent kernel and the bias.
        unit_forget_bias: If True, add 1 to the bias of the forget gate at initialization.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Float in [0, 1], fraction of the input units dropped in training.
        recurrent_dropout: Float in [0, 1], fraction of the recurrent units dropped in training.
        seed: Random seed for dropout.
        return_sequences: Whether to return the whole output sequence or only the last output.
        return_state: Whether to return the last states ``h`` and ``c`` after the output.
        go_backwards: If True, process the input sequence backwards.
        stateful: If True, the last states of a batch are the initial states of the next one.
        **kwargs: Base layer arguments, plus ``unroll`` and ``zero_output_for_mask``.

    Call arguments:
        inputs: 5D tensor.
        initial_state: List ``[h, c]`` of initial states.
        mask: Boolean tensor ``(batch, time)``; masked steps keep the previous states.
        training: Whether dropout is applied.

    Input shape:
        ``(batch, time, rows, cols, channels)`` (``channels_last``) or
        ``(batch, time, channels, rows, cols)``.

    Output shape:
        ``(batch, time, new_rows, new_cols, filters)`` with ``return_sequences``, else
        ``(batch, new_rows, new_cols, filters)`` (``channels_first``: filters before the spatial axes);
        with ``return_state``, a list ``[output, h, c]``, the states shaped like the last output.

    Example:

    >>> x = np.random.rand(2, 5, 8, 8, 3).astype("float32")
    >>> y = lamina.layers.ConvLSTM2D(4, 3, padding="same")(x)
    >>> tuple(y.shape)
    (2, 8, 8, 4)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        super().__init__(rank=2, **arguments_for(ConvLSTM.__init__, locals()), **kwargs)
