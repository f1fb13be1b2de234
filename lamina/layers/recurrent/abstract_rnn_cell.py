"""``AbstractRNNCell``: the Keras 2 base class for user-written RNN cells."""

import torch

from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.layer import Layer


class _Undefined(NotImplementedError, AttributeError):
    # Also an AttributeError: `RNN` reads an optional `output_size` with `getattr(cell, name,
    # None)` and falls back to the first state size, which is what Keras 2 does for cells whose
    # subclass leaves `output_size` undefined (its own docstring example does).
    pass


class AbstractRNNCell(Layer):
    """Base class for an RNN cell to use with ``RNN``.

    A subclass defines the ``state_size`` and ``output_size`` properties and
    ``call(inputs, states)``, which returns ``(output, new_states)``; ``build`` creates its
    weights as in any layer. ``get_initial_state`` gives zero states of ``state_size``.

    Example:

    ```python
    class MinimalRNNCell(AbstractRNNCell):
        def __init__(self, units, **kwargs):
            self.units = units
            super().__init__(**kwargs)

        @property
        def state_size(self):
            return self.units

        @property
        def output_size(self):
            return self.units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

        def call(self, inputs, states):
            output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
            return output, output

    layer = keras.layers.RNN(MinimalRNNCell(32))
    ```
    """

    def call(self, inputs, states):
        """One step: ``(output, new_states)`` from the step's ``inputs`` and the ``states``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(inputs, states)`.")

    @property
    def state_size(self):
        """An integer, or a list of integers (one per state), giving each state's size."""
        raise NotImplementedError(f"{type(self).__name__} must define the `state_size` property.")

    @property
    def output_size(self):
        """An integer: the size of the cell's output."""
        raise _Undefined(f"{type(self).__name__} must define the `output_size` property.")

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Zero states: one ``(batch_size, size)`` tensor per entry of a list ``state_size`` (a
        single tensor for an integer ``state_size``). ``batch_size`` and ``dtype`` default to those of
        ``inputs``."""
        if inputs is not None:
            batch_size = inputs.shape[0]
            dtype = inputs.dtype if dtype is None else dtype
        if batch_size is None:
            raise ValueError(f"`get_initial_state` of {self.name} needs `inputs` or `batch_size`.")
        if dtype is None:
            dtype = self.compute_dtype
        torch_dtype = dtype if isinstance(dtype, torch.dtype) else to_torch_dtype(dtype)
        device = backend_config.get_device()

        def zeros(size):
            shape = (batch_size, *size) if isinstance(size, (list, tuple)) else (batch_size, size)
            return torch.zeros(shape, dtype=torch_dtype, device=device)

        size = self.state_size
        if isinstance(size, (list, tuple)):
            return [zeros(s) for s in size]
        return zeros(size)
