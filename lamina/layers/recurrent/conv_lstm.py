"""``ConvLSTM``: the N-D convolutional LSTM behind ``ConvLSTM1D``, ``ConvLSTM2D`` and ``ConvLSTM3D``.

The input transformation of all time steps is one convolution over the sequence folded into the
batch axis; only the recurrent convolution runs inside the step loop. Weights live in a
``ConvLSTMCell`` held as ``layer.cell``, so weight names, order and the ``.keras`` file layout are
those of Keras (``conv_lstm2d/cell/vars``: kernel, recurrent_kernel, bias).
"""

import torch

from lamina import activations
from lamina.backend import config as backend_config
from lamina.backend.config import standardize_data_format
from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent._arguments import (
    add_recurrent_weights,
    arguments_for,
    cell_property,
    check_rate,
    check_seed,
    forget_bias_initializer,
    set_weight_options,
    weight_options_config,
)
from lamina.layers.recurrent._rnn_loop import rnn_loop
from lamina.layers.recurrent.dropout_rnn_cell import DropoutRNNCell
from lamina.layers.recurrent.rnn import RNN
from lamina.ops import _conv_math
from lamina.saving import serialization_lib
from lamina.utils.argument_validation import standardize_tuple


def _lstm_gates(z, c, channel_axis, activation, recurrent_activation):
    """One LSTM update from the summed gate pre-activations ``z`` (gates i, f, c, o)."""
    z_i, z_f, z_c, z_o = z.chunk(4, dim=channel_axis)
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    c = f * c + i * activation(z_c)
    h = recurrent_activation(z_o) * activation(c)
    return h, c


