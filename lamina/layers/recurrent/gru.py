"""``GRUCell`` and ``GRU``: gated recurrent unit (Cho et al. 2014), gates z, r, h."""

from lamina.layers.input_spec import InputSpec
from lamina.layers.recurrent._arguments import arguments_for
from lamina.layers.recurrent._cell_base import CellRNN, RecurrentCell, cell_kwargs, check_use_cudnn
from lamina.layers.recurrent._fused_rnn import gru_weights
from lamina.layers.recurrent.lstm import _project
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


def _gate_inputs(h, masks):
    """The previous state as each of the three gates sees it (per-gate recurrent dropout)."""
    if masks is None:
        return h, h, h
    if not isinstance(masks, list):
        h = h * masks
        return h, h, h
    return tuple(h * m for m in masks)


@register_builtin("keras.layers")
class GRUCell(RecurrentCell):
    """Cell class for the ``GRU`` layer: processes one step of a sequence.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate state (default ``"tanh"``).
        recurrent_activation: Activation of the update and reset gates (default ``"sigmoid"``).
        use_bias: Whether to use a bias vector.
        kernel_initializer: Initializer of the ``(input_dim, 3 * units)`` input kernel.
        recurrent_initializer: Initializer of the ``(units, 3 * units)`` recurrent kernel.
        bias_initializer: Initializer of the bias.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the inputs dropped (training only, one mask per call).
        recurrent_dropout: Fraction of the recurrent state dropped (training only).
        reset_after: Apply the reset gate after the recurrent matrix multiplication (the
            cuDNN convention, default) instead of before. With ``True`` the bias has shape
            ``(2, 3 * units)`` (input bias, recurrent bias), else ``(3 * units,)``.
        seed: Random seed for dropout.
        implementation: Keras 2 compatibility; ``1`` draws one dropout mask per gate.

    Call arguments:
        inputs: 2D tensor ``(batch, features)``.
        states: The previous state ``(batch, units)`` (or a list holding it).
        training: Whether dropout is active.

    Example:

    >>> layer = lamina.layers.RNN(lamina.layers.GRUCell(4))
    >>> layer(np.zeros((32, 10, 8), "float32")).shape
    torch.Size([32, 4])
    """

    gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        reset_after=True,
        seed=None,
        **kwargs,
    ):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**arguments_for(RecurrentCell.__init__, locals()), **kwargs)
        self._set_implementation(implementation)
        self.reset_after = bool(reset_after)
        self.state_size = self.units

    def build(self, input_shape):
        bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_kernels(self._check_input_dim(input_shape), bias_shape=bias_shape)
        self.built = True

    def _biases(self):
        if self.bias is None:
            return None, None
        if self.reset_after:
            return self.bias[0], self.bias[1]
        return self.bias, None

    def call(self, inputs, states, training=False):
        nested = tree.is_nested(states)
        h_tm1 = states[0] if nested else states
        units = self.units
        dp_mask = self.get_dropout_mask(inputs) if training and self.dropout > 0 else None
        rec_mask = (
            self.get_recurrent_dropout_mask(h_tm1) if training and self.recurrent_dropout > 0 else None
        )
        input_bias, recurrent_bias = self._biases()
        x = _project(inputs, self.kernel, dp_mask, units)
        if input_bias is not None:
            x = x + input_bias
        x_z, x_r, x_h = x.split(units, dim=1)
        h_z, h_r, h_h = _gate_inputs(h_tm1, rec_mask)
        rk_z, rk_r, rk_h = self.recurrent_kernel.split(units, dim=1)
        rec_z, rec_r = h_z @ rk_z, h_r @ rk_r
        if recurrent_bias is not None:
            b_z, b_r, b_h = recurrent_bias.split(units)
            rec_z, rec_r = rec_z + b_z, rec_r + b_r
        z = self.recurrent_activation(x_z + rec_z)
        r = self.recurrent_activation(x_r + rec_r)
        if self.reset_after:
            rec_h = h_h @ rk_h
            if recurrent_bias is not None:
                rec_h = rec_h + b_h
            rec_h = r * rec_h
        else:
            rec_h = (r * h_h) @ rk_h
        hh = self.activation(x_h + rec_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, [h] if nested else h

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


@register_builtin("keras.layers")
class GRU(CellRNN):
    """Gated Recurrent Unit layer (Cho et al. 2014).

    With the default ``activation="tanh"``, ``recurrent_activation="sigmoid"``,
    ``reset_after=True``, no ``recurrent_dropout`` during training, ``unroll=False`` and no mask
    (or a right-padded one), the layer runs torch's fused GRU kernel (cuDNN on GPU); otherwise a
    step loop over ``GRUCell``. The weights keep the Keras layout (gates z, r, h) either way.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate state (default ``"tanh"``).
        recurrent_activation: Activation of the gates (default ``"sigmoid"``).
        use_bias: Whether to use a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer: Weight initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the inputs dropped (training only).
        recurrent_dropout: Fraction of the recurrent state dropped (training only).
        seed: Random seed for dropout.
        return_sequences: Return the full sequence instead of the last output.
        return_state: Also return the last state.
        go_backwards: Process the sequence backwards.
        stateful: Carry the last state of each sample over to the next batch.
        unroll: Accepted for compatibility; ``True`` forces the step loop.
        reset_after: Reset gate after the recurrent matmul (``True``, default) or before.
        use_cudnn: ``"auto"``, ``True`` (require the fused kernel) or ``False`` (step loop).

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

    >>> layer = lamina.layers.GRU(4, return_sequences=True, return_state=True)
    >>> seq, state = layer(np.zeros((32, 10, 8), "float32"))
    >>> tuple(seq.shape), tuple(state.shape)
    ((32, 10, 4), (32, 4))
    """

    _fused_mode = "gru"

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
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
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        check_use_cudnn(use_cudnn)
        cell = GRUCell(
            **arguments_for(GRUCell.__init__, locals()),
            implementation=kwargs.pop("implementation", 2),
            name="gru_cell",
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

    reset_after = property(lambda self: self.cell.reset_after)
    implementation = property(lambda self: self.cell.implementation)

    def _fused_weights(self, training):
        cell = self.cell
        if not (cell.reset_after and self._fused_common_ok(training)):
            return None
        input_bias, recurrent_bias = cell._biases()
        return gru_weights(cell.kernel, cell.recurrent_kernel, input_bias, recurrent_bias)
