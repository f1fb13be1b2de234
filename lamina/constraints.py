"""Weight constraints: projections applied to a variable after each optimizer update.

Layers take them through ``kernel_constraint`` and ``bias_constraint``, as a ``Constraint``
instance, a string name (``"max_norm"``, ``"non_neg"``, ...) or a config dict. A constraint only
computes the projected tensor; the caller assigns it to the variable under ``torch.no_grad()``.

Example:

>>> from lamina.constraints import max_norm
>>> model.add(Dense(64, kernel_constraint=max_norm(2.)))
"""

import math
import numbers

import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.saving import object_lookup, object_registration

_MODULE = "keras.constraints"


def _check_number(name, value, upper=None):
    """Return ``value`` as a Python number, or raise if it is not finite, non-negative (and <= upper)."""
    valid = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(float(value))
        and value >= 0
        and (upper is None or value <= upper)
    )
    if not valid:
        bound = "a finite number >= 0" if upper is None else f"a number between 0 and {upper}"
        raise ValueError(
            f"Invalid value for argument `{name}`: expected {bound}. Received: {name}={value!r}"
        )
    # numpy scalars become plain ints / floats so configs stay JSON-friendly.
    return value.item() if hasattr(value, "item") else value


def _check_axis(axis):
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
        raise ValueError(
            f"Invalid value for argument `axis`: expected an integer or a list/tuple of integers. "
            f"Received: axis={axis!r}"
        )
    return axis


def _float_weight(w):
    """Convert ``w`` once; integer weights are promoted to ``floatx()`` since they get rescaled."""
    w = convert_to_tensor(w)
    if not w.is_floating_point():
        w = w.to(to_torch_dtype(backend_config.floatx()))
    return w


def _norms(constraint, w, axis):
    """L2 norms of ``w`` along ``axis`` (kept as size-1 dims), with a clear error for a bad axis."""
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    if any(not -w.ndim <= d < w.ndim for d in dims):
        raise ValueError(
            f"{type(constraint).__name__}: axis={axis!r} is out of range for a weight of shape "
            f"{tuple(w.shape)} (rank {w.ndim})."
        )
    return torch.linalg.vector_norm(w, dim=dims, keepdim=True)


class Constraint:
    """Base class for weight constraints.

    A constraint is a stateless callable: ``__call__(w)`` takes a weight tensor and returns the
    projected tensor with the same shape and dtype (the base class returns ``w`` unchanged).
    Subclasses with constructor arguments also implement ``get_config()``.

    Example:

    >>> class NonNegative(lamina.constraints.Constraint):
    ...     def __call__(self, w):
    ...         return torch.clamp(w, min=0.0)
    """

    def __call__(self, w):
        return convert_to_tensor(w)

    def get_config(self):
        """Return the constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Create a constraint from the dict returned by ``get_config()``."""
        return cls(**config)


