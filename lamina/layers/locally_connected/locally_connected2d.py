"""``LocallyConnected2D``: 2D convolution with a separate kernel at every output pixel (Keras 2)."""

from lamina.layers.locally_connected.base_locally_connected import BaseLocallyConnected
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class LocallyConnected2D(BaseLocallyConnected):
    """Locally-connected layer for 2D inputs.

    Works like ``Conv2D`` except that the weights are unshared: a different set of filters is
    applied at each output position. Keras 3 removed this layer; Lamina follows Keras 2.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int or tuple of 2 ints, the window height and width.
        strides: Int or tuple of 2 ints, the window steps. Defaults to ``(1, 1)``.
        padding: ``"valid"`` (default), or ``"same"`` with ``implementation`` 2 or 3 only (as in
            Keras 2: output ``(i, j)`` then reads from ``(i * strides[0] - kernel_size[0] // 2,
            j * strides[1] - kernel_size[1] // 2)`` onwards, missing cells counting as zeros).
            Case-insensitive.
        data_format: ``"channels_last"`` (inputs ``(batch, rows, cols, channels)``) or
            ``"channels_first"`` (inputs ``(batch, channels, rows, cols)``). Defaults to
            ``image_data_format()``.
        activation: Activation function or name; ``None`` (default) means linear.
        use_bias: Whether to add a bias (one per output position and filter). Defaults to
            ``True``.
        kernel_initializer: Initializer for the kernel. Defaults to ``"glorot_uniform"``.
        bias_initializer: Initializer for the bias. Defaults to ``"zeros"``.
        kernel_regularizer, bias_regularizer: Regularizers for the weights.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        implementation: How the kernel is stored, as in Keras 2 (all give the same outputs):

            - ``1`` (default): ``(output_row * output_col, kh * kw * input_filter, filters)``,
              positions in row-major order, the rows of each patch ordered
              ``(row, col, channel)`` (``channels_last``) or ``(channel, row, col)``
              (``channels_first``);
            - ``2``: the dense
              ``(input_row, input_col, input_filter, output_row, output_col, filters)`` matrix
              (``(input_filter, input_row, input_col, filters, output_row, output_col)`` for
              ``channels_first``), whose unconnected entries are ignored;
            - ``3``: the vector of connected entries of the
              ``(output_row * output_col * filters, input_row * input_col * input_filter)``
              matrix, sorted by (output index, input index).

    Weights:
        ``kernel`` (see ``implementation``) and ``bias`` of shape
        ``(output_row, output_col, filters)``. With ``channels_first`` the bias is added as
        Keras 2 does: its buffer is read as ``(filters, output_row, output_col)`` (a reshape,
        not a transpose).

    Input shape:
        4D tensor ``(batch_size, rows, cols, channels)`` (``channels_last``) or
        ``(batch_size, channels, rows, cols)`` (``channels_first``); ``rows`` and ``cols`` must
        be known.

    Output shape:
        4D tensor ``(batch_size, new_rows, new_cols, filters)`` (``channels_last``) or
        ``(batch_size, filters, new_rows, new_cols)`` (``channels_first``).

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.LocallyConnected2D(64, (3, 3), input_shape=(32, 32, 3)))
    >>> model.output_shape
    (None, 30, 30, 64)
    >>> model.count_params()  # (30 * 30) * (3 * 3 * 3 * 64) + (30 * 30) * 64
    1612800
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        implementation=1,
        **kwargs,
    ):
        super().__init__(
            2,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            implementation=implementation,
            **kwargs,
        )
