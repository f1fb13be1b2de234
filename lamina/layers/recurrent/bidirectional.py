"""``Bidirectional``: run a recurrent layer forwards and backwards and merge the two results."""

import copy

import torch

from lamina.layers.core.wrapper import Wrapper
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed_copy(layer, prefix, **overrides):
    """A fresh layer from ``layer``'s config (new weights) named ``prefix + name``."""
    config = serialization_lib.serialize_keras_object(layer)
    name = layer.name[len(prefix):] if layer.name.startswith(prefix) else layer.name
    config["config"]["name"] = prefix + name
    config["config"].update(overrides)
    return serialization_lib.deserialize_keras_object(config)


def _merge(y, y_rev, merge_mode):
    if merge_mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if merge_mode == "sum":
        return y + y_rev
    if merge_mode == "ave":
        return (y + y_rev) / 2
    if merge_mode == "mul":
        return y * y_rev
    return [y, y_rev]


@register_builtin("keras.layers")
class Bidirectional(Wrapper):
    """Bidirectional wrapper for RNNs.

    Runs a copy of ``layer`` over the sequence and another copy (or ``backward_layer``) over the
    reversed sequence, then merges the two outputs. With ``return_sequences`` the backward
    outputs are flipped back so that step ``t`` of both halves refers to input step ``t``.
    ``layer`` itself stays available as ``self.layer`` (as in Keras 2) but is not tracked: the
    two copies hold the weights, and the config's ``"layer"`` is the forward copy (Keras 3).

    Args:
        layer: A ``lamina.layers.RNN`` instance (``LSTM``, ``GRU``, ...) or any sequence layer
            with ``go_backwards``, ``return_sequences``, ``return_state`` and ``stateful``
            attributes and a working ``get_config``. Two new layers are made from its config
            (named ``forward_<name>`` and ``backward_<name>``), so its own weights are not
            reused.
        merge_mode: How the forward and backward outputs are combined: ``"concat"`` (default),
            ``"sum"``, ``"mul"``, ``"ave"``, or ``None`` (return both, as a list).
        weights: Optional list of initial weights: the first half for the forward layer, the
            second for the backward layer (Keras 2 argument).
        backward_layer: Optional layer for the backward direction. It must have the opposite
            ``go_backwards`` and the same ``stateful``, ``return_sequences`` and
            ``return_state`` as ``layer``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs, mask, training: As for the wrapped layer.
        initial_state: List of initial states: the first half goes to the forward layer, the
            second half to the backward layer.

    Output shape:
        The wrapped layer's output shape, with the last axis doubled for ``"concat"``. With
        ``merge_mode=None`` a list ``[forward, backward]``. With ``return_state`` the merged
        output(s) are followed by the forward states, then the backward states.

    Example:

    >>> model = lamina.Sequential([
    ...     lamina.Input((5, 10)),
    ...     lamina.layers.Bidirectional(lamina.layers.LSTM(10, return_sequences=True)),
    ...     lamina.layers.Bidirectional(lamina.layers.LSTM(10)),
    ...     lamina.layers.Dense(5, activation="softmax"),
    ... ])
    """

    _tracks_wrapped_layer = False

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `Bidirectional` layer with a `lamina.layers.Layer` instance. "
                f"Received: {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                "`backward_layer` needs to be a `lamina.layers.Layer` instance. "
                f"Received: {backward_layer!r}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        # The base layer applies `weights` (forward half, then backward half) once built.
        super().__init__(layer, weights=weights or None, **kwargs)
        self.forward_layer = _renamed_copy(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = _renamed_copy(layer, "backward_", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            # Masked steps of the two halves must line up after the flip: both output zeros there.
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards={forward.go_backwards}, "
                f"backward_layer.go_backwards={backward.go_backwards}"
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            f, b = getattr(forward, attr), getattr(backward, attr)
            if f != b:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f'attribute "{attr}", got "{f}" for forward layer and "{b}" for backward layer'
                )

    def build(self, sequences_shape, initial_state_shape=None):
        for sub in (self.forward_layer, self.backward_layer):
            self._build_wrapped(sub, tuple(sequences_shape))
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if training is not None:
            kwargs["training"] = training
        if mask is not None and self.forward_layer._call_facts()[1]:
            kwargs["mask"] = mask
        forward_kwargs, backward_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            forward_kwargs["initial_state"] = states[:half]
            backward_kwargs["initial_state"] = states[half:]
        y = self.forward_layer(sequences, **forward_kwargs)
        y_rev = self.backward_layer(sequences, **backward_kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y = y.to(self._compute_torch_dtype)
        y_rev = y_rev.to(self._compute_torch_dtype)
        if self.return_sequences:
            y_rev = torch.flip(y_rev, dims=(1,))
        output = _merge(y, y_rev, self.merge_mode)
        if not self.return_state:
            return output
        if self.merge_mode is None:
            return output + states
        return [output] + states

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        output_shape = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        state_shapes = []
        if self.return_state:
            output_shape, state_shapes = output_shape[0], list(output_shape[1:])
        output_shape = tuple(output_shape)
        if self.merge_mode == "concat":
            last = output_shape[-1]
            output_shape = output_shape[:-1] + (None if last is None else 2 * last,)
            outputs = [output_shape]
        elif self.merge_mode is None:
            outputs = [output_shape, output_shape]
        else:
            outputs = [output_shape]
        if self.return_state:
            return outputs + state_shapes + state_shapes
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(getattr(self.forward_layer, "state_size", None) or ())
            return masks + [None] * (2 * count)
        return masks if self.merge_mode is None else output_mask

    @property
    def states(self):
        forward = getattr(self.forward_layer, "states", None)
        backward = getattr(self.backward_layer, "states", None)
        if forward and backward:
            return list(forward) + list(backward)
        return None

    def reset_state(self):
        """Reset the states of both halves of a stateful layer."""
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to reset its states.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialization_lib.serialize_keras_object(self.forward_layer)
        config["backward_layer"] = serialization_lib.serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = serialization_lib.deserialize_keras_object(
                backward, custom_objects=custom_objects
            )
        return super().from_config(config, custom_objects=custom_objects)
