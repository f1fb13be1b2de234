"""Check a batch of data against a model before any training step runs.

``fit`` / ``evaluate`` / ``predict`` read the first batch ahead and call
``check_batch_against_model``: a wrong number of inputs, missing dict keys, an input whose rank or
fixed dimensions differ from the model's ``Input``, targets that do not match the outputs, or
arrays with different numbers of samples raise a ``ValueError`` that names what was expected and
what was received, before the weights change. Models without a known input signature (subclassed
models that are not built yet) are checked for sample counts only.
"""

import math
import warnings

import numpy as np
import torch

from lamina.layers.input_spec import last_axis_adjustment
from lamina.trainers.data_adapters import unpack_x_y_sample_weight
from lamina.utils import tree


def _model_inputs(model):
    try:
        inputs = getattr(model, "inputs", None)
    except (AttributeError, ValueError):
        return None
    if not inputs or not all(hasattr(t, "shape") for t in inputs):
        return None
    return list(inputs)


def _model_outputs(model):
    try:
        outputs = getattr(model, "outputs", None)
    except (AttributeError, ValueError):
        return None
    return list(outputs) if outputs else None


def _shape(v):
    return tuple(v.shape) if hasattr(v, "shape") else None


def _check_input(value, spec, label):
    shape = _shape(value)
    if shape is None:
        return
    # String data stays a numpy array (torch has no string tensors); numbers became tensors.
    holds_strings = isinstance(value, np.ndarray) and value.dtype.kind in "US"
    wants_strings = getattr(spec, "dtype", None) == "string"
    if holds_strings != wants_strings and (holds_strings or isinstance(value, torch.Tensor)):
        expected = "strings" if wants_strings else f"dtype {spec.dtype}"
        received = f"strings (dtype {value.dtype})" if holds_strings else f"dtype {value.dtype}"
        raise ValueError(
            f"{label} expects {expected}, but the data holds {received} with shape={shape}."
        )
    expected = tuple(spec.shape)
    adjust = last_axis_adjustment(shape, expected)
    if adjust == 1:
        shape = shape + (1,)
    elif adjust == -1:
        shape = shape[:-1]
    compatible = len(shape) == len(expected) and all(
        e is None or e == s for e, s in zip(expected[1:], shape[1:])
    )
    if not compatible:
        raise ValueError(
            f"{label} is incompatible with the model: expected shape={expected} (None = any "
            f"size), but the data has shape={shape}."
        )


def _flat_inputs(model, x, inputs):
    """The input arrays in the order of ``model.inputs``."""
    names = [getattr(t, "name", None) for t in inputs]
    struct = getattr(model, "_inputs_struct", None)
    if isinstance(x, dict):
        expected = sorted(struct) if isinstance(struct, dict) else names
        missing = [k for k in expected if k not in x]
        if missing:
            raise ValueError(
                f"Missing data for input(s) {missing}: the model expects a dict with keys "
                f"{expected}. Received keys: {sorted(x)}"
            )
        extra = sorted(k for k in x if k not in expected)
        if extra:
            warnings.warn(
                f"Input dict contained keys {extra} which did not match any model input. They "
                "will be ignored by the model.",
                stacklevel=4,
            )
        return [x[k] for k in expected], expected
    flat = tree.flatten(x)
    if len(flat) != len(inputs):
        raise ValueError(
            f"The model expects {len(inputs)} input(s) {names}, but it received {len(flat)} "
            f"input array(s) with shapes {[_shape(v) for v in flat]}."
        )
    return flat, names


def _uses_compiled_loss(model):
    # Targets must match the outputs only when the compiled losses read them: an overridden
    # `compute_loss` may take targets of any structure.
    from lamina.trainers.trainer import Trainer

    return (
        getattr(model, "compiled", False)
        and getattr(model, "_compile_loss", None) is not None
        and type(model).compute_loss is Trainer.compute_loss
    )


def _outputs_with_loss(model, n):
    """How many outputs have a loss: Keras also accepts one target per such output."""
    from lamina.trainers.compile_utils import _is_serialized

    loss = model._compile_loss._user_loss
    if isinstance(loss, dict) and not _is_serialized(loss):
        return sum(v is not None for v in loss.values())
    if isinstance(loss, (list, tuple)):
        return sum(v is not None for v in loss)
    return n


