"""Keras 2's ``CuDNNLSTM`` and ``CuDNNGRU``: fixed-form LSTM/GRU run by the fused kernel.

Keras 3 dropped these layers (``LSTM``/``GRU`` pick cuDNN themselves); Lamina keeps them with
Keras 2's signatures and weight layout. Their weights live on the layer (no cell): ``kernel``
``(input_dim, k * units)``, ``recurrent_kernel`` ``(units, k * units)`` and a ``bias`` holding the
input biases followed by the recurrent biases (``(8 * units,)`` for LSTM with gates i, f, c, o;
``(6 * units,)`` for GRU with gates z, r, h). They run torch's fused kernel on any device
(cuDNN on GPU); there is no dropout, no masking and no activation choice.
"""

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent._arguments import (
    add_recurrent_weights,
    arguments_for,
    forget_bias_initializer,
    set_weight_options,
    validate_units,
    weight_options_config,
)
from lamina.layers.recurrent._fused_rnn import fused_ok, fused_rnn, gru_weights, lstm_weights
from lamina.layers.recurrent.rnn import RNN
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


class _CuDNNRNN(RNN):
    """Shared machinery: arguments, weights, states, config; subclasses give the kernel."""

    _mode = None
    _gates = None
    _state_count = 1

    def __init__(
        self,
        units,
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
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        **kwargs,
    ):
        if kwargs.pop("time_major", False):
            raise ValueError(f"{type(self).__name__} does not support `time_major=True`.")
        units = validate_units(units)
        # No cell: the layer owns its weights, as in Keras 2, so RNN.__init__ is skipped.
        Layer.__init__(self, activity_regularizer=activity_regularizer, **kwargs)
        self.units = units
        self.cell = None
        set_weight_options(self, locals())
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = False
        self.zero_output_for_mask = False
        self.time_major = False
        self.state_size = [units] * self._state_count
        self.single_state = self._state_count == 1
        self.supports_masking = False
        self.input_spec = InputSpec(ndim=3)
        self.states = None
        self._cell_call = None

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, sequences_shape, initial_state_shape=None):
        input_dim = sequences_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the inputs to {type(self).__name__} '{self.name}' should be "
                f"defined. Found None. Full input shape received: {tuple(sequences_shape)}"
            )
        width = self._gates * self.units
        add_recurrent_weights(
            self, (input_dim, width), (self.units, width), (2 * width,), self._bias_initializer()
        )
        if self.stateful and self.states is None:
            batch = sequences_shape[0]
            if batch is None and self._batch_input_shape is not None:
                batch = self._batch_input_shape[0]
            if batch is not None:
                self.states = self._zero_states(batch, self.kernel.device)
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if mask is not None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) does not support masking, but was "
                "passed an input mask."
            )
        return super().call(inputs, initial_state=initial_state, training=training)

    def inner_loop(self, sequences, initial_state, mask, training=False, constants=None):
        if not fused_ok(sequences):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) runs torch's fused kernel, which on "
                f"{sequences.device.type} does not support inputs of dtype {sequences.dtype}."
            )
        return fused_rnn(
            self._mode,
            sequences,
            initial_state,
            self._torch_weights(),
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
        )

    def get_config(self):
        config = Layer.get_config(self)
        config.update(
            {
                "units": self.units,
                **weight_options_config(self, ("initializer", "regularizer")),
                "activity_regularizer": serialization_lib.serialize_keras_object(
                    self.activity_regularizer
                ),
                **weight_options_config(self, ("constraint",)),
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "go_backwards": self.go_backwards,
                "stateful": self.stateful,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register_builtin("keras.layers")
class CuDNNLSTM(_CuDNNRNN):
    """Keras 2's fast LSTM (cuDNN): ``tanh``/``sigmoid`` LSTM with separate input and recurrent biases.

    Args:
        units: Positive integer, dimensionality of the output space.
        kernel_initializer, recurrent_initializer, bias_initializer: Weight initializers.
        unit_forget_bias: Start the recurrent forget-gate bias at one.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        return_sequences: Return the full sequence instead of the last output.
        return_state: Also return the last states ``h`` and ``c``.
        go_backwards: Process the sequence backwards.
        stateful: Carry the last states of each sample over to the next batch.

    Input shape:
        3D tensor ``(batch_size, timesteps, features)``.

    Output shape:
        ``(batch_size, timesteps, units)`` with ``return_sequences``, else ``(batch_size, units)``.

    Example:

    >>> layer = lamina.layers.CuDNNLSTM(8)
    >>> layer(np.zeros((4, 5, 3), "float32")).shape
    torch.Size([4, 8])
    >>> tuple(layer.bias.shape)
    (64,)
    """

    _mode = "lstm"
    _gates = 4
    _state_count = 2

    def __init__(
        self,
        units,
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
        return_sequences=False,
        return_state=False,
        stateful=False,
        **kwargs,
    ):
        super().__init__(**arguments_for(_CuDNNRNN.__init__, locals()), **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        # Keras 2 layout: input biases (i, f, c, o) then recurrent ones; the recurrent forget
        # bias (block 5 of 8) starts at one.
        return forget_bias_initializer(self.bias_initializer, self.units, 5, 8)

    def _torch_weights(self):
        width = 4 * self.units
        return lstm_weights(
            self.kernel, self.recurrent_kernel, self.bias[width:], input_bias=self.bias[:width]
        )

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


@register_builtin("keras.layers")
class CuDNNGRU(_CuDNNRNN):
    """Keras 2's fast GRU (cuDNN): a ``reset_after`` GRU with separate input and recurrent biases.

    Computes ``GRU(reset_after=True)`` (``tanh``/``sigmoid``); its ``bias`` is the flat
    ``(6 * units,)`` Keras 2 layout (input z, r, h then recurrent z, r, h) rather than ``GRU``'s
    ``(2, 3 * units)``.

    Args:
        units: Positive integer, dimensionality of the output space.
        kernel_initializer, recurrent_initializer, bias_initializer: Weight initializers.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        return_sequences: Return the full sequence instead of the last output.
        return_state: Also return the last state.
        go_backwards: Process the sequence backwards.
        stateful: Carry the last state of each sample over to the next batch.

    Input shape:
        3D tensor ``(batch_size, timesteps, features)``.

    Output shape:
        ``(batch_size, timesteps, units)`` with ``return_sequences``, else ``(batch_size, units)``.

    Example:

    >>> layer = lamina.layers.CuDNNGRU(8, return_sequences=True)
    >>> layer(np.zeros((4, 5, 3), "float32")).shape
    torch.Size([4, 5, 8])
    """

    _mode = "gru"
    _gates = 3

    def __init__(
        self,
        units,
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
        return_sequences=False,
        return_state=False,
        stateful=False,
        **kwargs,
    ):
        super().__init__(**arguments_for(_CuDNNRNN.__init__, locals()), **kwargs)

    def _torch_weights(self):
        width = 3 * self.units
        return gru_weights(self.kernel, self.recurrent_kernel, self.bias[:width], self.bias[width:])
