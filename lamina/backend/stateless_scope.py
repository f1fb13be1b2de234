"""``StatelessScope`` and ``SymbolicScope``: run code against substitute variable values, or
symbolically, without changing any variable.

Lamina's variables are the tensors layers compute with, so a ``StatelessScope`` swaps each mapped
variable's storage for its substitute value on entry and puts the original back on exit. Inside the
scope a variable reads its mapped (or last assigned) value; ``assign``/``assign_add``/``assign_sub``
are collected by the scope (``get_current_value``) instead of being applied. Substitute values are
copies: gradients computed inside the scope reach the variables' ``.grad``, not the mapped tensors.
"""

import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.variables import SCOPE


class StatelessScope:
    """Scope in which no variable is updated in place; new values are collected instead.

    Args:
        state_mapping: List of ``(variable, value)`` pairs: inside the scope ``variable`` holds
            ``value`` (cast to the variable's dtype; the shape must match).
        collect_losses: If ``True``, losses added by layers in the scope are also gathered in
            ``scope.losses``.
        initialize_variables: Accepted for Keras compatibility (Lamina variables always hold
            a value, so there is nothing left to initialize on exit).

    Example:

    >>> mapping = [(w, np.ones(w.shape)) for w in model.weights]
    >>> with lamina.StatelessScope(mapping) as scope:
    ...     outputs = model(inputs)
    >>> new_values = [scope.get_current_value(w) for w in model.weights]
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses = []
        self.state_mapping = {}
        self._variables = {}
        self._saved = {}
        self._parent = None
        for variable, value in state_mapping or ():
            if not getattr(variable, "_is_lamina_variable", False):
                raise ValueError(
                    "Invalid reference variable in StatelessScope: all keys in argument `mapping` "
                    f"must be Variable instances. Received instead: {variable!r}"
                )
            value = self._as_value(variable, value)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    "Invalid variable value in StatelessScope: all values in argument `mapping` "
                    "must be tensors with a shape that matches the corresponding variable shape. "
                    f"For variable {variable.path}, received a value with shape "
                    f"{tuple(value.shape)} (expected {tuple(variable.shape)})."
                )
            self.state_mapping[id(variable)] = value
            self._variables[id(variable)] = variable

    @staticmethod
    def _as_value(variable, value):
        if isinstance(value, torch.Tensor):
            value = value.detach()
        else:
            value = convert_to_tensor(value)
        return value.to(device=variable.device, dtype=variable.dtype).clone()

    def _swap_in(self, variable, value):
        if id(variable) not in self._saved:
            self._saved[id(variable)] = (variable, variable.data)
        variable.data = value

    def __enter__(self):
        self._parent = SCOPE.stateless
        SCOPE.stateless = self
        for key, value in self.state_mapping.items():
            self._swap_in(self._variables[key], value)
        return self

    def __exit__(self, *exc):
        for variable, data in self._saved.values():
            variable.data = data
        self._saved = {}
        SCOPE.stateless = self._parent
        self._parent = None

    def add_update(self, update):
        """Record ``(variable, value)``: the variable reads ``value`` for the rest of the scope."""
        variable, value = update
        value = self._as_value(variable, value)
        self.state_mapping[id(variable)] = value
        self._variables[id(variable)] = variable
        if SCOPE.stateless is self:
            self._swap_in(variable, value)

    def add_loss(self, loss):
        self.losses.append(loss)

    def get_current_value(self, variable):
        """The value ``variable`` holds in this scope (mapped or assigned), or ``None``."""
        return self.state_mapping.get(id(variable))


def in_stateless_scope():
    return SCOPE.stateless is not None


def get_stateless_scope():
    return SCOPE.stateless


class SymbolicScope:
    """Scope marking the symbolic stage: variable assignments are skipped and seed generators do
    not advance (what Lamina does while it infers output shapes)."""

    def __enter__(self):
        self._previous = SCOPE.symbolic
        SCOPE.symbolic = True
        return self

    def __exit__(self, *exc):
        SCOPE.symbolic = self._previous


def in_symbolic_scope():
    return SCOPE.symbolic
