"""``SimpleRNNCell`` and ``SimpleRNN``: ``h_t = activation(x_t W + h_{t-1} U + b)``."""

from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent._arguments import arguments_for
from lamina.layers.recurrent._cell_base import CellRNN, RecurrentCell, cell_kwargs
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


@register_builtin("keras.layers")
class SimpleRNNCell(RecurrentCell):
    """Cell class for ``SimpleRNN``: processes one step of a sequence.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (default ``"tanh"``); ``None`` means linear.
        use_bias: Whether to use a bias vector.
        kernel_initializer: Initializer of the ``(input_dim, units)`` input kernel.
        recurrent_initializer: Initializer of the ``(units, units)`` recurrent kernel.
        bias_initializer: Initializer of the bias.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Float in ``[0, 1]``, fraction of the inputs dropped (training only; one mask
            per call, reused at every step).
        recurrent_dropout: Float in ``[0, 1]``, fraction of the recurrent state dropped.
        seed: Random seed for dropout.

    Call arguments:
        sequence: 2D tensor ``(batch, features)``, one time step.
        states: List with the previous output ``(batch, units)``.
        training: Whether dropout is active.

    Example:

    >>> layer = lamina.layers.RNN(lamina.layers.SimpleRNNCell(4))
    >>> layer(np.zeros((2, 10, 8), "float32")).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**arguments_for(RecurrentCell.__init__, locals()), **kwargs)
        self.state_size = self.units

    def build(self, input_shape):
        self._add_kernels(self._check_input_dim(input_shape))
        self.built = True

    def call(self, sequence, states, training=False):
        nested = tree.is_nested(states)
        prev_output = states[0] if nested else states
        if training and self.dropout > 0:
            sequence = sequence * self.get_dropout_mask(sequence)
        if training and self.recurrent_dropout > 0:
            prev_output = prev_output * self.get_recurrent_dropout_mask(prev_output)
        h = sequence @ self.kernel
        if self.bias is not None:
            h = h + self.bias
        output = h + prev_output @ self.recurrent_kernel
        if self.activation is not None:
            output = self.activation(output)
        return output, [output] if nested else output


@register_builtin("keras.layers")
class SimpleRNN(CellRNN):
    """Fully-connected RNN where the output is fed back as the next input.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (default ``"tanh"``); ``None`` means linear.
        use_bias: Whether to use a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: Weight initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the inputs dropped (training only).
        recurrent_dropout: Fraction of the recurrent state dropped (training only).
        return_sequences: Return the full sequence instead of the last output.
        return_state: Also return the last state.
        go_backwards: Process the sequence backwards.
        stateful: Carry the last state of each sample over to the next batch.
        unroll: Accepted for compatibility (no effect in eager PyTorch).
        seed: Random seed for dropout.

    Call arguments:
        sequences: 3D tensor ``(batch, timesteps, features)``.
        initial_state: Optional list with one ``(batch, units)`` tensor.
        mask: Optional boolean ``(batch, timesteps)``.
        training: Whether dropout is active.

    Input shape:
        3D tensor ``(batch_size, timesteps, features)``.

    Output shape:
        ``(batch_size, timesteps, units)`` with ``return_sequences``, else ``(batch_size, units)``.

    Example:

    >>> layer = lamina.layers.SimpleRNN(4, return_sequences=True, return_state=True)
    >>> seq, state = layer(np.zeros((32, 10, 8), "float32"))
    >>> tuple(seq.shape), tuple(state.shape)
    ((32, 10, 4), (32, 4))
    """

    _config_has_seed = False

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        cell = SimpleRNNCell(
            **arguments_for(SimpleRNNCell.__init__, locals()),
            name="simple_rnn_cell",
            **cell_kwargs(kwargs),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = InputSpec(ndim=3)
