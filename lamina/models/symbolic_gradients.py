"""Keras 2's ``K.gradients`` on symbolic tensors: a graph node that differentiates a subgraph.

Keras 2 programs (filter visualization, deep dream, style transfer) take the gradient of a loss
built from a model's tensors with respect to the model's input, then evaluate it with
``K.function``. ``SymbolicGradients`` is the graph operation recording that: its inputs are the
graph inputs the loss comes from, the loss and the intermediate tensors to differentiate by.

``K.function`` runs a graph holding such nodes once, recording gradients from its inputs on, and
the node asks ``torch.autograd.grad`` about the values computed in that pass (the loss and its
gradients then see the same dropout draws). Anywhere else (``predict``, ``torch.no_grad()``, an
input that records nothing) the node runs the loss's subgraph again from the graph inputs with
gradient recording on. Either way no weight's ``.grad`` changes: ``autograd.grad`` returns
gradients instead of accumulating them.
"""

import torch

from lamina.backend import symbolic
from lamina.backend.dtypes import standardize_dtype
from lamina.backend.legacy.graph import autograd_gradients, recording
from lamina.layers.layer import Layer
from lamina.models.function import Function


def _is_weight(x):
    return isinstance(x, torch.Tensor) and not symbolic.is_keras_tensor(x)


def _loss_sources(loss):
    """The graph inputs ``loss`` is computed from, the ids of every tensor on the way and the
    operations computing them."""
    roots, seen, operations = [], set(), []
    pending = [loss]
    while pending:
        tensor = pending.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        history = tensor._keras_history
        node = None if history is None else history[0]._inbound_nodes[history[1]]
        if node is None or node.is_input:
            roots.append(tensor)
            continue
        operations.append(node.layer)
        pending.extend(node.input_tensors)
    return roots, seen, operations


def _differentiable(dtype):
    return "float" in str(dtype) or "complex" in str(dtype)


class SymbolicGradients(Layer):
    """Computes, in a functional graph, the gradients of a symbolic ``loss`` (summed when it is
    not a scalar) with respect to symbolic tensors of the same graph and to weights.

    Its call takes the values of the graph inputs ``loss`` is computed from (``sources``), of
    ``loss`` and of the intermediate ``tensors``, and returns one gradient per entry of
    ``tensors``, then one per weight. Users build it through ``K.gradients``.

    Args:
        loss: The symbolic loss.
        sources: The graph inputs ``loss`` is computed from.
        tensors: Symbolic tensors on the way from ``sources`` to ``loss`` (or among
            ``sources``) to differentiate by. The gradient with respect to an intermediate
            tensor holds the rest of the graph fixed, as TensorFlow's ``tf.gradients`` does;
            the one with respect to an input follows every path.
        weights: Trainable variables (weights) to differentiate by.
    """

    _is_op_node = True  # a graph operation, not a layer: left out of `model.layers`, as in Keras
    _is_symbolic_gradients = True  # `K.function` records gradients in graphs holding one

    def __init__(self, loss, sources, tensors, weights, **kwargs):
        kwargs.setdefault("autocast", False)  # the values are differentiated in their own dtypes
        super().__init__(**kwargs)
        source_at = {id(t): i for i, t in enumerate(sources)}
        intermediates = [t for t in tensors if id(t) not in source_at]
        # Where each wanted tensor's value comes from: a source, or an extra output of the
        # subgraph (the running graph's own tensor, so autograd sees every path through it).
        self._picks = [
            ("source", source_at[id(t)]) if id(t) in source_at else ("output", 1 + intermediates.index(t))
            for t in tensors
        ]
        # Held outside torch's module registry: the subgraph's layers belong to the user's model,
        # and the weights are only referred to, not owned.
        self.__dict__["_loss_fn"] = Function(inputs=list(sources), outputs=[loss] + intermediates)
        self.__dict__["_grad_weights"] = list(weights)
        self.__dict__["_intermediates"] = intermediates
        self._n_sources = len(sources)
        # Set when another gradient node differentiates this one's outputs (second order): only
        # then does autograd build the graph of the gradients themselves.
        self._differentiated = False
        self._specs = [(tuple(t.shape), t.dtype) for t in tensors] + [
            (tuple(w.shape), standardize_dtype(w.dtype)) for w in weights
        ]
        self.built = True

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        return [symbolic.KerasTensor(shape, dtype=dtype) for shape, dtype in self._specs]

    def call(self, inputs):
        inputs = list(inputs)
        n = self._n_sources
        sources, loss, intermediates = inputs[:n], inputs[n], inputs[n + 1 :]
        create_graph = self._differentiated and torch.is_grad_enabled()
        targets = self._targets(sources, loss, intermediates)
        if not (torch.is_tensor(loss) and loss.requires_grad and all(t.requires_grad for t in targets)):
            # The values were computed without recording (or from inputs that record nothing):
            # compute the loss again, recording from the graph inputs on.
            sources = [recording(torch.as_tensor(x)) for x in sources]
            with torch.enable_grad():
                loss, *intermediates = self._loss_fn(sources)
                targets = self._targets(sources, loss, intermediates)
        return self._gradients(loss, targets, create_graph)

    def _targets(self, sources, loss, intermediates):
        outputs = [loss] + list(intermediates)
        return [sources[i] if kind == "source" else outputs[i] for kind, i in self._picks] + self._grad_weights

    @staticmethod
    def _gradients(loss, targets, create_graph):
        # A tensor that records nothing has a zero gradient (autograd refuses it). The graph is
        # kept: other gradient nodes of the same pass may differentiate this loss too.
        with torch.enable_grad():
            found = autograd_gradients(loss, targets, create_graph)
        # A tensor the loss reaches through non-differentiable ops only (rounding, argmax, a
        # stop_gradient) has a zero gradient here: the node's outputs exist in the graph already.
        return [torch.zeros_like(t) if g is None else g for g, t in zip(found, targets)]

    def get_config(self):
        raise NotImplementedError(
            f"Layer '{self.name}' is a `K.gradients` node: its graph cannot be serialized (Keras 2 "
            "could not save gradient tensors either). Rebuild it with `K.gradients` after loading."
        )


