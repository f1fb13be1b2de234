"""``clone_model``: a new model with the same architecture and freshly initialized weights."""

import inspect

from lamina.layers import symbolic
from lamina.saving import serialization_lib
from lamina.utils import tree


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Return a copy of ``model`` made of new layers (new weights, same architecture).

    A functional model is rebuilt by calling the cloned layers on new inputs in the order of its
    graph: a layer shared by several calls stays shared in the clone, and a nested model is
    cloned from its config (or layer by layer with ``recursive=True``). A compiled model's clone
    is compiled with the same arguments.

    Args:
        model: A Sequential or functional model (other models are rebuilt from their config).
        input_tensors: Optional symbolic inputs (the structure of ``model.input``) to build the
            clone on.
        clone_function: ``layer -> new layer`` applied to every non-input layer; by default
            ``layer.__class__.from_config(layer.get_config())``.
        call_function: ``(layer, *args, **kwargs) -> outputs`` used instead of calling each
            cloned layer (functional models only), e.g. to wrap some calls.
        recursive: Whether nested Sequential and functional models are cloned layer by layer
            with ``clone_function`` (otherwise ``clone_function`` receives them whole).

    Returns:
        The new model.

    Example:

    >>> def no_dropout(layer):
    ...     if isinstance(layer, lamina.layers.Dropout):
    ...         return lamina.layers.Identity()
    ...     return layer.__class__.from_config(layer.get_config())
    >>> clone = lamina.models.clone_model(model, clone_function=no_dropout)
    """
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    cache = kwargs.pop("cache", None)
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs.keys())}")
    if isinstance(model, (Sequential, Functional)):
        wrapped = _wrap_clone_function(clone_function, call_function, recursive, {} if cache is None else cache)
        if isinstance(model, Sequential):
            if call_function is not None:
                raise ValueError(
                    "`call_function` argument is not supported with Sequential models. In a "
                    "Sequential model, layers aren't called at model-construction time (they're "
                    "merely listed). Use `call_function` with Functional models only. Received "
                    f"model of type '{type(model).__name__}', with call_function={call_function}"
                )
            clone = _clone_sequential(model, wrapped, input_tensors)
        else:
            clone = _clone_functional(model, wrapped, input_tensors, call_function)
        if getattr(model, "compiled", False):
            clone.compile_from_config(model.get_compile_config())
        return clone
    if clone_function is not None or input_tensors is not None:
        raise ValueError(
            "Arguments `clone_function` and `input_tensors` are only supported for Sequential "
            f"models or Functional models. Received model of type '{type(model).__name__}', with "
            f"clone_function={clone_function} and input_tensors={input_tensors}"
        )
    if call_function is not None:
        raise ValueError(
            "Argument `call_function` is only supported for Functional models. Received model "
            f"of type '{type(model).__name__}', with call_function={call_function}"
        )
    config = serialization_lib.serialize_keras_object(model)
    config.pop("build_config", None)
    config.pop("compile_config", None)
    return serialization_lib.deserialize_keras_object(config, custom_objects={type(model).__name__: type(model)})


def _wrap_clone_function(clone_function, call_function, recursive, cache):
    """``clone_function`` cloning each layer once (shared layers stay shared) and, with
    ``recursive``, descending into nested models."""
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    if clone_function is None:

        def clone_function(layer):
            return layer.__class__.from_config(layer.get_config())

    def wrapped(layer):
        if id(layer) not in cache:
            if recursive and isinstance(layer, (Sequential, Functional)):
                nested_call = None if isinstance(layer, Sequential) else call_function
                cache[id(layer)] = clone_model(
                    layer, clone_function=clone_function, call_function=nested_call, recursive=True, cache=cache
                )
            else:
                cache[id(layer)] = clone_function(layer)
        return cache[id(layer)]

    return wrapped


def _clone_sequential(model, clone_function, input_tensors):
    from lamina.layers.core.input_layer import Input
    from lamina.models.sequential import Sequential

    layers = [clone_function(layer) for layer in model.layers]
    reference = model._input_layer
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError("Argument `input_tensors` must contain a single tensor.")
            input_tensors = input_tensors[0]
        if not symbolic.is_keras_tensor(input_tensors):
            raise ValueError(
                f"Argument `input_tensors` must be a KerasTensor. Received invalid value: input_tensors={input_tensors}"
            )
        layers = [Input(tensor=input_tensors, name=reference.name if reference is not None else None)] + layers
    elif reference is not None:
        output = reference.output
        layers = [Input(batch_shape=output.shape, dtype=output.dtype, name=reference.name)] + layers
    return Sequential(layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, clone_function, input_tensors, call_function):
    from lamina.layers.core.input_layer import Input
    from lamina.models.functional import Functional

    if input_tensors is not None:
        if not all(symbolic.is_keras_tensor(x) for x in tree.flatten(input_tensors)):
            raise ValueError(
                f"All entries in `input_tensors` must be KerasTensors. Received invalid values: inputs_tensors={input_tensors}"
            )
        if len(tree.flatten(input_tensors)) != len(model.inputs):
            raise ValueError(
                "`input_tensors` must have the same structure as model.input\n"
                f"Reference structure: {model.input}\nReceived structure: {input_tensors}"
            )
    else:
        input_tensors = tree.map_structure(
            lambda x: Input(batch_shape=x.shape, dtype=x.dtype, name=x.name), model._inputs_struct
        )
    values = {id(old): new for old, new in zip(model.inputs, tree.flatten(input_tensors))}

    def new_value(x):
        return values[id(x)] if symbolic.is_keras_tensor(x) else x

    for node in _nodes_by_depth(model._nodes):
        if node.is_input:
            continue
        args = [tree.map_structure(new_value, a) for a in node.call_args]
        kwargs = {k: tree.map_structure(new_value, v) for k, v in node.call_kwargs.items()}
        layer = clone_function(node.layer)
        outputs = call_function(layer, *args, **kwargs) if call_function is not None else layer(*args, **kwargs)
        for old, new in zip(node.output_tensors, tree.flatten(outputs)):
            values[id(old)] = new
    output_tensors = tree.map_structure(lambda t: values[id(t)], model._outputs_struct)
    cls = type(model) if _functional_like_constructor(type(model)) else Functional
    return cls(input_tensors, output_tensors, name=model.name)


def _nodes_by_depth(nodes):
    """The graph's nodes in the order Keras runs them when it clones: farthest from the outputs
    first, then in the order its depth map met them (a layer is as deep as its deepest call)."""
    in_graph = {id(n) for n in nodes}
    node_depth, layer_depth, first_met = {}, {}, {}
    for node in reversed(nodes):
        first_met.setdefault(id(node), len(first_met))
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for t in node.input_tensors:
            layer, index, _ = t._keras_history
            parent = layer._inbound_nodes[index]
            if id(parent) in in_graph:
                first_met.setdefault(id(parent), len(first_met))
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    return sorted(nodes, key=lambda n: (-node_depth[id(n)], first_met[id(n)]))


def _functional_like_constructor(cls):
    """Whether ``cls(inputs, outputs, name=...)`` builds the class (Keras's test)."""
    from lamina.models.functional import Functional

    spec = inspect.getfullargspec(cls.__init__)
    if spec.args[1:] == inspect.getfullargspec(Functional.__init__).args[1:]:
        return True
    return spec.varargs is not None and spec.varkw is not None
