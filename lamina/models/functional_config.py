"""Functional model <-> config dict, in the Keras 3 layout.

Each layer entry carries its ``inbound_nodes``: the call arguments with every symbolic tensor
written as ``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
[layer_name, node_index, tensor_index]}}``. Node indices count only the nodes inside this model.
Keras numbers a nested functional model's calls from 1 in ``input_layers`` / ``output_layers``
(it reserves 0 for the model's own construction) but from 0 inside ``inbound_nodes``; both
files follow that, so nested models move between Keras and Lamina.
Other constants in the call arguments (slices and ``...`` of ``x[1:, ...]``, tensors and arrays of
``x @ w``) are written as Keras writes them (``__slice__``, ``__ellipsis__``, ``__tensor__``,
``__numpy__``).
"""

import numpy as np
import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import standardize_dtype
from lamina.backend import symbolic
from lamina.layers.core import keras_op_nodes
from lamina.saving import serialization_lib
from lamina.utils import tree


def _model_node_index(model):
    """Map id(node) -> index among the nodes of that layer that belong to this model."""
    index = {}
    in_model = {id(n) for n in model._nodes}
    for layer in model._operations:
        i = 0
        for node in layer._inbound_nodes:
            if id(node) in in_model:
                index[id(node)] = i
                i += 1
    return index


def _tensor_ref(t, node_index):
    layer, node_i, tensor_i = t._keras_history
    node = layer._inbound_nodes[node_i]
    return [layer.name, node_index.get(id(node), 0), tensor_i]


def _io_ref(t, node_index):
    """A model input/output reference: Keras counts a nested functional model's calls from 1."""
    ref = _tensor_ref(t, node_index)
    if _is_functional(t._keras_history[0]):
        ref[1] += 1
    return ref


def _is_functional(layer):
    from lamina.models.functional import Functional

    return isinstance(layer, Functional)


def _node_kwargs(node):
    """The call's keyword arguments as Keras records them.

    Keras fills a model's ``mask`` argument at every call (``None`` per input tensor when the
    inputs carry no mask) and writes it into the node; Lamina's call leaves it out. Written
    here for nested models only, whose ``call`` takes ``mask`` in both libraries.
    """
    kwargs = dict(node.call_kwargs)
    if (
        "mask" not in kwargs
        and getattr(node.layer, "_is_model", False)
        and _is_graph_model(node.layer)
        and len(node.call_args) == 1
        and not any(symbolic.is_keras_tensor(v) for v in tree.flatten(kwargs))
    ):
        kwargs["mask"] = tree.map_structure(lambda _: None, node.call_args[0])
    return kwargs


def _is_graph_model(layer):
    from lamina.models.sequential import Sequential

    return _is_functional(layer) or isinstance(layer, Sequential)


def functional_config(model):
    node_index = _model_node_index(model)
    in_model = {id(n) for n in model._nodes}

    def encode(x):
        # Tuples become lists, as in Keras's files (JSON has no tuples).
        if isinstance(x, (list, tuple)):
            return [encode(v) for v in x]
        if isinstance(x, dict):
            return {k: encode(v) for k, v in x.items()}
        if symbolic.is_keras_tensor(x):
            return {
                "class_name": "__keras_tensor__",
                "config": {
                    "shape": list(x.shape),
                    "dtype": x.dtype,
                    "keras_history": _tensor_ref(x, node_index),
                },
            }
        return _encode_constant(x)

    layer_configs = []
    for layer in model._operations:
        entry = serialization_lib.serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {
                "args": [encode(a) for a in node.call_args],
                "kwargs": {k: encode(v) for k, v in _node_kwargs(node).items()},
            }
            for node in layer._inbound_nodes
            if id(node) in in_model and not node.is_input
        ]
        layer_configs.append(entry)

    def refs(struct):
        if isinstance(struct, dict):
            return {k: _io_ref(v, node_index) for k, v in struct.items()}
        if isinstance(struct, (list, tuple)):
            return [_io_ref(t, node_index) for t in struct]
        return _io_ref(struct, node_index)

    config = {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": refs(model._inputs_struct),
        "output_layers": refs(model._outputs_struct),
    }
    if model.__dict__.get("_symbolic_targets"):
        # Keras 2's symbolic `add_loss` / `add_metric` (Lamina's keys; Keras ignores them).
        from lamina.models.functional_losses import targets_config

        config.update(targets_config(model, lambda t: _tensor_ref(t, node_index)))
    return config


