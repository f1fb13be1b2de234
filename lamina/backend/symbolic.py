"""Symbolic tensors, graph nodes, recording ops on them, and output-shape inference on ``meta`` tensors.

Calling a layer on a ``KerasTensor`` records a ``Node`` and returns new ``KerasTensor``s whose
shapes are inferred by running ``call`` on fake tensors (torch's ``FakeTensorMode``: meta storage,
no memory, no compute). Fake rather than plain meta tensors because a layer's real weights take
part in the computation and plain meta tensors refuse to mix with them. Unknown
(``None``) dimensions are filled with two different stand-in sizes; an output dimension that changes
between the two runs depends on an unknown input dimension and stays ``None``.

An op called on symbolic tensors (``x + 1``, ``ops.mean(x)``) is recorded as a graph node. The
nodes are layers (``lamina.layers.core.tensor_op``), two floors up: the layers package installs its
recorder here when it loads (``set_op_recorder``), so the ground floor never imports it.
"""

import functools

import numpy as np
import torch

from lamina.backend import tree
from lamina.backend.config import get_device
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.torch_compat import FakeTensorMode

# Two stand-in sizes for unknown dimensions; small so that shape-dependent code stays cheap.
_PROBE_SIZES = (2, 3)


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown dims), a dtype, and the layer that made it.

    Args:
        shape: Tuple of ints or ``None``, batch dimension included.
        dtype: Dtype name; defaults to ``"float32"``.
        sparse: Whether the tensor stands for sparse data (kept for the Keras API).
        name: Optional name.
    """

    _is_keras_tensor = True

    def __init__(self, shape, dtype="float32", sparse=False, name=None, record_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.name = name
        self._keras_history = None
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no truth value: it has no data yet.")

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no length; use `.shape`.")

    def __iter__(self):
        raise TypeError("A symbolic KerasTensor cannot be iterated over; use `.shape`.")

    # Operators record a node that applies the named function at run time (see tensor_op.py).
    def _op(self, name, *others, **kwargs):
        return record_op(name, self, *others, **kwargs)

    def __add__(self, o):
        return self._op("add", o)

    def __radd__(self, o):
        return self._op("radd", o)

    def __sub__(self, o):
        return self._op("subtract", o)

    def __rsub__(self, o):
        return self._op("rsubtract", o)

    def __mul__(self, o):
        return self._op("multiply", o)

    def __rmul__(self, o):
        return self._op("rmultiply", o)

    def __truediv__(self, o):
        return self._op("true_divide", o)

    def __rtruediv__(self, o):
        return self._op("rtrue_divide", o)

    def __floordiv__(self, o):
        return self._op("floor_divide", o)

    def __pow__(self, o):
        return self._op("power", o)

    def __rpow__(self, o):
        return self._op("rpower", o)

    def __matmul__(self, o):
        return self._op("matmul", o)

    def __rmatmul__(self, o):
        return self._op("rmatmul", o)

    def __neg__(self):
        return self._op("negative")

    def __abs__(self):
        return self._op("absolute")

    def __getitem__(self, key):
        return self._op("getitem", key=key)

    def __lt__(self, o):
        return self._op("less", o)

    def __le__(self, o):
        return self._op("less_equal", o)

    def __gt__(self, o):
        return self._op("greater", o)

    def __ge__(self, o):
        return self._op("greater_equal", o)

    # As in Keras: `!=` builds a node, `==` stays identity (tensors are dict keys and list items).
    def __ne__(self, o):
        return self._op("not_equal", o)

    def __rfloordiv__(self, o):
        return self._op("rfloor_divide", o)

    def __mod__(self, o):
        return self._op("mod", o)

    def __rmod__(self, o):
        return self._op("rmod", o)

    def __and__(self, o):
        return self._op("logical_and", o)

    def __rand__(self, o):
        return self._op("rlogical_and", o)

    def __or__(self, o):
        return self._op("logical_or", o)

    def __ror__(self, o):
        return self._op("rlogical_or", o)

    def __xor__(self, o):
        return self._op("logical_xor", o)

    def __rxor__(self, o):
        return self._op("rlogical_xor", o)

    def __invert__(self):
        return self._op("logical_not")

    def __round__(self, ndigits=None):
        return self._op("round", decimals=ndigits or 0)


_RECORDER = []  # the layers package's ``apply_tensor_op``, once it has loaded


def set_op_recorder(recorder):
    """Install ``recorder(name, *args, **kwargs)``, which records an op call as a graph node and
    returns its symbolic outputs (``lamina.layers.core.tensor_op`` installs it when it loads)."""
    _RECORDER[:] = [recorder]


def record_op(name, *args, **kwargs):
    """Record the op ``name`` called on symbolic tensors as a graph node; return the outputs."""
    if not _RECORDER:
        raise RuntimeError(
            f"Cannot record the operation {name!r} on a symbolic tensor: the graph recorder is "
            "installed by `lamina.layers`; `import lamina` first."
        )
    return _RECORDER[0](name, *args, **kwargs)


def holds_keras_tensor(values):
    """Whether ``values`` (an op's arguments) hold a symbolic tensor, at the top or one list deep."""
    for v in values:
        if getattr(v, "_is_keras_tensor", False):
            return True
        if isinstance(v, (list, tuple)):
            for item in v:
                if getattr(item, "_is_keras_tensor", False):
                    return True
    return False


def records_keras_op(name):
    """Decorate an op so that a call on symbolic tensors records a Keras operation node ``name``
    (the ``keras_op_table`` entry, which saves and loads like Keras's) instead of computing."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if holds_keras_tensor(args) or holds_keras_tensor(kwargs.values()):
                return record_op(name, *args, **kwargs)
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def is_keras_tensor(x):
    return getattr(x, "_is_keras_tensor", False) is True


def any_symbolic(*structures):
    """Whether a ``KerasTensor`` sits anywhere in ``structures``."""
    for s in structures:
        # Asked on every layer call, mostly of `args` and `kwargs` such as {"training": True}:
        # their direct entries are checked without flattening.
        if not tree.is_nested(s):
            if getattr(s, "_is_keras_tensor", False):
                return True
            continue
        for entry in s.values() if isinstance(s, dict) else s:
            if tree.is_nested(entry):
                if any_symbolic(entry):
                    return True
            elif getattr(entry, "_is_keras_tensor", False):
                return True
    return False


class Node:
    """One call of a layer in a graph: the call's arguments and the symbolic outputs.

    ``arguments`` is ``(args, kwargs)`` with ``KerasTensor``s left in place; ``input_tensors`` are
    those tensors in flattening order.
    """

    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.input_tensors = [
            t for t in tree.flatten([self.call_args, self.call_kwargs]) if is_keras_tensor(t)
        ]
        self.outputs = outputs
        self.output_tensors = [t for t in tree.flatten(outputs) if is_keras_tensor(t)]
        self.parent_nodes = []
        for t in self.input_tensors:
            if t._keras_history is not None:
                parent_layer, node_index, _ = t._keras_history
                parent = parent_layer._inbound_nodes[node_index]
                if parent not in self.parent_nodes:
                    self.parent_nodes.append(parent)
                parent_layer._outbound_nodes.append(self)
        node_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (layer, node_index, i)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def input_shapes(self):
        return tree.map_structure(
            lambda t: t.shape if is_keras_tensor(t) else None, self._primary_input()
        )

    @property
    def output_shapes(self):
        return tree.map_structure(lambda t: t.shape, self.outputs)

    def _primary_input(self):
        if self.call_args:
            return self.call_args[0]
        return next(iter(self.call_kwargs.values()), None)


def _meta_value(x, probe):
    if is_keras_tensor(x):
        shape = tuple(probe if d is None else d for d in x.shape)
        if x.dtype == "string":
            # String data is a numpy array at run time (torch has no string tensors): so here too.
            return np.full(shape, "", dtype=str)
        return torch.empty(shape, dtype=to_torch_dtype(x.dtype), device=get_device())
    return x


def run_on_meta(fn, args, kwargs):
    """Run ``fn`` with KerasTensors replaced by meta tensors; return the output shapes and dtypes.

    Returns a structure of ``(shape, dtype)`` pairs mirroring ``fn``'s output, with ``None`` where
    a dimension depends on an unknown input dimension.
    """
    has_unknown = any(
        d is None for t in tree.flatten([args, kwargs]) if is_keras_tensor(t) for d in t.shape
    )
    results = []
    with FakeTensorMode(allow_non_fake_inputs=True):
        for probe in _PROBE_SIZES if has_unknown else _PROBE_SIZES[:1]:
            meta_args = tree.map_structure(lambda x: _meta_value(x, probe), args)
            meta_kwargs = tree.map_structure(lambda x: _meta_value(x, probe), kwargs)
            results.append(fn(*meta_args, **meta_kwargs))
    first = results[0]
    flat_first = tree.flatten(first)
    flat_other = tree.flatten(results[-1])
    specs = []
    for a, b in zip(flat_first, flat_other):
        if not isinstance(a, torch.Tensor):
            specs.append(None)
            continue
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        specs.append((shape, standardize_dtype(a.dtype)))
    return tree.pack_sequence_as(first, specs)
