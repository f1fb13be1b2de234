"""``clone_model``: a new model with the same architecture and freshly initialized weights."""

from lamina.saving import serialization_lib


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """Return a copy of ``model`` built from its config (new layers, new weights).

    Args:
        model: A Sequential or functional model (or any model with ``get_config``).
        input_tensors: Optional symbolic inputs to call the clone on.
        clone_function: Optional ``layer -> new layer`` function used for every layer; by default
            each layer is rebuilt from its config.
    """
    from lamina.layers import deserialize
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    if clone_function is not None and isinstance(model, Sequential):
        clone = Sequential([clone_function(l) for l in model.layers], name=model.name)
        if model.built and model.inputs:
            clone.build(model.inputs[0].shape)
    else:
        config = serialization_lib.serialize_keras_object(model)
        config.pop("build_config", None)
        config.pop("compile_config", None)
        clone = deserialize(config)
    if input_tensors is not None:
        outputs = clone(input_tensors)
        clone = Functional(input_tensors, outputs, name=clone.name) if not isinstance(clone, Sequential) else clone
    return clone
