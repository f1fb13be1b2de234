"""Keras 2 backend: symbolic placeholders, ``K.function``, ``K.gradients`` and the graph-era
helpers (name scopes, uids, sparse checks).

``K.function`` runs the functional graph between Keras tensors (as tf-keras 2.x does in eager
mode, by building a ``Model``); ``K.gradients`` differentiates an eager loss with
``torch.autograd``, and on a symbolic loss records a graph node that does so when the graph runs.
"""

import contextlib

import numpy as np
import torch

from lamina.backend import config, naming
from lamina.backend.core import convert_to_numpy
from lamina.backend.legacy import training_phase
from lamina.backend.legacy._hooks import graph_builder  # layers and models, installed from above
from lamina.ops._utils import public_names

_NAME_SCOPES = []
_MANUAL_VARIABLE_INITIALIZATION = False


def _symbolic(x):
    return getattr(x, "_is_keras_tensor", False) is True


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None, ragged=False):
    """A symbolic input tensor (the output of a new ``InputLayer``), to build a graph on and
    feed through ``K.function``.

    Args:
        shape: Full shape, batch axis included (``None`` for unknown sizes).
        ndim: Number of axes, all of unknown size (used when ``shape`` is not given).
        dtype: Dtype name; defaults to ``floatx()``.
        sparse: Whether the placeholder stands for sparse data.
        name: Optional name.
        ragged: Ragged placeholders are not supported (``ValueError``).

    Example:

    >>> x = K.placeholder(shape=(2, 4, 5))
    >>> K.int_shape(x)
    (2, 4, 5)
    """
    if sparse and ragged:
        raise ValueError("Cannot set both sparse and ragged to True when creating a placeholder.")
    if ragged:
        raise ValueError("Ragged placeholders are not supported: Lamina has no ragged tensors.")
    if not shape:
        if not ndim:
            raise ValueError("`placeholder` needs `shape` or `ndim`. Received neither.")
        shape = (None,) * ndim
    return graph_builder("input")(
        batch_shape=tuple(shape), dtype=config.floatx() if dtype is None else dtype, sparse=sparse, name=name
    )


def is_keras_tensor(x):
    """Whether ``x`` is a Keras (symbolic) tensor: made by ``Input``, ``placeholder`` or a layer
    called on one. Eager tensors and variables are not.

    Raises:
        ValueError: If ``x`` is not a tensor at all (NumPy arrays and Python values included).
    """
    if _symbolic(x):
        return True
    if isinstance(x, torch.Tensor):
        return False
    raise ValueError(f"Unexpectedly found an instance of type `{type(x)}`. Expected a symbolic tensor instance.")


def is_sparse(tensor):
    """Whether ``tensor`` is a sparse torch tensor (or a symbolic tensor declared sparse)."""
    if _symbolic(tensor):
        return bool(getattr(tensor, "sparse", False))
    return isinstance(tensor, torch.Tensor) and tensor.layout != torch.strided


def _densify(tensor):
    return tensor.to_dense() if tensor.layout != torch.strided else tensor


def to_dense(tensor):
    """``tensor`` as a dense tensor (dense inputs are returned as they are). A sparse symbolic
    tensor gives a dense symbolic tensor, computed by a layer in the graph."""
    if _symbolic(tensor):
        if not getattr(tensor, "sparse", False):
            return tensor
        return graph_builder("lambda_layer")(_densify, name="to_dense")(tensor)
    if isinstance(tensor, torch.Tensor):
        return _densify(tensor)
    return tensor


@contextlib.contextmanager
def name_scope(name):
    """A context manager nesting ``name`` in the current name scope; it yields the scope's full
    prefix (``"outer/inner/"``), for naming what is created inside it."""
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. Received: {name!r}")
    _NAME_SCOPES.append(name)
    try:
        yield "".join(f"{n}/" for n in _NAME_SCOPES if n)
    finally:
        _NAME_SCOPES.pop()


def reset_uids():
    """Reset the default-name counters, so the next ``Dense`` is named ``dense`` again."""
    naming.reset_uids()


