"""``LSTMCell`` and ``LSTM``: long short-term memory (Hochreiter 1997), gates i, f, c, o."""

import torch

from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent._arguments import arguments_for, forget_bias_initializer
from lamina.layers.recurrent._cell_base import CellRNN, RecurrentCell, cell_kwargs, check_use_cudnn
from lamina.layers.recurrent._fused_rnn import lstm_weights
from lamina.saving.object_registration import register_builtin


def _project(x, weight, masks, units):
    """``x @ weight``, with a separate dropout mask per gate block when ``masks`` is a list."""
    if masks is None:
        return x @ weight
    if not isinstance(masks, list):
        return (x * masks) @ weight
    return torch.cat([(x * m) @ w for m, w in zip(masks, weight.split(units, dim=1))], dim=1)


@register_builtin("keras.layers")
class LSTMCell(RecurrentCell):
    """Cell class for the ``LSTM`` layer: processes one step of a sequence.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the cell candidate and output (default ``"tanh"``).
        recurrent_activation: Activation of the gates (default ``"sigmoid"``).
        use_bias: Whether to use a bias vector.
        kernel_initializer: Initializer of the ``(input_dim, 4 * units)`` input kernel.
        recurrent_initializer: Initializer of the ``(units, 4 * units)`` recurrent kernel.
        bias_initializer: Initializer of the ``(4 * units,)`` bias.
        unit_forget_bias: Add 1 to the forget gate bias at initialization (the bias starts as
            ``[bias_init, ones, bias_init, bias_init]``).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the inputs dropped (training only, one mask per call).
        recurrent_dropout: Fraction of the recurrent state dropped (training only).
        seed: Random seed for dropout.
        implementation: Keras 2 compatibility; ``1`` draws one dropout mask per gate (also
            forced by ``recurrent_dropout``), ``2`` (default) one mask for all gates.

    Call arguments:
        inputs: 2D tensor ``(batch, features)``.
        states: List ``[h, c]`` of ``(batch, units)`` tensors.
        training: Whether dropout is active.

    Example:

    >>> layer = lamina.layers.RNN(lamina.layers.LSTMCell(4))
    >>> layer(np.zeros((32, 10, 8), "float32")).shape
    torch.Size([32, 4])
    """

    gates = 4

    def __init__(
        self,
        units,
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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**arguments_for(RecurrentCell.__init__, locals()), **kwargs)
        self._set_implementation(implementation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        bias_init = None
        if self.use_bias and self.unit_forget_bias:
            bias_init = forget_bias_initializer(self.bias_initializer, self.units, 1, 4)
        self._add_kernels(self._check_input_dim(input_shape), bias_initializer=bias_init)
        self.built = True

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        dp_mask = self.get_dropout_mask(inputs) if training and self.dropout > 0 else None
        rec_mask = (
            self.get_recurrent_dropout_mask(h_tm1) if training and self.recurrent_dropout > 0 else None
        )
        z = _project(inputs, self.kernel, dp_mask, self.units)
        z = z + _project(h_tm1, self.recurrent_kernel, rec_mask, self.units)
        if self.bias is not None:
            z = z + self.bias
        z_i, z_f, z_c, z_o = z.split(self.units, dim=1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@register_builtin("keras.layers")
class LSTM(CellRNN):
    """Long Short-Term Memory layer (Hochreiter 1997).

    With the default ``activation="tanh"``, ``recurrent_activation="sigmoid"``, no
    ``recurrent_dropout`` during training, ``unroll=False`` and no mask (or a right-padded mask,
    as ``Embedding(mask_zero=True)`` gives for padded batches), the layer runs torch's fused
    LSTM kernel (cuDNN on GPU); otherwise a step loop over ``LSTMCell``. Both compute the same
    numbers; the weights keep the Keras layout either way.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the cell candidate and output (default ``"tanh"``).
        recurrent_activation: Activation of the gates (default ``"sigmoid"``).
        use_bias: Whether to use a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: Weight initializers.
        unit_forget_bias: Add 1 to the forget gate bias at initialization.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the inputs dropped (training only).
        recurrent_dropout: Fraction of the recurrent state dropped (training only).
        seed: Random seed for dropout.
        return_sequences: Return the full sequence instead of the last output.
        return_state: Also return the last states ``h`` and ``c``.
        go_backwards: Process the sequence backwards.
        stateful: Carry the last states of each sample over to the next batch.
        unroll: Accepted for compatibility; ``True`` forces the step loop.
        use_cudnn: ``"auto"`` (fused kernel when equivalent), ``True`` (require it: error
            otherwise) or ``False`` (always the step loop).

    Call arguments:
        sequences: 3D tensor ``(batch, timesteps, features)``.
        initial_state: Optional list ``[h, c]`` of ``(batch, units)`` tensors.
        mask: Optional boolean ``(batch, timesteps)``.
        training: Whether dropout is active.

    Input shape:
        3D tensor ``(batch_size, timesteps, features)``.

    Output shape:
        ``(batch_size, timesteps, units)`` with ``return_sequences``, else ``(batch_size, units)``;
        with ``return_state`` followed by ``h`` and ``c``, each ``(batch_size, units)``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Embedding(input_dim=1000, output_dim=64))
    >>> model.add(lamina.layers.LSTM(128))
    >>> model.add(lamina.layers.Dense(10))
    >>> model(np.zeros((2, 7), "int32")).shape
    torch.Size([2, 10])
    """

    _fused_mode = "lstm"

    def __init__(
        self,
        units,
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
        unroll=False,
        use_cudnn="auto",
        **kwargs,
    ):
        check_use_cudnn(use_cudnn)
        cell = LSTMCell(
            **arguments_for(LSTMCell.__init__, locals()),
            implementation=kwargs.pop("implementation", 2),
            name="lstm_cell",
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
        self.use_cudnn = use_cudnn
        self.input_spec = InputSpec(ndim=3)

    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)
    implementation = property(lambda self: self.cell.implementation)

    def _fused_weights(self, training):
        if not self._fused_common_ok(training):
            return None
        cell = self.cell
        return lstm_weights(cell.kernel, cell.recurrent_kernel, cell.bias)
