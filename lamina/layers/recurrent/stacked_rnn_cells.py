"""``StackedRNNCells``: several cells acting as one, each feeding the next."""

import inspect

import torch

from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


def _cell_output_size(cell):
    if getattr(cell, "output_size", None) is not None:
        return cell.output_size
    if isinstance(cell.state_size, (list, tuple)):
        return cell.state_size[0]
    return cell.state_size


@register_builtin("keras.layers")
class StackedRNNCells(Layer):
    """Wrapper allowing a stack of RNN cells to behave as a single cell.

    Used to implement efficient stacked RNNs: the output of each cell at a time step is the
    input of the next cell at that step.

    Args:
        cells: List of RNN cell instances.

    Example:

    >>> cells = [lamina.layers.LSTMCell(8), lamina.layers.LSTMCell(4)]
    >>> layer = lamina.layers.RNN(lamina.layers.StackedRNNCells(cells))
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    torch.Size([2, 4])
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells) if isinstance(cells, (list, tuple)) else [cells]
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(
                    "All cells must have a `call` method. Received cell without a `call` "
                    f"method: {cell}"
                )
            if getattr(cell, "state_size", None) is None:
                raise ValueError(
                    "All cells must have a `state_size` attribute. Received cell without a "
                    f"`state_size`: {cell}"
                )
        self.cells = cells

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        dtype = to_torch_dtype(self.compute_dtype)
        device = backend_config.get_device()
        states = []
        for cell in self.cells:
            get_fn = getattr(cell, "get_initial_state", None)
            if get_fn is not None:
                states.append(get_fn(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(torch.zeros((batch_size, cell.state_size), dtype=dtype, device=device))
            else:
                states.append(
                    [torch.zeros((batch_size, d), dtype=dtype, device=device) for d in cell.state_size]
                )
        return states

    def call(self, inputs, states, training=False, **kwargs):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = tree.is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            call_kwargs = dict(kwargs)
            if _takes_training(cell):
                call_kwargs["training"] = training
            inputs, cell_states = cell.call(inputs, cell_states, **call_kwargs)
            if not tree.is_nested(cell_states):
                cell_states = [cell_states]
            if len(cell_states) == 1 and not was_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell._build_shapes = tuple(input_shape)
                cell.built = True
            batch = tree.flatten(input_shape)[0]
            input_shape = (batch, _cell_output_size(cell))
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialization_lib.serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [
            serialization_lib.deserialize_keras_object(c, custom_objects=custom_objects)
            for c in config.pop("cells")
        ]
        return cls(cells, **config)


def _takes_training(cell):
    try:
        params = inspect.signature(cell.call).parameters
    except (TypeError, ValueError):
        return False
    return "training" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