def manual_variable_initialization(value):
    """Record Keras 2's manual-initialization flag. Lamina variables, like TensorFlow 2 eager
    variables, always hold their value from creation on, so the flag changes nothing."""
    global _MANUAL_VARIABLE_INITIALIZATION
    _MANUAL_VARIABLE_INITIALIZATION = bool(value)


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """A Python function computing ``outputs`` from values fed for the symbolic ``inputs``.

    Args:
        inputs: Keras tensor or list of Keras tensors (``Input``/``placeholder``, or any layer
            output the ``outputs`` depend on).
        outputs: Keras tensor or list of them, computed from ``inputs``.
        updates: ``(variable, new_value)`` pairs, as Keras 2 took them: each ``new_value``
            (a Keras tensor computed from ``inputs``, or a value) is computed with the outputs
            and then assigned to its variable, every call. Other update ops (Keras 2 graph-mode
            operations) are refused with a ``ValueError``.
        name: Unused.

    Returns:
        A function taking the input values (a list in the order of ``inputs``) and returning the
        outputs as NumPy arrays (a list when ``outputs`` is a list).

    Example:

    >>> x = K.placeholder(shape=(None, 3))
    >>> double = K.function([x], [lamina.layers.Lambda(lambda t: 2 * t)(x)])
    >>> double([np.ones((1, 3))])
    [array([[2., 2., 2.]], dtype=float32)]
    """
    if kwargs:
        raise ValueError(f"Session keyword arguments are not supported during eager execution. You passed: {kwargs}")
    update_pairs = _update_pairs(updates)
    # Keras 2 fed the learning phase as one more input: `K.function([x, K.learning_phase()], ...)`.
    phase_at = None
    if isinstance(inputs, (list, tuple)):
        marks = [i for i, x in enumerate(inputs) if isinstance(x, training_phase.LearningPhase)]
        if len(marks) > 1:
            raise ValueError("`K.learning_phase()` can be one of the `inputs` of `K.function` only once.")
        if marks:
            phase_at = marks[0]
            inputs = [x for i, x in enumerate(inputs) if i != phase_at]
    symbolic_updates = [(i, value) for i, (_, value) in enumerate(update_pairs) if _symbolic(value)]
    graph_outputs = outputs
    if symbolic_updates:
        if isinstance(outputs, dict):
            raise ValueError("`K.function` takes symbolic `updates` with list outputs, not a dict of outputs.")
        # The new values are computed in the same pass as the outputs (from the same feed).
        graph_outputs = _as_list(outputs) + [value for _, value in symbolic_updates]
    model = graph_builder("model")(inputs=inputs, outputs=graph_outputs)
    as_list = isinstance(outputs, list)
    n_outputs = len(_as_list(outputs))
    # With `K.gradients` nodes in the graph, one pass recording from the inputs on serves the
    # outputs and the gradients (they then see the same dropout draws).
    records = _holds_gradients(graph_outputs)

    def run(model_inputs):
        training = None
        if phase_at is not None:
            model_inputs = list(model_inputs)
            if len(model_inputs) != len(inputs) + 1:
                raise ValueError(
                    f"This function takes {len(inputs) + 1} inputs (the learning phase at position "
                    f"{phase_at}); received {len(model_inputs)}."
                )
            training = bool(training_phase._check(int(model_inputs.pop(phase_at))))
            if len(model_inputs) == 1:
                model_inputs = model_inputs[0]
        if records:
            with torch.enable_grad():
                results = model(_recording_inputs(model_inputs), training=training)
        else:
            with torch.no_grad():
                results = model(model_inputs, training=training)
        new_values = {}
        if symbolic_updates:
            new_values = dict(zip((i for i, _ in symbolic_updates), results[n_outputs:]))
            results = results[:n_outputs] if as_list or n_outputs > 1 else results[0]
        for i, (variable, value) in enumerate(update_pairs):
            variable.assign(new_values.get(i, value))
        if as_list and not isinstance(results, (list, tuple)):
            results = [results]
        if isinstance(results, (list, tuple)):
            return [convert_to_numpy(r) for r in results]
        if isinstance(results, dict):
            return {k: convert_to_numpy(v) for k, v in results.items()}
        return convert_to_numpy(results)

    return run


