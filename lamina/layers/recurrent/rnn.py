"""``RNN``: the base recurrent layer, driving any cell over the time axis."""

import inspect

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers._autocast import AutocastVariables
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent._rnn_loop import rnn_loop
from lamina.layers.recurrent.stacked_rnn_cells import StackedRNNCells
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


def _cell_call_info(cell):
    """(call function, whether it takes ``training``, whether it takes ``constants``)."""
    fn = cell.call
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn, False, False
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return fn, "training" in params or var_kw, "constants" in params or var_kw


def reset_dropout_masks(cell):
    """Forget the dropout masks a cell cached for the call that just ended (and its sub-cells)."""
    for name in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
        fn = getattr(cell, name, None)
        if fn is not None:
            fn()
    for sub in getattr(cell, "cells", None) or ():
        reset_dropout_masks(sub)


@register_builtin("keras.layers")
class RNN(Layer):
    """Base class for recurrent layers: applies a cell to every step of a sequence.

    The cell is any object with ``call(inputs, states, training=None) -> (output, new_states)``
    and a ``state_size`` attribute (an integer or a list with one entry per state); it may also
    define ``output_size`` and ``get_initial_state(batch_size)``. A list of cells is wrapped in
    ``StackedRNNCells``.

    Args:
        cell: An RNN cell instance, or a list of them (stacked).
        return_sequences: Return the full output sequence instead of the last output.
        return_state: Also return the final states (``[output, *states]``).
        go_backwards: Process the input sequence backwards (outputs in processing order).
        stateful: Carry the final states of a batch over as the initial states of the next
            batch (sample ``i`` to sample ``i``); the batch size must stay fixed.
        unroll: Accepted for compatibility; Lamina always runs the eager step loop (or a fused
            kernel), which is what unrolling buys in graph frameworks.
        zero_output_for_mask: Output zeros at masked steps instead of carrying the last output.
        time_major: Keras 2: inputs and sequence outputs are ``(timesteps, batch, ...)``.

    Call arguments:
        sequences: Tensor ``(batch, timesteps, ...)``.
        initial_state: Optional list of initial state tensors.
        mask: Optional boolean ``(batch, timesteps)``; masked steps keep the previous state.
        training: Whether dropout inside the cell is active.
        constants: Keras 2: tensors passed unchanged to every ``cell.call`` as ``constants=``.

    Input shape:
        3+D tensor ``(batch_size, timesteps, ...)``.

    Output shape:
        ``(batch_size, timesteps, output_size)`` with ``return_sequences``, else
        ``(batch_size, output_size)``; with ``return_state``, followed by one
        ``(batch_size, state_size)`` tensor per state.

    Example:

    >>> cell = lamina.layers.SimpleRNNCell(4)
    >>> layer = lamina.layers.RNN(cell, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    torch.Size([2, 5, 4])
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        time_major = kwargs.pop("time_major", False)
        input_length = kwargs.pop("input_length", None)
        input_dim = kwargs.pop("input_dim", None)
        if "input_shape" not in kwargs and (input_dim is not None or input_length is not None):
            # Keras 2: `LSTM(32, input_dim=64, input_length=10)` means inputs (None, 10, 64).
            kwargs["input_shape"] = (input_length, input_dim)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (single integer or list of "
                f"integers, one integer per RNN state). Received: cell={cell}"
            )
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError(
                "`state_size` must be an integer, or a list/tuple of integers (one for each "
                f"state tensor). Received: state_size={state_size!r}"
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.time_major = bool(time_major)
        self.single_state = isinstance(state_size, int)
        self.state_size = [state_size] if self.single_state else list(state_size)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self.states = None
        self._cell_call = None

    # --- shapes and masks ---------------------------------------------------------------------
    def _batch_major_shape(self, shape):
        shape = tuple(shape)
        return (shape[1], shape[0]) + shape[2:] if self.time_major else shape

    @property
    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, (int, np.integer)):
            raise ValueError(f"`output_size` must be an integer. Received: output_size={size!r}")
        return int(size)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = self._batch_major_shape(sequences_shape)[:2]
        if self.return_sequences:
            output = (length, batch, self._output_size) if self.time_major else (batch, length, self._output_size)
        else:
            output = (batch, self._output_size)
        if not self.return_state:
            return output
        states = []
        for size in self.state_size:
            if isinstance(size, (list, tuple)):
                states.append([(batch, s) for s in size])
            else:
                states.append((batch, size))
        return [output] + states

    def compute_mask(self, inputs, mask):
        if mask is None:
            return None
        if tree.is_nested(mask):
            mask = tree.flatten(mask)[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            # One entry per state tensor (stacked cells nest their states).
            return [output_mask] + [None] * len(tree.flatten(self.state_size))
        return output_mask

    # --- building and states ------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        shape = self._batch_major_shape(sequences_shape)
        step_shape = (shape[0],) + tuple(shape[2:])
        cell = self.cell
        if isinstance(cell, Layer):
            if not cell.built:
                cell.build(step_shape)
                cell._build_shapes = step_shape
                cell.built = True
        elif callable(getattr(cell, "build", None)) and not getattr(cell, "built", False):
            cell.build(step_shape)
        if self.stateful:
            batch = shape[0]
            if batch is None and self._batch_input_shape is not None:
                batch = self._batch_input_shape[0]
            if batch is not None and self.states is None:
                self.states = self._zero_states(batch, backend_config.get_device())
        spec = self.input_spec
        if type(spec) is InputSpec and shape[-1] is not None and not spec.axes:
            # The cell's weights now fix the feature size: a later mismatch is a clear error.
            self.input_spec = InputSpec(ndim=spec.ndim, min_ndim=spec.min_ndim, axes={-1: shape[-1]})
        # Variable paths read `rnn/cell/kernel`, as in Keras, before any model sets them.
        self._refresh_paths()
        self.built = True

    def get_initial_state(self, batch_size):
        """Zero (or cell-defined) initial states for ``batch_size`` samples, as a list."""
        get_fn = getattr(self.cell, "get_initial_state", None)
        if get_fn is not None:
            state = get_fn(batch_size=batch_size)
            return list(state) if tree.is_nested(state) else [state]
        dtype = to_torch_dtype(getattr(self.cell, "compute_dtype", self.compute_dtype))
        device = backend_config.get_device()
        return [torch.zeros((batch_size, d), dtype=dtype, device=device) for d in self.state_size]

    def _zero_states(self, batch_size, device):
        states = self.get_initial_state(batch_size)
        return tree.map_structure(lambda s: torch.as_tensor(s).to(device).detach(), states)

    def reset_state(self):
        """Zero the carried states of a stateful layer."""
        if self.states is not None:
            self.states = tree.map_structure(torch.zeros_like, self.states)

    def reset_states(self, states=None):
        """Keras 2 alias of ``reset_state``; ``states`` optionally gives the new values."""
        if states is None:
            self.reset_state()
            return
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to set its states.")
        if self.states is None:
            raise ValueError(
                f"Layer '{self.name}': the states can be set only once the batch size is known "
                "(after the layer is built or called)."
            )
        current = tree.flatten(self.states)
        values = tree.flatten(states if isinstance(states, (list, tuple)) else [states])
        if len(values) != len(current):
            raise ValueError(
                f"Layer '{self.name}' expects {len(current)} states, but it received "
                f"{len(values)} state values."
            )
        new = []
        for cur, value in zip(current, values):
            value = torch.as_tensor(np.asarray(value), dtype=cur.dtype, device=cur.device)
            if tuple(value.shape) != tuple(cur.shape):
                raise ValueError(
                    f"Layer '{self.name}': expected a state of shape {tuple(cur.shape)}, "
                    f"received a value of shape {tuple(value.shape)}."
                )
            new.append(value)
        self.states = tree.pack_sequence_as(self.states, new)

    # --- calling ------------------------------------------------------------------------------
    def _prepare_initial_state(self, sequences, initial_state):
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                if self.states is None:
                    self.states = self._zero_states(batch, sequences.device)
                expected = tree.flatten(self.states)[0].shape[0]
                if expected != batch:
                    raise ValueError(
                        f"Layer '{self.name}': if an RNN is stateful, the batch size of the input "
                        f"sequences must be the same as the batch size of the states. Expected "
                        f"batch size: {expected}. Received batch size: {batch}"
                    )
                initial_state = self.states
            else:
                initial_state = self.get_initial_state(batch)
        if not tree.is_nested(initial_state):
            initial_state = [initial_state]
        initial_state = list(initial_state)
        expected = [s for s in tree.flatten(self.state_size)]
        received = tree.flatten(initial_state)
        if all(isinstance(s, (int, np.integer)) for s in expected) and len(received) != len(expected):
            raise ValueError(
                f"Layer '{self.name}' expects {len(expected)} initial state tensor(s) (state sizes "
                f"{self.state_size}), but it received {len(received)}."
            )
        dtype = sequences.dtype if sequences.is_floating_point() else self._compute_torch_dtype
        return tree.map_structure(
            lambda s: torch.as_tensor(s).to(device=sequences.device, dtype=dtype), initial_state
        )

    def call(self, sequences, initial_state=None, mask=None, training=None, constants=None):
        if self.time_major:
            sequences = sequences.transpose(0, 1)
        # The cell computes in its own dtype (a float32 cell under a mixed RNN stays float32, as
        # in Keras), the RNN returns its compute dtype.
        cell_dtype = getattr(self.cell, "_compute_torch_dtype", self._compute_torch_dtype)
        if sequences.is_floating_point() and sequences.dtype is not cell_dtype:
            sequences = sequences.to(cell_dtype)
        initial_state = self._prepare_initial_state(sequences, initial_state)
        if mask is not None:
            if tree.is_nested(mask):
                mask = tree.flatten(mask)[0]
            mask = torch.as_tensor(mask, device=sequences.device).to(torch.bool)
            if mask.dim() == 3:
                mask = mask.any(-1)
        training = bool(training) if training is not None else False
        extra = {} if constants is None else {"constants": constants}
        try:
            if getattr(self.cell, "_autocast_context", False):
                # Keras steps the cell through its `__call__` (and stacked cells theirs): each
                # reads its weights in its own autocast scope.
                with AutocastVariables(self.cell, recursive=True):
                    last, outputs, states = self.inner_loop(sequences, initial_state, mask, training, **extra)
            else:
                last, outputs, states = self.inner_loop(sequences, initial_state, mask, training, **extra)
        finally:
            reset_dropout_masks(self.cell)
        if cell_dtype is not self._compute_torch_dtype:
            last, outputs, states = tree.map_structure(
                self._to_compute_dtype, (last, outputs, list(states))
            )
        if self.stateful:
            self.states = tree.map_structure(lambda s: s.detach(), list(states))
        if self.return_sequences:
            output = outputs.transpose(0, 1) if self.time_major else outputs
        else:
            output = last
        if self.return_state:
            return [output] + list(states)
        return output

    def _to_compute_dtype(self, x):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.to(self._compute_torch_dtype)
        return x

    def inner_loop(self, sequences, initial_state, mask, training=False, constants=None):
        """Run the cell over ``sequences`` (batch-major); returns ``(last, outputs, states)``.

        Subclasses override this to use a fused kernel when it computes the same thing.
        """
        if self._cell_call is None:
            self._cell_call = _cell_call_info(self.cell)
        fn, takes_training, takes_constants = self._cell_call
        kwargs = {"training": training} if takes_training else {}
        if constants is not None:
            if not takes_constants:
                raise ValueError(
                    f"Layer '{self.name}': `constants` were passed, but the cell's `call` does "
                    "not take a `constants` argument."
                )
            kwargs["constants"] = constants

        def step(inputs, states):
            output, new_states = fn(inputs, states, **kwargs)
            if not tree.is_nested(new_states):
                new_states = [new_states]
            return output, new_states

        return rnn_loop(
            step,
            sequences,
            initial_state,
            mask=mask,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
            return_sequences=self.return_sequences,
        )

    # --- config -------------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "go_backwards": self.go_backwards,
                "stateful": self.stateful,
                "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
            }
        )
        if self.time_major:
            config["time_major"] = True
        config["cell"] = serialization_lib.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = serialization_lib.deserialize_keras_object(config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)
