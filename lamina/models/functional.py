"""Functional models: a graph of layer calls from ``Input`` tensors to outputs.

At construction the graph is walked once and turned into a flat execution plan (nodes in
topological order with their argument templates), so a forward pass is a loop over that plan.
"""

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import STRING, to_torch_dtype
from lamina.layers import symbolic
from lamina.layers._call_inputs import is_string_array
from lamina.layers.core.input_layer import InputLayer
from lamina.layers.input_spec import last_axis_adjustment
from lamina.models._symbolic_losses_api import SymbolicLossesAPI
from lamina.models.model import Model, _register_functional, keras2_model_arguments
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


@_register_functional
@register_builtin("keras.models")
@register_builtin("keras")
@register_builtin("keras.src.models.functional")
class Functional(SymbolicLossesAPI, Model):
    """A model defined by its ``inputs`` and ``outputs`` symbolic tensors.

    Args:
        inputs: An ``Input`` tensor, or a list / dict of them.
        outputs: A tensor, or a list / dict of tensors, computed from ``inputs``.
        name: Model name.
    """

    # Keras writes functional models under their source module and a registered name.
    _keras_registered_name = "Functional"

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if inputs is None or outputs is None:
            kwargs = keras2_model_arguments(kwargs)
            inputs = kwargs.pop("inputs", inputs)
            outputs = kwargs.pop("outputs", outputs)
            if inputs is None or outputs is None:
                raise TypeError(f"{type(self).__name__} needs both `inputs` and `outputs`.")
        super(Model, self).__init__(name=name or _default_name(type(self)), trainable=trainable, **kwargs)
        self._setup_graph(inputs, outputs)

    def _setup_graph(self, inputs, outputs):
        if isinstance(inputs, dict):
            inputs = {k: inputs[k] for k in inputs}
        for t in tree.flatten(inputs):
            if not symbolic.is_keras_tensor(t):
                raise ValueError(
                    f"All `inputs` of a functional model must be symbolic tensors from `Input`. "
                    f"Received: {t!r}"
                )
            if t._keras_history is None or not isinstance(t._keras_history[0], InputLayer):
                # Keras allows intermediate tensors as inputs; the graph then starts there.
                pass
        for t in tree.flatten(outputs):
            if not symbolic.is_keras_tensor(t):
                raise ValueError(
                    f"All `outputs` of a functional model must be symbolic tensors produced by "
                    f"layers. Received: {t!r}"
                )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = tree.flatten(inputs)
        self.outputs = tree.flatten(outputs)
        nodes = _topological_nodes(self.inputs, self.outputs)
        layers = _keras_layer_order(nodes, self.outputs)
        names = [l.name for l in layers]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(
                f"The name {sorted(duplicates)[0]!r} is used {names.count(sorted(duplicates)[0])} "
                "times in the model. All layer names should be unique."
            )
        for layer in layers:
            self._modules[layer.name] = layer
        # Layers owned through the graph, not through attributes (saving tells the two apart).
        self.__dict__["_graph_layer_keys"] = {layer.name for layer in layers}
        self._nodes = nodes
        self._plan = [_PlanStep(n) for n in nodes if n.layer not in self._input_layers()]
        self._input_ids = [id(t) for t in self.inputs]
        self._output_ids = [id(t) for t in self.outputs]
        self._input_meta = [(t.shape, t.dtype, t.name) for t in self.inputs]
        self.built = True
        # As in Keras, the graph's layers keep their own paths ("dense/kernel", not
        # "model/dense/kernel"): they were built before the model existed. Keras code relies on
        # it, e.g. `OptimizerMap` keys and `Muon(exclude_layers=...)` patterns.
        for v in self._own_variables:
            v.path = f"{self.name}/{v.name}"
        for layer in self._direct_layers():
            # A nested graph model fixed its layers' paths when it was made (Keras keeps
            # "inner_dense/kernel", not "inner/inner_dense/kernel").
            if not isinstance(layer, Functional):
                layer._refresh_paths(_build_scope(layer))

    def _input_layers(self):
        return [t._keras_history[0] for t in self.inputs if t._keras_history is not None]

    @property
    def input_shape(self):
        shapes = tree.map_structure(lambda t: t.shape, self._inputs_struct)
        return shapes[0] if isinstance(shapes, list) and len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = tree.map_structure(lambda t: t.shape, self._outputs_struct)
        return shapes[0] if isinstance(shapes, list) and len(shapes) == 1 else shapes

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self):
        return [t.name for t in self.inputs]

    @property
    def output_names(self):
        return [t._keras_history[0].name for t in self.outputs]

    def call(self, inputs, training=None, mask=None):
        flat = self._flatten_call_inputs(inputs)
        if mask is not None:
            for x, m in zip(flat, tree.flatten(mask)):
                if m is not None and isinstance(x, torch.Tensor):
                    x._keras_mask = m
        values = dict(zip(self._input_ids, flat))
        for step in self._plan:
            step.run(values, training)
        return tree.pack_sequence_as(self._outputs_struct, [values[i] for i in self._output_ids])

    def _flatten_call_inputs(self, inputs):
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            missing = [k for k in self._inputs_struct if k not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs with keys {list(self._inputs_struct)}, "
                    f"missing {missing}. Received keys: {list(inputs)}"
                )
            flat = [inputs[k] for k in sorted(self._inputs_struct)]
        elif isinstance(inputs, dict):
            by_name = [inputs.get(name) for _, _, name in self._input_meta]
            if any(v is None for v in by_name):
                raise ValueError(
                    f"Model '{self.name}' expects inputs named {[n for _, _, n in self._input_meta]}. "
                    f"Received keys: {list(inputs)}"
                )
            flat = by_name
        else:
            flat = tree.flatten(inputs)
        if len(flat) != len(self._input_meta):
            raise ValueError(
                f"Model '{self.name}' expects {len(self._input_meta)} input(s), but it received "
                f"{len(flat)} input tensors."
            )
        return [_standardize_input(x, meta, self.name) for x, meta in zip(flat, self._input_meta)]

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # Calling a functional model on new symbolic inputs: re-run the plan symbolically.
        inputs = self._flatten_symbolic(args[0])
        values = dict(zip(self._input_ids, inputs))
        specs = []
        for step in self._plan:
            step.run_symbolic(values)
        for i in self._output_ids:
            specs.append(values[i])
        return tree.pack_sequence_as(
            self._outputs_struct,
            [symbolic.KerasTensor(t.shape, dtype=t.dtype) for t in specs],
        )

    def _flatten_symbolic(self, inputs):
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            return [inputs[k] for k in sorted(self._inputs_struct)]
        return tree.flatten(inputs)

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_build_config(self):
        # Keras records the shape a functional model was "built" with at construction: none.
        return {"input_shape": None}

    def get_config(self):
        from lamina.models.functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.models.functional_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)


