"""``get_source_inputs``: the inputs a symbolic tensor was computed from."""

from lamina.utils import tree


def get_source_inputs(tensor, layer=None, node_index=None):
    """Returns the list of input tensors necessary to compute ``tensor``.

    Walks the graph of layer calls back from ``tensor`` to the tensors that no layer produced
    from others (``Input`` tensors), each listed once, in the order first reached.

    Args:
        tensor: A symbolic tensor (``KerasTensor``). Anything else is returned unchanged.
        layer, node_index: Keras 2's arguments: start from this call (inbound node) of ``layer``
            instead of the one that produced ``tensor``.

    Returns:
        A list of input tensors (possibly just ``[tensor]``).

    Example:

    >>> a = lamina.Input((3,))
    >>> b = lamina.Input((3,))
    >>> y = lamina.layers.Add()([lamina.layers.Dense(3)(a), b])
    >>> get_source_inputs(y) == [a, b]
    True
    """
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if layer is None or node_index is None:
        history = tensor._keras_history
        if history is None:
            # Not produced by any layer: Keras returns such a value as is.
            return tensor
        layer, node_index, _ = history
    if layer is None or not layer._inbound_nodes:
        return [tensor]
    node = layer._inbound_nodes[node_index]
    if node.is_input:
        return tree.flatten(node.output_tensors)
    sources = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not seen for seen in sources):
                sources.append(source)
    return sources