class ConvLSTMCell(Layer, DropoutRNNCell):
    """Weights and per-step math of a convolutional LSTM (not a public Keras class).

    Holds ``kernel`` ``(*kernel_size, channels, 4 * filters)``, ``recurrent_kernel``
    ``(*kernel_size, filters, 4 * filters)`` and ``bias`` ``(4 * filters,)``, gates in the order
    i, f, c, o. The arguments are those of ``ConvLSTM``.
    """

    def __init__(
        self,
        rank,
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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rank = rank
        self.filters = _conv_math.standardize_positive_int(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        _conv_math.check_strides_and_dilation(self.strides, self.dilation_rate)
        self.padding = _conv_math.standardize_padding(padding, ("valid", "same"))
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        set_weight_options(self, locals())
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        seed = check_seed(seed)
        self.seed = None if seed is None else int(seed)
        self.seed_generator = SeedGenerator(self.seed)
        self.dropout_mask_count = 4
        # Two states (h, c) whose shapes depend on the input's spatial size: no fixed sizes.
        self.state_size = [-1, -1]
        self._step_shape = None

    @property
    def channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        """``input_shape`` is the shape of one time step, ``(batch, *spatial, channels)``."""
        channels = _conv_math.input_channels(input_shape, self.rank, self.data_format, self.name)
        self._step_shape = tuple(input_shape)
        add_recurrent_weights(
            self,
            self.kernel_size + (channels, 4 * self.filters),
            self.kernel_size + (self.filters, 4 * self.filters),
            (4 * self.filters,) if self.use_bias else None,
            forget_bias_initializer(self.bias_initializer, self.filters, 1, 4)
            if self.unit_forget_bias
            else None,
        )
        self.built = True

    def state_shape(self, step_shape):
        """Shape of ``h`` and ``c`` for a time step of shape ``step_shape``."""
        return _conv_math.conv_output_shape(
            step_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.dilation_rate, self.data_format, self.name,
        )

    def get_initial_state(self, batch_size=None):
        """Zero ``[h, c]`` for ``batch_size`` samples of the spatial size the cell was built for."""
        if self._step_shape is None or None in self._step_shape[1:]:
            raise ValueError(
                f"Layer '{self.name}' needs the spatial size of its inputs to make initial "
                f"states. Built with input shape {self._step_shape}."
            )
        shape = self.state_shape((batch_size,) + self._step_shape[1:])
        dtype = self._compute_torch_dtype
        device = backend_config.get_device()
        return [torch.zeros(shape, dtype=dtype, device=device) for _ in range(2)]

    def call(self, inputs, states, training=False):
        """One step: ``inputs`` ``(batch, *spatial, channels)`` and ``[h, c]`` -> ``(h, [h, c])``."""
        h, c = states
        masks = self.get_dropout_mask(inputs) if training and 0.0 < self.dropout < 1.0 else None
        rec = None
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rec = self.get_recurrent_dropout_mask(h)
        z = self.input_gates(inputs, masks)
        z = z + self.recurrent_gates(h, _conv_math.torch_kernel(self.recurrent_kernel), rec)
        h, c = _lstm_gates(
            _conv_math.from_channels_first(z, self.data_format), c, self.channel_axis,
            self.activation, self.recurrent_activation,
        )
        return h, [h, c]

    def input_gates(self, folded, masks=None):
        """Input convolution (plus bias) of every step: ``(n, *spatial, in)`` -> channels-first.

        With input dropout, each gate convolves its own masked copy of the inputs.
        """
        kernel = _conv_math.torch_kernel(self.kernel)
        if masks is None:
            x = _conv_math.to_channels_first(folded, self.data_format)
            return _conv_math.conv(x, kernel, self.bias, self.strides, self.padding, self.dilation_rate)
        biases = self.bias.chunk(4) if self.bias is not None else (None,) * 4
        return torch.cat(
            [
                _conv_math.conv(
                    _conv_math.to_channels_first(folded * m, self.data_format), k, b, self.strides,
                    self.padding, self.dilation_rate,
                )
                for m, k, b in zip(masks, kernel.chunk(4, dim=0), biases)
            ],
            dim=1,
        )

    def recurrent_gates(self, h, kernel, masks=None):
        """Recurrent convolution (stride 1, "same") of ``h`` in the layer layout -> channels-first."""
        ones = (1,) * self.rank
        if masks is None:
            x = _conv_math.to_channels_first(h, self.data_format)
            return _conv_math.conv(x, kernel, None, ones, "same", ones)
        return torch.cat(
            [
                _conv_math.conv(
                    _conv_math.to_channels_first(h * m, self.data_format), k, None, ones, "same", ones
                )
                for m, k in zip(masks, kernel.chunk(4, dim=0))
            ],
            dim=1,
        )

    def get_config(self):
        config = super().get_config()
        config["rank"] = self.rank
        config.update(_cell_config(self))
        return config


def _cell_config(cell):
    return {
        "filters": cell.filters,
        "kernel_size": cell.kernel_size,
        "strides": cell.strides,
        "padding": cell.padding,
        "data_format": cell.data_format,
        "dilation_rate": cell.dilation_rate,
        "activation": activations.serialize(cell.activation),
        "recurrent_activation": activations.serialize(cell.recurrent_activation),
        "use_bias": cell.use_bias,
        **weight_options_config(cell, ("initializer",)),
        "unit_forget_bias": cell.unit_forget_bias,
        **weight_options_config(cell, ("regularizer", "constraint")),
        "dropout": cell.dropout,
        "recurrent_dropout": cell.recurrent_dropout,
        "seed": cell.seed,
    }


# Hyperparameters live on the cell (as in Keras); the layer reads them through properties.
_CELL_ATTRIBUTES = (
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
    "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
    "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
    "recurrent_dropout", "seed",
)


class ConvLSTM(RNN):
    """Abstract N-D convolutional LSTM: an LSTM whose transformations are convolutions.

    Subclasses fix ``rank``; everything else is shared.

    Args:
        rank: Number of spatial dimensions (1, 2 or 3).
        filters: Positive integer, number of output channels (of ``h`` and ``c``).
        kernel_size: Int or tuple of ``rank`` ints, the window of both convolutions.
        strides: Int or tuple of ``rank`` ints, the step of the input convolution (the recurrent
            one always uses stride 1). Cannot be combined with ``dilation_rate > 1``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive), for the input convolution; the
            recurrent convolution always pads ``"same"``.
        data_format: ``"channels_last"`` (``(batch, time, *spatial, channels)``) or
            ``"channels_first"`` (``(batch, time, channels, *spatial)``); defaults to
            ``lamina.config.image_data_format()``.
        dilation_rate: Int or tuple of ``rank`` ints, the dilation of the input convolution.
        activation: Activation of the cell input and of the output (default ``"tanh"``).
        recurrent_activation: Activation of the gates (default ``"sigmoid"``; Keras 2 used
            ``"hard_sigmoid"``).
        use_bias: Whether to add a bias to the gates.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers.
        unit_forget_bias: Whether the forget-gate bias starts at one.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Weight regularizers.
        activity_regularizer: Regularizer for the output.
        kernel_constraint, recurrent_constraint, bias_constraint: Weight constraints.
        dropout: Fraction of the input units dropped (training only), one mask per gate kept
            for all time steps.
        recurrent_dropout: Same for the recurrent state.
        seed: Random seed for the dropout masks.
        return_sequences: Whether to return the output of every step or only the last.
        return_state: Whether to return ``[output, h, c]``.
        go_backwards: Process the sequence from its end (outputs come in processing order).
        stateful: Keep the final states of each batch as the initial states of the next one
            (needs a fixed batch size; ``reset_state()`` sets them back to zeros).
        unroll: Accepted for compatibility; the step loop is a Python loop either way.
        zero_output_for_mask: Whether masked steps output zeros (else the previous output).
    """

    def __init__(
        self,
        rank,
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
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = ConvLSTMCell(
            **arguments_for(ConvLSTMCell.__init__, locals()),
            name="conv_lstm_cell",
            dtype=kwargs.get("dtype"),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.rank = rank
        self.input_spec = InputSpec(ndim=rank + 3)

    def _step_shape(self, sequences_shape):
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != self.rank + 3:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank {self.rank + 3} "
                f"(batch, time, *spatial, channels). Received input_shape={sequences_shape}"
            )
        return (sequences_shape[0],) + sequences_shape[2:]

    def build(self, sequences_shape, initial_state_shape=None):
        step_shape = self._step_shape(sequences_shape)
        channels = _conv_math.input_channels(step_shape, self.rank, self.data_format, self.name)
        # Fails early, naming the layer, when the kernel does not fit in the input.
        self.cell.state_shape(step_shape)
        if self.stateful and None in step_shape[1:]:
            raise ValueError(
                f"Layer '{self.name}' is stateful, so it needs fixed spatial dimensions. "
                f"Received input_shape={tuple(sequences_shape)}"
            )
        super().build(sequences_shape)
        channel_axis = -1 if self.data_format == "channels_last" else 2
        self.input_spec = InputSpec(ndim=self.rank + 3, axes={channel_axis: channels})

    def inner_loop(self, sequences, initial_state, mask, training=False, constants=None):
        # The input convolution of every step is one convolution over the sequence folded into
        # the batch axis; only the recurrent convolution remains in the step loop.
        if constants is not None:
            raise ValueError(f"Layer '{self.name}' does not take `constants`.")
        cell = self.cell
        batch, steps = sequences.shape[0], sequences.shape[1]
        step_shape = tuple(sequences.shape[2:])
        h0 = initial_state[0]
        expected = tuple(cell.state_shape((batch,) + step_shape))
        for state in initial_state:
            if tuple(state.shape) != expected:
                raise ValueError(
                    f"Layer '{self.name}' expects initial states of shape {expected}. Received a "
                    f"state of shape {tuple(state.shape)}."
                )
        input_masks = recurrent_masks = None
        if training and 0.0 < cell.dropout < 1.0:
            # One mask per gate, shared by all time steps: repeated along the folded time axis.
            input_masks = [
                m.repeat_interleave(steps, dim=0) for m in cell.get_dropout_mask(sequences[:, 0])
            ]
        if training and 0.0 < cell.recurrent_dropout < 1.0:
            recurrent_masks = cell.get_recurrent_dropout_mask(h0)

        folded = sequences.reshape((batch * steps,) + step_shape)
        gates = cell.input_gates(folded, input_masks)
        gates = gates.reshape((batch, steps) + tuple(gates.shape[1:]))
        # One contiguous copy of the recurrent kernel per call, not one permuted view per step.
        recurrent_kernel = _conv_math.torch_kernel(cell.recurrent_kernel).contiguous()
        channel_axis = cell.channel_axis

        def step(gates_t, states):
            h, c = states
            z = gates_t + cell.recurrent_gates(h, recurrent_kernel, recurrent_masks)
            # Gate math in the layer's layout (a view), so axis-aware activations act on filters.
            z = _conv_math.from_channels_first(z, cell.data_format)
            h, c = _lstm_gates(z, c, channel_axis, cell.activation, cell.recurrent_activation)
            return h, [h, c]

        return rnn_loop(
            step, gates, list(initial_state), mask=mask, go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask, return_sequences=self.return_sequences,
        )

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        step_shape = self._step_shape(sequences_shape)
        state_shape = tuple(self.cell.state_shape(step_shape))
        if self.return_sequences:
            output_shape = (state_shape[0], sequences_shape[1]) + state_shape[1:]
        else:
            output_shape = state_shape
        if self.return_state:
            return [output_shape, state_shape, state_shape]
        return output_shape

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        config.update(_cell_config(self.cell))
        config["activity_regularizer"] = serialization_lib.serialize_keras_object(
            self.activity_regularizer
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # No `cell` entry: the constructor arguments rebuild the cell.
        return Layer.from_config.__func__(cls, config)


for _name in _CELL_ATTRIBUTES:
    setattr(ConvLSTM, _name, cell_property(_name))
del _name