class _PlanStep:
    """One node of the graph, ready to run against a dict of computed values."""

    __slots__ = ("layer", "args", "kwargs", "simple_id", "output_ids", "output_struct", "node", "fixed_training")

    def __init__(self, node):
        self.node = node
        self.layer = node.layer
        self.args = node.call_args
        self.kwargs = node.call_kwargs
        # A `training` value recorded in the graph (`Dropout()(x, training=False)`, or the
        # `training=False` Keras writes for Dropout's default) yields, as in Keras 3, to the
        # model's own `training` when that is given.
        self.fixed_training = "training" in self.kwargs
        has_kw_tensors = any(symbolic.is_keras_tensor(v) for v in tree.flatten(self.kwargs))
        if len(self.args) == 1 and symbolic.is_keras_tensor(self.args[0]) and not has_kw_tensors:
            self.simple_id = id(self.args[0])
        else:
            self.simple_id = None
        self.output_struct = node.outputs
        self.output_ids = [id(t) for t in node.output_tensors]

    def _resolve(self, values):
        def get(x):
            return values[id(x)] if symbolic.is_keras_tensor(x) else x

        args = tree.map_structure(get, self.args)
        kwargs = {k: tree.map_structure(get, v) for k, v in self.kwargs.items()}
        return args, kwargs

    def run(self, values, training=None):
        overridden = self.fixed_training and training is not None
        if self.simple_id is not None and not overridden:
            out = self.layer(values[self.simple_id], **self.kwargs)
        else:
            args, kwargs = self._resolve(values)
            if overridden:
                kwargs["training"] = training
            out = self.layer(*args, **kwargs)
        if len(self.output_ids) == 1:
            values[self.output_ids[0]] = tree.flatten(out)[0] if not isinstance(out, torch.Tensor) else out
        else:
            for i, t in zip(self.output_ids, tree.flatten(out)):
                values[i] = t

    def run_symbolic(self, values):
        args, kwargs = self._resolve(values)
        out = self.layer(*args, **kwargs)
        for i, t in zip(self.output_ids, tree.flatten(out)):
            values[i] = t


