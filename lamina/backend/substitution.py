"""Run code with variables standing for other tensors: the engine of the stateless calls.

Lamina's variables are the tensors layers compute with, so a pure function of *given* values
(Keras's ``stateless_call``, usable under ``torch.func.grad``/``vmap``) needs every torch operation
that reads a variable to read its substitute instead -- gradients must flow to the substitute,
which swapping storage (``StatelessScope``) cannot do. A ``TorchFunctionMode`` does exactly that,
for the duration of the ``with`` block only; assignments are collected by a ``StatelessScope``
and read back through it, so no variable changes.
"""

import contextlib

import torch
from torch.overrides import TorchFunctionMode

from lamina.backend.stateless_scope import StatelessScope

# Reading or replacing a variable's storage is the scope's own bookkeeping: leave it alone.
_PASSTHROUGH = {torch.Tensor.data.__get__, torch.Tensor.data.__set__}


class _Substitute(TorchFunctionMode):
    def __init__(self, mapping, scope):
        super().__init__()
        self._mapping = mapping
        self._scope = scope

    def _value(self, x):
        if not getattr(x, "_is_lamina_variable", False):
            return x
        updated = self._scope.get_current_value(x)
        if updated is not None:
            return updated
        return self._mapping.get(id(x), x)

    def _map(self, x):
        # Torch functions take variables at the top level or in (nested) lists, tuples and dicts.
        if isinstance(x, (list, tuple)):
            return type(x)(self._map(item) for item in x)
        if isinstance(x, dict):
            return {key: self._map(item) for key, item in x.items()}
        return self._value(x)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _PASSTHROUGH:
            return func(*args, **kwargs)
        args = self._map(args) if args else args
        kwargs = self._map(kwargs) if kwargs else kwargs
        return func(*args, **kwargs)


class _RecordingScope(StatelessScope):
    """Records assignments without touching any variable's storage: reads of an assigned
    variable are answered by ``_Substitute`` (a traced value must never become a variable's
    ``.data``, or it would outlive its ``torch.func`` transform)."""

    def add_update(self, update):
        variable, value = update
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value, device=variable.device)
        self.state_mapping[id(variable)] = value.detach().to(dtype=variable.dtype)
        self._variables[id(variable)] = variable


@contextlib.contextmanager
def substituted(variables, values, collect_losses=False):
    """Inside the block, each of ``variables`` computes as the matching tensor of ``values``.

    Yields the ``StatelessScope`` collecting the block's assignments (``get_current_value``) and,
    with ``collect_losses``, its losses. Values keep their autograd history (gradients reach
    them, not the variables).
    """
    if len(variables) != len(values):
        raise ValueError(f"Expected {len(variables)} values, received {len(values)}.")
    mapping = {}
    for variable, value in zip(variables, values):
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value, device=variable.device)
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"The value for variable '{variable.path}' has shape {tuple(value.shape)}; "
                f"expected {tuple(variable.shape)}."
            )
        if value.dtype != variable.dtype:
            value = value.to(variable.dtype)
        mapping[id(variable)] = value
    scope = _RecordingScope(collect_losses=collect_losses)
    with scope, _Substitute(mapping, scope):
        yield scope


def current_values(scope, variables, values):
    """The values of ``variables`` after a ``substituted`` block: assigned ones, else as given."""
    out = []
    for variable, value in zip(variables, values):
        updated = scope.get_current_value(variable)
        out.append(value if updated is None else updated)
    return out