def _check_targets(model, y):
    outputs = _model_outputs(model)
    if outputs is None or y is None or not _uses_compiled_loss(model):
        return
    names = model._trainer_output_names() or []
    struct = getattr(model, "_outputs_struct", None)
    keys = list(struct) if isinstance(struct, dict) else names
    n = len(outputs)
    if isinstance(y, dict):
        unknown = sorted(k for k in y if k not in keys and k not in names)
        if unknown:
            raise ValueError(
                f"Target dict has key(s) {unknown} that match no model output. The model's "
                f"outputs are {keys}. Received keys: {sorted(y)}"
            )
    elif isinstance(y, (list, tuple)):
        count = len(tree.flatten(y))
        if count not in (n, _outputs_with_loss(model, n)):
            raise ValueError(
                f"The model has {n} output(s) {names}, but the targets `y` hold {count} "
                f"arrays with shapes {[_shape(v) for v in tree.flatten(y)]}."
            )
    elif n > 1:
        raise ValueError(
            f"The model has {n} outputs {names}: pass the targets `y` as a list or a dict with one "
            f"array per output. Received a single array of shape {_shape(y)}."
        )


def _check_sample_counts(x, y, sample_weight):
    counts = {}
    for label, struct in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        sizes = [_shape(v)[0] for v in tree.flatten(struct) if _shape(v)]
        if sizes:
            counts[label] = sizes
    distinct = {s for sizes in counts.values() for s in sizes}
    if len(distinct) > 1:
        raise ValueError(
            "Data cardinality is ambiguous: the arrays of a batch must all contain the same number "
            f"of samples. Received sizes: {counts}"
        )


def check_batch_against_model(model, data, targets=True):
    """Raise ``ValueError`` if the batch ``data`` cannot be fed to ``model``.

    Args:
        model: The model.
        data: A batch: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
        targets: Whether targets are checked against the outputs (not for ``predict``).
    """
    x, y, sample_weight = unpack_x_y_sample_weight(data)
    if x is None:
        raise ValueError("The data yielded a batch without inputs `x`.")
    inputs = _model_inputs(model)
    if inputs is not None:
        # A graph model's first axis is the batch: mismatched counts would fail in the loss (as
        # in Keras), so say so clearly here. A subclassed model's `call` decides what its data
        # means (e.g. one unbatched waveform and its spectrogram), and Keras accepts it.
        _check_sample_counts(x, y, sample_weight)
        flat, names = _flat_inputs(model, x, inputs)
        for value, spec, name in zip(flat, inputs, names):
            _check_input(value, spec, f"Input '{name}' of model '{model.name}'")
    if targets:
        _check_targets(model, y)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def step_count(value):
    """A step count as given: Keras 2's documentation passes ``len(x_train) / 32`` (a float), which
    Keras 2 ran as that many steps rounded up; positive finite floats become that integer."""
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return math.ceil(value)
    return value


def check_loop_arguments(loop, positive=(), non_negative=(), validation_freq=None):
    """Refuse counts that would make ``fit`` / ``evaluate`` / ``predict`` silently do nothing.

    Args:
        loop: ``"fit"``, ``"evaluate"`` or ``"predict"`` (for the message).
        positive: ``(name, value)`` pairs that must be ``None`` or an integer >= 1.
        non_negative: ``(name, value)`` pairs that must be an integer >= 0.
        validation_freq: ``fit``'s ``validation_freq``: an integer >= 1 or a list of epochs.

    Raises:
        ValueError: naming the argument, what was expected and what was received.
    """
    for name, value in positive:
        if value is not None and not (_is_int(value) and value >= 1):
            raise ValueError(
                f"`{loop}()` expects `{name}` to be None or a positive integer. "
                f"Received: {name}={value!r}"
            )
    for name, value in non_negative:
        if not (_is_int(value) and value >= 0):
            raise ValueError(
                f"`{loop}()` expects `{name}` to be a non-negative integer. Received: {name}={value!r}"
            )
    if validation_freq is not None:
        if isinstance(validation_freq, (list, tuple)):
            valid = all(_is_int(v) and v >= 1 for v in validation_freq)
        else:
            valid = _is_int(validation_freq) and validation_freq >= 1
        if not valid:
            raise ValueError(
                f"`{loop}()` expects `validation_freq` to be a positive integer or a list of "
                f"epochs (1-based). Received: validation_freq={validation_freq!r}"
            )


def no_data_error(loop, what):
    """The error for data that yields no batch at all (e.g. arrays with 0 samples)."""
    return ValueError(
        f"`{loop}()` received no data: `{what}` yielded no batches (0 samples). Pass at least "
        "one sample."
    )
