"""What ``SimpleRNNCell``, ``LSTMCell`` and ``GRUCell`` share, and what their layers share.

A cell holds the arguments common to Keras's built-in cells (initializers, regularizers,
constraints, dropout rates, seed) and creates ``kernel (input_dim, gates * units)``,
``recurrent_kernel (units, gates * units)`` and ``bias``. A layer (``LSTM``...) is an ``RNN``
around such a cell; its arguments are the cell's, read back through properties.
"""

import torch

from lamina import activations
from lamina.backend import config as backend_config
from lamina.backend.seed_generator import SeedGenerator
from lamina.layers.layer import Layer
from lamina.layers.recurrent._arguments import (
    add_recurrent_weights,
    cell_property,
    check_seed,
    clip_rate,
    set_weight_options,
    validate_units,
    weight_options_config,
)
from lamina.layers.recurrent._fused_rnn import fused_ok, fused_rnn
from lamina.layers.recurrent.dropout_rnn_cell import DropoutRNNCell
from lamina.layers.recurrent.rnn import RNN
from lamina.saving import serialization_lib


class RecurrentCell(DropoutRNNCell, Layer):
    """Base of the built-in cells: common arguments, weights and config."""

    # Number of gate blocks in the kernels (1 for SimpleRNN, 4 for LSTM, 3 for GRU).
    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation=None,
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
        units = validate_units(units)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = (
            activations.get(recurrent_activation) if recurrent_activation is not None else None
        )
        self.use_bias = bool(use_bias)
        set_weight_options(self, locals())
        self.dropout = clip_rate(dropout, "dropout")
        self.recurrent_dropout = clip_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = check_seed(seed)
        self.seed_generator = SeedGenerator(seed)
        self.output_size = units

    def _set_implementation(self, implementation):
        """Keras 2's `implementation`: 1 draws one dropout mask per gate block (LSTM, GRU)."""
        if implementation not in (0, 1, 2):
            raise ValueError(f"`implementation` must be 1 or 2. Received: implementation={implementation!r}")
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        if self.implementation == 1:
            self.dropout_mask_count = self.gates

    def _check_input_dim(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the inputs to {type(self).__name__} '{self.name}' should "
                f"be defined. Found None. Full input shape received: {tuple(input_shape)}"
            )
        return input_dim

    def get_initial_state(self, batch_size=None):
        """Zero states, one ``(batch_size, size)`` tensor per entry of ``state_size``."""
        sizes = [self.state_size] if isinstance(self.state_size, int) else self.state_size
        device = backend_config.get_device()
        return [torch.zeros((batch_size, d), dtype=self._compute_torch_dtype, device=device) for d in sizes]

    def _add_kernels(self, input_dim, bias_shape=None, bias_initializer=None):
        width = self.gates * self.units
        add_recurrent_weights(
            self,
            (input_dim, width),
            (self.units, width),
            (bias_shape or (width,)) if self.use_bias else None,
            bias_initializer,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **weight_options_config(self),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


class CellRNN(RNN):
    """Base of ``SimpleRNN``/``LSTM``/``GRU``: an ``RNN`` whose config is its cell's arguments."""

    # Keras's SimpleRNN leaves `seed` out of its config; LSTM and GRU keep it.
    _config_has_seed = True

    units = cell_property("units")
    activation = cell_property("activation")
    recurrent_activation = cell_property("recurrent_activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")
    seed = cell_property("seed")

    # "lstm" or "gru" where torch has a fused kernel for the layer; the Keras `use_cudnn` flag.
    _fused_mode = None
    use_cudnn = "auto"

    def _fused_weights(self, training):
        """Torch-layout weights when the fused kernel computes exactly this layer, else None."""
        return None

    def inner_loop(self, sequences, initial_state, mask, training=False, constants=None):
        if self._fused_mode is not None and self.use_cudnn is not False and constants is None:
            weights = self._fused_weights(training) if fused_ok(sequences) else None
            if weights is not None:
                cell = self.cell
                fused_inputs = sequences
                if training and cell.dropout > 0:
                    # One input mask for the whole call, as Keras's cuDNN path applies it; the
                    # loop fallback below reuses the same cached mask.
                    fused_inputs = sequences * cell.get_dropout_mask(sequences[:, 0]).unsqueeze(1)
                result = fused_rnn(
                    self._fused_mode,
                    fused_inputs,
                    initial_state,
                    weights,
                    mask=mask,
                    go_backwards=self.go_backwards,
                    zero_output_for_mask=self.zero_output_for_mask,
                    return_sequences=self.return_sequences,
                    need_states=self.return_state or self.stateful,
                )
                if result is not None:
                    return result
            if self.use_cudnn is True:
                raise ValueError(
                    f"Layer '{self.name}': use_cudnn=True was specified, but the fused (cuDNN) "
                    "kernel does not support this layer configuration or input. Pass "
                    "use_cudnn='auto' to fall back to the step loop."
                )
        return super().inner_loop(sequences, initial_state, mask, training, constants)

    def _fused_common_ok(self, training):
        cell = self.cell
        return (
            not self.unroll
            and cell.activation is activations.tanh
            and cell.recurrent_activation is activations.sigmoid
            and not (training and cell.recurrent_dropout > 0)
            and not (training and cell.dropout > 0 and getattr(cell, "implementation", 2) == 1)
        )

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        if not self._config_has_seed:
            cell_config.pop("seed", None)
        config.update(cell_config)
        config["activity_regularizer"] = serialization_lib.serialize_keras_object(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def check_use_cudnn(use_cudnn):
    if use_cudnn not in ("auto", True, False):
        raise ValueError(
            "Invalid value received for argument `use_cudnn`. Expected one of "
            f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn!r}"
        )


def cell_kwargs(kwargs):
    """The layer kwargs a Keras layer also hands to its cell (dtype, trainable)."""
    return {"dtype": kwargs.get("dtype"), "trainable": kwargs.get("trainable", True)}
