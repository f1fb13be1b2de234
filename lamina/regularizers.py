"""Weight regularizers: penalties on a tensor that are added to the training loss.

A regularizer is a callable taking a weight (or an activation) tensor and returning a scalar tensor.
Layers take them through ``kernel_regularizer``, ``bias_regularizer`` and ``activity_regularizer``,
as a ``Regularizer`` instance, a string name (``"l1"``, ``"l2"``, ``"l1l2"``, ...) or a config dict.

Example:

>>> from lamina import regularizers
>>> layer = lamina.layers.Dense(
...     64,
...     kernel_regularizer=regularizers.L1L2(l1=1e-5, l2=1e-4),
...     bias_regularizer=regularizers.L2(1e-4),
...     activity_regularizer=regularizers.L2(1e-5),
... )
"""

import math
import numbers

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.saving import object_lookup, object_registration

_MODULE = "keras.regularizers"
_ORTHOGONAL_MODES = ("rows", "columns")


def _check_factor(name, value):
    """Return ``value`` as a float, or raise if it is not a finite non-negative number."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
        or value < 0
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a non-negative finite float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _as_float32(value):
    # Keras 3 keeps `L1.l1` and `OrthogonalRegularizer.factor` as float32 tensors, so the configs it
    # writes hold the float32-rounded value; storing the same keeps configs identical to Keras's.
    return float(np.float32(value))


def _float_input(x):
    """Convert ``x`` once; integer and boolean inputs are promoted to ``floatx()``."""
    x = convert_to_tensor(x)
    if not x.is_floating_point():
        x = x.to(to_torch_dtype(backend_config.floatx()))
    return x


class Regularizer:
    """Base class for regularizers.

    Subclasses implement ``__call__(x)``, which returns a scalar tensor (the penalty, added to the
    loss, so it must be differentiable), and ``get_config()`` if they are to be serialized. The
    default ``from_config`` calls the constructor with the config as keyword arguments.

    Example:

    >>> class L2Mean(lamina.regularizers.Regularizer):
    ...     def __init__(self, factor=0.01):
    ...         self.factor = factor
    ...     def __call__(self, x):
    ...         return self.factor * torch.mean(torch.square(x))
    ...     def get_config(self):
    ...         return {"factor": self.factor}
    """

    def __call__(self, x):
        x = _float_input(x)
        return x.new_zeros(())

    @classmethod
    def from_config(cls, config):
        """Create a regularizer from the dict returned by ``get_config()``."""
        return cls(**config)

    def get_config(self):
        """Return the constructor arguments as a JSON-friendly dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement `get_config()`.")


class L1L2(Regularizer):
    """Penalty on the sum of absolute values and the sum of squares of a tensor.

    ``loss = l1 * sum(abs(x)) + l2 * sum(square(x))``

    Args:
        l1: Non-negative float, the L1 factor. ``None`` means 0.
        l2: Non-negative float, the L2 factor. ``None`` means 0.

    Example:

    >>> regularizer = L1L2(l1=0.01, l2=0.01)
    >>> regularizer(torch.ones(2, 2))
    tensor(0.0800)
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_factor("l1", 0.0 if l1 is None else l1)
        self.l2 = _check_factor("l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        x = _float_input(x)
        # A zero factor contributes nothing, not `0 * sum`: that would turn an infinite weight into
        # NaN instead of letting the other term report it.
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """Penalty on the sum of absolute values of a tensor: ``loss = l1 * sum(abs(x))``.

    Args:
        l1: Non-negative float, the L1 factor (default 0.01; ``None`` also means 0.01).

    Example:

    >>> L1(0.5)(torch.tensor([1.0, -2.0]))
    tensor(1.5000)
    """

    def __init__(self, l1=0.01):
        self.l1 = _as_float32(_check_factor("l1", 0.01 if l1 is None else l1))

    def __call__(self, x):
        return self.l1 * torch.sum(torch.abs(_float_input(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """Penalty on the sum of squares of a tensor: ``loss = l2 * sum(square(x))``.

    Args:
        l2: Non-negative float, the L2 factor (default 0.01; ``None`` also means 0.01).

    Example:

    >>> L2(0.5)(torch.tensor([1.0, -2.0]))
    tensor(2.5000)
    """

    def __init__(self, l2=0.01):
        self.l2 = _check_factor("l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        return self.l2 * torch.sum(torch.square(_float_input(x)))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalty pushing the rows (or columns) of a 2D tensor to be mutually orthogonal.

    Each row (``mode="rows"``) or column (``mode="columns"``) is scaled to unit L2 norm (norms below
    ``epsilon()`` are replaced by ``epsilon()``); the penalty is ``factor`` times the mean absolute
    dot product over all distinct pairs of those vectors. It is 0 when they are orthogonal.

    Args:
        factor: Non-negative float, the strength of the penalty (default 0.01).
        mode: ``"rows"`` (default) or ``"columns"``. For a ``Dense`` kernel of shape
            ``(input_dim, units)``, ``"columns"`` makes the output units' weight vectors orthogonal.

    Example:

    >>> regularizer = OrthogonalRegularizer(factor=0.01)
    >>> regularizer(torch.eye(3))
    tensor(0.)
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _as_float32(_check_factor("factor", factor))
        if mode not in _ORTHOGONAL_MODES:
            raise ValueError(
                f"Invalid value for argument `mode`: expected one of {_ORTHOGONAL_MODES}. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, x):
        x = _float_input(x)
        if x.ndim != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. "
                f"Received: inputs.shape={tuple(x.shape)}"
            )
        axis = 1 if self.mode == "rows" else 0
        count = x.shape[1 - axis]
        if count < 2:
            raise ValueError(
                f"OrthogonalRegularizer(mode={self.mode!r}) needs at least 2 {self.mode} to compare; "
                f"received inputs.shape={tuple(x.shape)}"
            )
        # vector_norm has a zero (not NaN) gradient at a zero vector, so an all-zero row is harmless.
        norms = torch.linalg.vector_norm(x, dim=axis, keepdim=True)
        unit = x / torch.clamp(norms, min=backend_config.epsilon())
        gram = unit @ unit.T if axis == 1 else unit.T @ unit
        off_diagonal = gram * (1.0 - torch.eye(count, dtype=gram.dtype, device=gram.device))
        # The Gram matrix is symmetric: each pair appears twice among count * (count - 1) entries.
        return self.factor * torch.sum(torch.abs(off_diagonal)) / (count * (count - 1))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Snake-case spellings: in Keras 3 these are the classes themselves (not factory functions), so
# `l1_l2()` has the L1L2 defaults of 0.0, unlike Keras 2's `l1_l2(l1=0.01, l2=0.01)` function.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_ALL_OBJECTS = {
    "Regularizer": Regularizer,
    "L1": L1,
    "L2": L2,
    "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "l1": L1,
    "l2": L2,
    "l1_l2": L1L2,
    "l1l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}
for _name, _obj in _ALL_OBJECTS.items():
    object_registration.register_builtin(_MODULE, _name)(_obj)
del _name, _obj


get, serialize, deserialize = object_lookup.lookup_functions("regularizer", _ALL_OBJECTS, Regularizer)
