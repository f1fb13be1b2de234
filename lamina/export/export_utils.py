"""Input signatures for export: which inputs a model takes, as Keras describes them.

An input signature is a list with one entry per positional argument of the exported function; each
entry is a structure (one spec, a list or a dict) of ``InputSpec``, ``KerasTensor`` or tensors.
``None`` dimensions stay dynamic in the exported program: torch traces with a sample value and
``torch.export.Dim.AUTO`` lets it keep the dimension symbolic (or fix it where the model needs a
fixed size).
"""

import numpy as np
import torch

from lamina.backend.core import standardize_shape
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.layers.input_spec import InputSpec

# Sample sizes for `None` dimensions while tracing. Not 0 or 1: torch specializes those to
# constants. Other dimensions get room for a few stride-2 convolutions or pooling steps.
_SAMPLE_BATCH = 2
_SAMPLE_OTHER = 32


def get_input_signature(model):
    """The input signature of a built model: one entry per positional argument of its call."""
    from lamina.models import Functional, Model, Sequential

    if not isinstance(model, Model):
        raise TypeError(
            f"The model must be a `lamina.Model`. Received: model={model} of type {type(model)}"
        )
    if not model.built:
        raise ValueError("The model provided has not yet been built. It must be built before export.")
    if isinstance(model, Sequential):
        return _map_specs(make_input_spec, model.inputs)
    if isinstance(model, Functional):
        # One positional argument holding the whole (possibly nested) input structure.
        return [_map_specs(make_input_spec, model._inputs_struct)]
    shapes = model._build_shapes
    if shapes is None:
        raise ValueError(
            f"The model '{model.name}' has never been called. Call it once on real data (or pass "
            "`input_signature`) before export."
        )
    dtype = model.compute_dtype
    return [_specs_from_shapes(shapes, dtype)]


def _specs_from_shapes(shapes, dtype):
    if isinstance(shapes, dict):
        return {k: _specs_from_shapes(v, dtype) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and all(d is None or isinstance(d, int) for d in shapes):
        return InputSpec(shape=(None,) + tuple(shapes)[1:], dtype=dtype)
    return [_specs_from_shapes(s, dtype) for s in shapes]


def make_input_spec(x):
    """An ``InputSpec`` with a shape and dtype from an ``InputSpec``, ``KerasTensor`` or tensor.

    Tensors (and ``KerasTensor``s) give their shape with the batch dimension made dynamic.
    """
    if isinstance(x, InputSpec):
        if x.shape is None or x.dtype is None:
            raise ValueError(
                f"An `InputSpec` in `input_signature` needs both `shape` and `dtype`. Received: {x}"
            )
        return x
    if getattr(x, "_is_keras_tensor", False):
        shape = (None,) + standardize_shape(x.shape)[1:]
        return InputSpec(shape=shape, dtype=x.dtype, name=x.name)
    if isinstance(x, (torch.Tensor, np.ndarray)):
        shape = (None,) + tuple(int(d) for d in x.shape)[1:]
        return InputSpec(shape=shape, dtype=standardize_dtype(x.dtype))
    raise TypeError(
        f"Unsupported entry {x!r} of type {type(x).__name__} in `input_signature`. Expected "
        "`lamina.InputSpec` (with shape and dtype), `lamina.KerasTensor` or a tensor."
    )


def standardize_signature(input_signature):
    """``input_signature`` as a list of ``InputSpec`` structures, one per positional argument."""
    if isinstance(input_signature, (InputSpec, torch.Tensor, np.ndarray)) or getattr(
        input_signature, "_is_keras_tensor", False
    ):
        input_signature = [input_signature]
    if not isinstance(input_signature, (list, tuple)):
        raise TypeError(
            "`input_signature` must be a list with one entry per positional argument (an "
            f"`InputSpec`, `KerasTensor` or tensor, or a list/dict of them). Received: {input_signature!r}"
        )
    return [_map_specs(make_input_spec, spec) for spec in input_signature]


def sample_inputs(signature, device=None):
    """Tensors matching ``signature`` (ones), with the sample sizes above for ``None`` dims."""

    def sample(spec):
        shape = tuple(
            d if d is not None else (_SAMPLE_BATCH if i == 0 else _SAMPLE_OTHER)
            for i, d in enumerate(spec.shape)
        )
        return torch.ones(shape, dtype=to_torch_dtype(spec.dtype), device=device)

    return tuple(_map_specs(sample, spec) for spec in signature)


def dynamic_shapes(signature, batch_name=None):
    """``dynamic_shapes`` for ``torch.export`` marking every ``None`` dimension as automatic.

    With ``batch_name``, the first input's batch dimension is given that name instead (torch's
    ONNX exporter names the graph's dimension after it; the other inputs' batch dimensions join
    it when the model combines them).
    """
    named = []

    def dims(spec):
        found = {i: torch.export.Dim.AUTO for i, d in enumerate(spec.shape) if d is None}
        if batch_name is not None and not named and 0 in found:
            found[0] = batch_name
            named.append(spec)
        return found or None

    shapes = tuple(_map_specs(dims, spec) for spec in signature)
    return shapes if any(s is not None for s in flatten_specs(shapes)) else None


def _map_specs(fn, structure):
    # Not `tree.map_structure`: `fn` may return None, which must stay in place as a leaf.
    if isinstance(structure, dict):
        return {k: _map_specs(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_specs(fn, v) for v in structure)
    return fn(structure)


def flatten_specs(structure):
    """The leaves of a structure of specs (lists, tuples and dicts), in order."""
    if isinstance(structure, dict):
        return [x for v in structure.values() for x in flatten_specs(v)]
    if isinstance(structure, (list, tuple)):
        return [x for v in structure for x in flatten_specs(v)]
    return [structure]


def input_names(signature):
    """One name per flattened input: the spec's own name, else ``input_<i>``."""
    flat = flatten_specs(list(signature))
    return [getattr(spec, "name", None) or f"input_{i}" for i, spec in enumerate(flat)]
