"""``LocallyConnected1D``: 1D convolution with a separate kernel at every output step (Keras 2)."""

from lamina.layers.locally_connected.base_locally_connected import BaseLocallyConnected
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class LocallyConnected1D(BaseLocallyConnected):
    """Locally-connected layer for 1D inputs.

    Works like ``Conv1D`` except that the weights are unshared: a different set of filters is
    applied at each output step. Keras 3 removed this layer; Lamina follows Keras 2.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Int or tuple of 1 int, the window length.
        strides: Int or tuple of 1 int, the window step. Defaults to ``1``.
        padding: ``"valid"`` (default), or ``"same"`` with ``implementation`` 2 or 3 only (as in
            Keras 2: output ``i`` then reads steps ``i * strides - kernel_size // 2`` onwards,
            missing steps counting as zeros). Case-insensitive.
        data_format: ``"channels_last"`` (inputs ``(batch, steps, channels)``) or
            ``"channels_first"`` (inputs ``(batch, channels, steps)``). Defaults to
            ``image_data_format()``.
        activation: Activation function or name; ``None`` (default) means linear.
        use_bias: Whether to add a bias (one per output step and filter). Defaults to ``True``.
        kernel_initializer: Initializer for the kernel. Defaults to ``"glorot_uniform"``.
        bias_initializer: Initializer for the bias. Defaults to ``"zeros"``.
        kernel_regularizer, bias_regularizer: Regularizers for the weights.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        implementation: How the kernel is stored, as in Keras 2 (all give the same outputs):

            - ``1`` (default): ``(output_length, kernel_size * input_dim, filters)``, the rows
              of each patch ordered ``(step, channel)`` (``channels_last``) or
              ``(channel, step)`` (``channels_first``);
            - ``2``: the dense ``(input_length, input_dim, output_length, filters)`` matrix
              (``(input_dim, input_length, filters, output_length)`` for ``channels_first``),
              whose unconnected entries are ignored;
            - ``3``: the vector of connected entries of the
              ``(output_length * filters, input_length * input_dim)`` matrix, sorted by
              (output index, input index).

    Weights:
        ``kernel`` (see ``implementation``) and ``bias`` of shape ``(output_length, filters)``.
        With ``channels_first`` the bias is added as Keras 2 does: its buffer is read as
        ``(filters, output_length)`` (a reshape, not a transpose).

    Input shape:
        3D tensor ``(batch_size, steps, input_dim)`` (``channels_last``) or
        ``(batch_size, input_dim, steps)`` (``channels_first``); ``steps`` must be known.

    Output shape:
        3D tensor ``(batch_size, new_steps, filters)`` (``channels_last``) or
        ``(batch_size, filters, new_steps)`` (``channels_first``).

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.LocallyConnected1D(64, 3, input_shape=(10, 32)))
    >>> model.output_shape
    (None, 8, 64)
    >>> model.add(lamina.layers.LocallyConnected1D(32, 3))
    >>> model.output_shape
    (None, 6, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
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
            1,
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