class MaxNorm(Constraint):
    """Rescales weight vectors whose L2 norm exceeds ``max_value`` down to that norm.

    Computes ``w * clip(norm, 0, max_value) / (epsilon() + norm)`` with ``norm`` taken along
    ``axis``, so vectors already inside the bound are (up to ``epsilon()``) left as they are.

    Args:
        max_value: The largest norm allowed for each weight vector (default 2).
        axis: Integer or list of integers, the axes along which norms are taken. For a ``Dense``
            kernel of shape ``(input_dim, units)``, ``axis=0`` bounds each unit's incoming weights.
            For a ``Conv2D`` kernel ``(rows, cols, in, out)``, ``axis=[0, 1, 2]`` bounds each filter.

    Example:

    >>> MaxNorm(2.0)(torch.tensor([[3.0], [4.0]]))
    tensor([[1.2000],
            [1.6000]])
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _check_number("max_value", max_value)
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _float_weight(w)
        norms = _norms(self, w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (backend_config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero.

    Example:

    >>> NonNeg()(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def __call__(self, w):
        w = convert_to_tensor(w)
        # Multiplying by the mask (rather than `where`) keeps NaNs visible, as Keras does.
        return w * (w >= 0).to(w.dtype)


class UnitNorm(Constraint):
    """Rescales each weight vector to unit L2 norm: ``w / (epsilon() + norm)``.

    Args:
        axis: Integer or list of integers, the axes along which norms are taken (see ``MaxNorm``).

    Example:

    >>> UnitNorm(axis=1)(torch.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """

    def __init__(self, axis=0):
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _float_weight(w)
        return w / (backend_config.epsilon() + _norms(self, w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the L2 norm of each weight vector into ``[min_value, max_value]``.

    The target norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm`` and the
    weights are scaled by ``target / (epsilon() + norm)``: ``rate=1.0`` enforces the bounds
    strictly, a smaller rate moves the norm part of the way at each step.

    Args:
        min_value: The smallest norm allowed (default 0.0).
        max_value: The largest norm allowed (default 1.0).
        rate: Number in ``[0, 1]``, how far to move towards the interval at each call (default 1.0).
        axis: Integer or list of integers, the axes along which norms are taken (see ``MaxNorm``).

    Example:

    >>> MinMaxNorm(min_value=1.0, max_value=2.0, axis=1)(torch.tensor([[0.3, 0.4]]))
    tensor([[0.6000, 0.8000]])
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _check_number("min_value", min_value)
        self.max_value = _check_number("max_value", max_value)
        if self.min_value > self.max_value:
            raise ValueError(
                "Invalid values for arguments `min_value` and `max_value`: `min_value` must not be "
                f"greater than `max_value`. Received: min_value={min_value!r}, max_value={max_value!r}"
            )
        self.rate = _check_number("rate", rate, upper=1)
        self.axis = _check_axis(axis)

    def __call__(self, w):
        w = _float_weight(w)
        norms = _norms(self, w, self.axis)
        clipped = torch.clamp(norms, self.min_value, self.max_value)
        desired = self.rate * clipped + (1 - self.rate) * norms
        return w * (desired / (backend_config.epsilon() + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


def _radial_sources(size, device):
    """For a ``size`` x ``size`` slice, the diagonal index whose value each cell takes.

    Cells are grouped in concentric square rings around the centre (the centre cell for an odd
    size, the central 2x2 block for an even one). Ring ``r >= 1`` takes the value on its own
    diagonal at ``(c + r, c + r)`` with ``c = size // 2``; the centre takes ``(c, c)`` for an odd
    size and ``(c - 1, c - 1)`` for an even one. Each ring draws from a cell of the same ring, so
    applying the constraint twice changes nothing.
    """
    centre = size // 2
    positions = torch.arange(size, device=device)
    if size % 2:
        distance = (positions - centre).abs()
    else:
        distance = torch.maximum(centre - 1 - positions, positions - centre)
    ring = torch.maximum(distance[:, None], distance[None, :])
    sources = centre + ring
    if size % 2 == 0:
        sources = torch.where(ring == 0, centre - 1, sources)
    return sources


class RadialConstraint(Constraint):
    """Makes every 2D slice of a ``Conv2D`` kernel the same along each ring around its centre.

    The kernel has the Keras layout ``(rows, cols, input_depth, output_depth)`` with
    ``rows == cols``, whatever the layer's ``data_format``; it works for ``Conv2D``,
    ``Conv2DTranspose``, ``SeparableConv2D`` and ``DepthwiseConv2D`` kernels. The cells of each
    ``(rows, cols)`` slice form ``ceil(rows / 2)`` concentric square rings, and every cell of a ring
    takes the value found on that ring's diagonal. For a 4x4 slice

        [[v_00, v_01, v_02, v_03],
         [v_10, v_11, v_12, v_13],
         [v_20, v_21, v_22, v_23],
         [v_30, v_31, v_32, v_33]]

    the result is

        [[v_33, v_33, v_33, v_33],
         [v_33, v_11, v_11, v_33],
         [v_33, v_11, v_11, v_33],
         [v_33, v_33, v_33, v_33]]

    and a 3x3 slice becomes its centre ``v_11`` surrounded by ``v_22``. (Keras 2 documents the same
    two source cells for the 4x4 case with the rings the other way round; keeping each ring's own
    value makes the constraint a projection: applying it again is a no-op.)

    Example:

    >>> conv = lamina.layers.Conv2D(8, 3, kernel_constraint=RadialConstraint())
    """

    def __call__(self, w):
        w = convert_to_tensor(w)
        if w.ndim != 4 or w.shape[0] != w.shape[1]:
            raise ValueError(
                "RadialConstraint expects a Conv2D kernel of shape (rows, cols, input_depth, "
                f"output_depth) with rows == cols. Received a weight of shape {tuple(w.shape)}."
            )
        sources = _radial_sources(w.shape[0], w.device)
        return w[sources, sources]


# Snake-case spellings, as in Keras (`from keras.constraints import max_norm`): the classes themselves.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
radial_constraint = RadialConstraint

_ALL_OBJECTS = {
    "Constraint": Constraint,
    "MaxNorm": MaxNorm,
    "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg,
    "UnitNorm": UnitNorm,
    "RadialConstraint": RadialConstraint,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
    "radial_constraint": RadialConstraint,
}
for _name, _obj in _ALL_OBJECTS.items():
    object_registration.register_builtin(_MODULE, _name)(_obj)
del _name, _obj


get, serialize, deserialize = object_lookup.lookup_functions("constraint", _ALL_OBJECTS, Constraint)