def functional_from_config(cls, config, custom_objects=None):
    from lamina.layers import deserialize as deserialize_layer

    created = {}
    pending = []
    for entry in config["layers"]:
        layer_config = {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}
        if keras_op_nodes.is_keras_op_module(entry.get("module")):
            # Operations (`x + 1`, `ops.mean`) resolve only through Lamina's table of Keras ops.
            layer = keras_op_nodes.deserialize_op_node(layer_config)
        else:
            layer = deserialize_layer(layer_config, custom_objects=custom_objects)
        created[entry.get("name", layer.name)] = layer
        for node in entry.get("inbound_nodes", []):
            pending.append((layer, node))

    def outputs_of(name, node_i, tensor_i):
        layer = created[name]
        nodes = [n for n in layer._inbound_nodes if n.layer is layer]
        if node_i >= len(nodes):
            return None
        return nodes[node_i].output_tensors[tensor_i]

    def decode(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            t = outputs_of(*x["config"]["keras_history"])
            if t is None:
                raise _NotReady
            return t
        if isinstance(x, dict) and x.get("class_name") in _CONSTANT_DECODERS:
            return _CONSTANT_DECODERS[x["class_name"]](x.get("config") or {}, decode)
        if isinstance(x, dict) and "class_name" in x:
            return serialization_lib.deserialize_keras_object(x, custom_objects=custom_objects)
        if isinstance(x, list):
            return [decode(v) for v in x]
        if isinstance(x, dict):
            return {k: decode(v) for k, v in x.items()}
        return x

    while pending:
        progressed = False
        remaining = []
        for layer, node in pending:
            try:
                args = [decode(a) for a in node.get("args", [])]
                kwargs = {k: decode(v) for k, v in node.get("kwargs", {}).items()}
            except _NotReady:
                remaining.append((layer, node))
                continue
            layer(*args, **kwargs)
            progressed = True
        if not progressed:
            raise ValueError("Cannot rebuild the functional model: its config has unresolvable nodes.")
        pending = remaining

    def resolve(ref):
        if isinstance(ref, dict):
            return {k: resolve(v) for k, v in ref.items()}
        if ref and isinstance(ref[0], (list, tuple)):
            return [resolve(r) for r in ref]
        name, node_i, tensor_i = ref
        if _is_functional(created[name]) and node_i > 0:
            # Keras's 1-based count of a nested model's calls; 0 is what earlier Lamina wrote.
            node_i -= 1
        return outputs_of(name, node_i, tensor_i)

    inputs = resolve(config["input_layers"])
    outputs = resolve(config["output_layers"])
    model = cls(inputs=inputs, outputs=outputs, name=config.get("name"), trainable=config.get("trainable", True))
    if "added_losses" in config or "added_metrics" in config:
        from lamina.models.functional_losses import restore_targets

        restore_targets(model, config, lambda ref: outputs_of(*ref))
    return model


class _NotReady(Exception):
    pass


def _encode_constant(x):
    if isinstance(x, slice):
        bounds = {"start": x.start, "stop": x.stop, "step": x.step}
        return {"class_name": "__slice__", "config": {k: _encode_constant(v) for k, v in bounds.items()}}
    if x is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(x, (torch.Tensor, np.ndarray)):
        value = x.detach().cpu().tolist() if isinstance(x, torch.Tensor) else x.tolist()
        kind = "__tensor__" if isinstance(x, torch.Tensor) else "__numpy__"
        return {"class_name": kind, "config": {"value": value, "dtype": standardize_dtype(x.dtype)}}
    return serialization_lib.serialize_keras_object(x)


def _decode_slice(config, decode):
    return slice(decode(config.get("start")), decode(config.get("stop")), decode(config.get("step")))


def _decode_tensor(config, decode):
    return convert_to_tensor(config["value"], dtype=config.get("dtype"))


_CONSTANT_DECODERS = {
    "__slice__": _decode_slice,
    "__ellipsis__": lambda config, decode: Ellipsis,
    "__tensor__": _decode_tensor,
}