def gradients(loss, variables):
    """Gradients of ``loss`` (summed when it is not a scalar) with respect to ``variables``.

    An eager ``loss`` must be computed from the ``variables`` (weights, or tensors on which
    ``requires_grad_()`` was set before computing it); the gradients can themselves be
    differentiated (gradient penalties).

    A symbolic ``loss`` (built from a model's tensors, as Keras 2 programs do) gives symbolic
    gradients with respect to symbolic ``variables`` (model inputs, intermediate tensors) and
    weights. ``K.function`` (or a model built on them) computes them with ``torch.autograd``
    over the recorded graph, with gradient recording on even inside ``torch.no_grad()``;
    weights' ``.grad`` stays untouched. A gradient with respect to an intermediate tensor holds
    the rest of the graph fixed, as ``tf.gradients`` does.

    Returns:
        A list with one gradient per variable, ``None`` where ``loss`` does not depend on it
        (for a symbolic ``loss``: a symbolic tensor it is not computed from, or one of an
        integer dtype).

    Example:

    >>> x = K.placeholder(shape=(None, 3))
    >>> loss = K.sum(K.square(x))
    >>> grad = K.gradients(loss, x)[0]
    >>> K.function([x], [grad])([np.ones((1, 3))])
    [array([[2., 2., 2.]], dtype=float32)]
    """
    variables = _as_list(variables)
    if _symbolic(loss):
        return graph_builder("gradients")(loss, variables)
    if any(_symbolic(v) for v in variables):
        raise ValueError(
            "`gradients` with respect to symbolic tensors needs a symbolic `loss` computed from "
            f"them; received an eager one: {type(loss).__name__}."
        )
    if isinstance(loss, torch.Tensor) and not loss.requires_grad and not torch.is_grad_enabled():
        # Keras 2 graphs could be differentiated anywhere; eager torch records nothing while
        # gradients are off, so answering None would look like "not connected".
        raise RuntimeError(
            "`gradients` was called while gradient recording is off (inside `predict`, "
            "`evaluate`, validation or `torch.no_grad()`), so no graph links `loss` to "
            "`variables`. Call it in a training step, or compute the quantity without gradients."
        )
    if not isinstance(loss, torch.Tensor):
        return [None] * len(variables)
    return autograd_gradients(loss, variables, create_graph=True)


def autograd_gradients(loss, targets, create_graph):
    """Gradients of ``loss`` (summed) with respect to ``targets``, by torch autograd.

    ``None`` where a target records nothing or the loss does not reach it. The graph is kept
    (other gradients of the same loss may follow); ``create_graph`` makes the gradients
    differentiable in turn.
    """
    wanted = [i for i, t in enumerate(targets) if isinstance(t, torch.Tensor) and t.requires_grad]
    grads = [None] * len(targets)
    if wanted and loss.requires_grad:
        found = torch.autograd.grad(
            loss,
            [targets[i] for i in wanted],
            grad_outputs=torch.ones_like(loss),
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
        for i, g in zip(wanted, found):
            grads[i] = g
    return grads


def _holds_gradients(outputs):
    """Whether a ``K.gradients`` node computes any of ``outputs`` (walking up their history)."""
    pending = [t for t in _flat(outputs) if _symbolic(t)]
    seen = set()
    while pending:
        history = pending.pop()._keras_history
        if history is None or (id(history[0]), history[1]) in seen:
            continue
        seen.add((id(history[0]), history[1]))
        if getattr(history[0], "_is_symbolic_gradients", False):
            return True
        pending.extend(history[0]._inbound_nodes[history[1]].input_tensors)
    return False


def _flat(values):
    if isinstance(values, dict):
        return list(values.values())
    return list(values) if isinstance(values, (list, tuple)) else [values]


def recording(x):
    """Tensor ``x`` as a leaf that records gradients, when it is floating and does not yet."""
    return x.detach().requires_grad_(True) if x.is_floating_point() and not x.requires_grad else x


def _recording_inputs(values):
    """``values`` (one input or a list) with floating arrays as tensors that record gradients."""

    def record(x):
        if _symbolic(x) or isinstance(x, (str, bytes)):
            return x
        if isinstance(x, torch.Tensor) or (hasattr(x, "__array__") and np.asarray(x).dtype.kind == "f"):
            return recording(torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x))
        return x

    if isinstance(values, (list, tuple)):
        return [record(x) for x in values]
    if isinstance(values, dict):
        return {k: record(x) for k, x in values.items()}
    return record(values)


def _update_pairs(updates):
    """``updates`` as a list of ``(variable, new_value)`` pairs, checked."""
    pairs = []
    for update in _as_list(updates) if updates else []:
        if not (isinstance(update, tuple) and len(update) == 2):
            raise ValueError(
                "`updates` of `K.function` must be `(variable, new_value)` pairs; Keras 2 graph-mode "
                f"update operations are not supported. Received: {update!r}"
            )
        variable, value = update
        if not callable(getattr(variable, "assign", None)) or _symbolic(variable):
            raise ValueError(
                f"The first entry of each pair in `updates` must be a variable (`K.variable`, a weight). "
                f"Received: {variable!r}"
            )
        pairs.append((variable, value))
    return pairs


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


__all__ = public_names(globals(), __name__)