def symbolic_gradients(loss, variables):
    """``K.gradients`` for a symbolic ``loss``: one symbolic gradient per entry of
    ``variables`` (symbolic tensors or weights), ``None`` for a symbolic tensor the loss is not
    computed from or one of an integer dtype, as in Keras 2, and for a non-trainable weight
    (torch records no gradient for buffers such as BatchNormalization's moving statistics)."""
    if not symbolic.is_keras_tensor(loss):
        raise ValueError(
            "`gradients` with respect to symbolic tensors needs a symbolic `loss` computed from "
            f"them. Received: loss={loss!r}"
        )
    tensors, weights = [], []
    for v in variables:
        if symbolic.is_keras_tensor(v):
            tensors.append(v)
        elif _is_weight(v):
            if v.requires_grad:
                weights.append(v)
        else:
            raise ValueError(
                "`gradients` takes symbolic tensors and weights (variables) as `variables`. "
                f"Received: {v!r} of type {type(v).__name__}"
            )
    if not _differentiable(loss.dtype):
        raise ValueError(f"`gradients` needs a floating-point `loss`. Received dtype {loss.dtype}.")
    sources, reached, operations = _loss_sources(loss)
    wanted = [t for t in tensors if id(t) in reached and _differentiable(t.dtype)]
    wanted = list({id(t): t for t in wanted}.values())
    if not wanted and not weights:
        return [None] * len(variables)
    if not sources:
        raise ValueError(
            "`gradients` of a symbolic `loss` computed from no graph input: there is nothing to "
            f"evaluate it from. Received: loss={loss!r}"
        )
    node = SymbolicGradients(loss, sources, wanted, weights)
    for operation in operations:
        if getattr(operation, "_is_symbolic_gradients", False):
            operation._differentiated = True
    outputs = node(list(sources) + [loss] + node._intermediates)
    by_tensor = {id(t): g for t, g in zip(wanted, outputs)}
    by_weight = {id(w): g for w, g in zip(weights, outputs[len(wanted) :])}
    return [by_tensor.get(id(v)) if symbolic.is_keras_tensor(v) else by_weight.get(id(v)) for v in variables]
