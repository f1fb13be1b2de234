"""Keras 2 module path ``keras.utils.layer_utils``: parameter counts, model summaries and the
source inputs of a symbolic tensor."""

import numpy as np


def get_source_inputs(tensor, layer=None, node_index=None):
    """The input tensors (``Input`` / placeholders) ``tensor`` is computed from.

    Args:
        tensor: A Keras tensor (anything else is returned as is, as in Keras 2).
        layer: The layer that produced ``tensor`` (read from the tensor when omitted).
        node_index: Which call (inbound node) of ``layer`` produced it.

    Returns:
        A list of the source Keras tensors, each once, in the order the graph reaches them.

    Example:

    >>> a, b = lamina.Input((2,)), lamina.Input((2,))
    >>> out = lamina.layers.Dense(1)(lamina.layers.add([a, b]))
    >>> get_source_inputs(out) == [a, b]
    True
    """
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if layer is None or node_index is None:
        if tensor._keras_history is None:
            return [tensor]
        layer, node_index, _ = tensor._keras_history
    if not layer._inbound_nodes:
        return [tensor]
    node = layer._inbound_nodes[node_index]
    if node.is_input:
        return list(node.output_tensors)
    sources = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not seen for seen in sources):
                sources.append(source)
    return sources


def count_params(weights):
    """Total number of scalars in ``weights`` (each distinct weight counted once)."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(np.prod([0 if d is None else int(d) for d in w.shape]) for w in unique if hasattr(w, "shape")))


def print_summary(
    model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
    layer_range=None,
):
    """Print ``model``'s summary table (``model.summary`` with the same arguments)."""
    model.summary(
        line_length=line_length,
        positions=positions,
        print_fn=print_fn,
        expand_nested=expand_nested,
        show_trainable=show_trainable,
        layer_range=layer_range,
    )


__all__ = ["count_params", "get_source_inputs", "print_summary"]