def _standardize_input(x, meta, model_name):
    shape, dtype, name = meta
    if x is None:
        raise ValueError(f"Model '{model_name}' received None for input '{name}'.")
    if dtype == STRING:
        x = _string_input(x, name, model_name)
    elif not isinstance(x, torch.Tensor):
        if is_string_array(x):
            raise ValueError(
                f"Input '{name}' of model '{model_name}' has dtype {dtype}, but it received strings "
                f"(an array of dtype {x.dtype} and shape {x.shape}). Declare it with "
                "`Input(..., dtype=\"string\")` and feed it to a StringLookup or TextVectorization."
            )
        x = convert_to_tensor(x)
    adjust = last_axis_adjustment(tuple(x.shape), shape)
    if adjust:
        mask = getattr(x, "_keras_mask", None)
        if isinstance(x, np.ndarray):  # string data
            x = np.expand_dims(x, -1) if adjust == 1 else np.squeeze(x, -1)
        else:
            x = x.unsqueeze(-1) if adjust == 1 else x.squeeze(-1)
        if mask is not None:
            x._keras_mask = mask
    if len(x.shape) != len(shape):
        raise ValueError(
            f"Input '{name}' of model '{model_name}' is incompatible: expected shape={shape}, "
            f"found shape={tuple(x.shape)}"
        )
    for expected, found in zip(shape[1:], x.shape[1:]):
        if expected is not None and expected != found:
            raise ValueError(
                f"Input '{name}' of model '{model_name}' is incompatible: expected shape={shape}, "
                f"found shape={tuple(x.shape)}"
            )
    if dtype == STRING:
        return x
    target = to_torch_dtype(dtype)
    if x.dtype != target and (x.is_floating_point() or target.is_floating_point):
        mask = getattr(x, "_keras_mask", None)
        x = x.to(target)
        if mask is not None:
            x._keras_mask = mask
    return x


def _string_input(x, name, model_name):
    """String data for a ``dtype="string"`` input: a numpy array of str (never a torch tensor)."""
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        x = np.asarray(x)
    if not is_string_array(x):
        raise ValueError(
            f"Input '{name}' of model '{model_name}' has dtype string, but it received data of dtype "
            f"{x.dtype} and shape {tuple(x.shape)}. Pass a numpy array (or nested lists) of strings."
        )
    return x


def _topological_nodes(inputs, outputs):
    """Nodes between ``inputs`` and ``outputs`` in depth-first post-order (Keras's layer order)."""
    input_ids = {id(t) for t in inputs}
    ordered, visited = [], set()

    def visit(tensor):
        history = tensor._keras_history
        if history is None:
            raise ValueError(f"Tensor {tensor!r} was not produced by a layer and is not a model input.")
        layer, node_index, _ = history
        node = layer._inbound_nodes[node_index]
        if id(node) in visited:
            return
        if id(tensor) not in input_ids:
            if node.is_input:
                raise ValueError(
                    f"Graph disconnected: cannot obtain value for tensor {tensor!r} at layer "
                    f"'{layer.name}'. The following previous layers were accessed without issue: "
                    f"{[n.layer.name for n in ordered]}"
                )
            for t in node.input_tensors:
                visit(t)
        visited.add(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    for t in inputs:
        visit(t)
    return ordered


def _keras_layer_order(nodes, outputs):
    """The graph's layers in Keras's ``model.layers`` order: farthest from the outputs first,
    ties broken by the order a depth-first walk from the outputs first meets each layer.

    ``get_weights()`` order and Keras 2 HDF5 files (which match layers by position) depend on
    it, so it must not follow the execution order, which differs on branching graphs.
    """
    in_graph = {id(n) for n in nodes}

    def parents(node):
        for t in node.input_tensors:
            history = t._keras_history
            parent = history[0]._inbound_nodes[history[1]] if history is not None else None
            if parent is not None and id(parent) in in_graph:
                yield parent

    first_seen, seen_nodes = {}, set()
    stack = [t._keras_history[0]._inbound_nodes[t._keras_history[1]] for t in reversed(outputs)]
    while stack:  # pre-order, first input first, as a recursive walk would go
        node = stack.pop()
        if id(node) in seen_nodes or id(node) not in in_graph:
            continue
        seen_nodes.add(id(node))
        first_seen.setdefault(id(node.layer), len(first_seen))
        if not node.is_input:
            stack.extend(reversed(list(parents(node))))
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for parent in parents(node):
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers, listed = [], set()
    for node in nodes:
        if id(node.layer) not in listed:
            listed.add(id(node.layer))
            layers.append(node.layer)
    unseen = len(first_seen)
    return sorted(layers, key=lambda l: (-layer_depth[id(l)], first_seen.get(id(l), unseen)))


def _default_name(cls):
    from lamina.backend.naming import to_snake_case, unique_name

    return unique_name("functional" if cls is Functional else to_snake_case(cls.__name__))


def _build_scope(layer):
    """The ``name_scope`` path a graph layer's weights were created under (``None`` outside any).

    Keras fixes a weight's path when it is created, so a layer built inside
    ``with name_scope("block"):`` keeps ``block/layer/weight`` in the model (NASNet relies on it).
    """
    for v in layer._own_variables:
        tail = f"/{layer.name}/{v.name}"
        if v.path.endswith(tail):
            return v.path[: -len(tail)]
    return None
