"""``plot_model`` and ``model_to_dot``: draw a model's layer graph with pydot and Graphviz.

The dot graph has Keras's structure: one node per layer (named by the layer's ``id``) with an
HTML-table label (name and class, activation, input/output shapes, dtype, trainable), an edge per
connection, and a dashed cluster per nested model when ``expand_nested=True``.
"""

import os

from lamina.utils import tree

_PYDOT_HINT = (
    "You must install pydot (`pip install pydot`, or `pip install lamina[plot]`) for "
    "`{what}` to work."
)
_GRAPHVIZ_HINT = (
    "You must install graphviz (the `dot` program: `apt-get install graphviz` on Debian/Ubuntu, "
    "`brew install graphviz` on macOS, see https://graphviz.gitlab.io/download/) for "
    "`plot_model` to work."
)


def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def check_pydot():
    """Whether pydot can be imported."""
    return _pydot() is not None


def check_graphviz():
    """Whether pydot can run Graphviz's ``dot`` program."""
    pydot = _pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _kind(model):
    # Asked by class name along the MRO so this floor needs no import from `lamina.models`.
    names = {cls.__name__ for cls in type(model).__mro__}
    if "Sequential" in names:
        return "sequential"
    if "Functional" in names and getattr(model, "_nodes", None) is not None:
        return "functional"
    return "other"


def _activation_name(layer):
    activation = layer.activation
    if hasattr(activation, "name"):
        return activation.name
    if hasattr(activation, "__name__"):
        return activation.__name__
    return str(activation)


def _format_shape(shape):
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _cell(text, point_size=14):
    return f'<td bgcolor="white"><font point-size="{point_size}">{text}</font></td>'


def _single_or_list(tensors):
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _layer_io(layer, graph_nodes):
    """The layer's input and output tensors in the drawn model, or ``None`` when ambiguous.

    Read from the layer's node in this model's graph (``graph_nodes``), so a layer that also
    has nodes in another graph (e.g. inside a nested Sequential) still shows its shapes; a layer
    called several times within the model shows "?", as Keras shows for a shared layer.
    """
    nodes = [] if graph_nodes is None else [n for n in graph_nodes if n.layer is layer]
    if not nodes:
        try:
            return layer.input, layer.output
        except (ValueError, AttributeError):
            return None, None
    if len(nodes) != 1:
        return None, None
    node = nodes[0]
    inputs = node.output_tensors if node.is_input else node.input_tensors
    return _single_or_list(inputs), _single_or_list(node.output_tensors)


def _layer_label(
    layer, graph_nodes, show_layer_names, show_layer_activations, show_dtype, show_shapes,
    show_trainable,
):
    class_name = type(layer).__name__
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    rows = [
        f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">'
        f"{title}</font></td></tr>"
    ]
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        rows.append(
            f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">'
            f"Activation: <b>{_activation_name(layer)}</b></font></td></tr>"
        )
    cols = []
    inputs, outputs = _layer_io(layer, graph_nodes)
    if show_shapes:
        if class_name != "InputLayer":
            input_shape = None if inputs is None else tree.map_structure(lambda x: x.shape, inputs)
            cols.append(_cell(f"Input shape: <b>{_format_shape(input_shape)}</b>"))
        output_shape = None if outputs is None else tree.map_structure(lambda x: x.shape, outputs)
        cols.append(_cell(f"Output shape: <b>{_format_shape(output_shape)}</b>"))
    if show_dtype:
        dtype = None if outputs is None else tree.map_structure(lambda x: x.dtype, outputs)
        cols.append(_cell(f"Output dtype: <b>{dtype or '?'}</b>"))
    if show_trainable and hasattr(layer, "trainable") and layer.weights:
        color, text = ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        cols.append(
            f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>'
        )
    if cols:
        rows.append(f"<tr>{''.join(cols)}</tr>")
    return (
        '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
        + "".join(rows)
        + "</table>>"
    )


def _make_node(pydot, layer, label_options, graph_nodes=None):
    node = pydot.Node(str(id(layer)), label=_layer_label(layer, graph_nodes, **label_options))
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    return node


def _add_edge(pydot, dot, src, dst):
    src_id, dst_id = str(id(src)), str(id(dst))
    if not dot.get_edge(src_id, dst_id):
        edge = pydot.Edge(src_id, dst_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _check_built(model):
    if not getattr(model, "built", False):
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or by "
            "calling the model on a batch of data."
        )


def _check_kwargs(kwargs):
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError(
            "Argument `layer_range` is no longer supported (Keras 3 removed it): plot the model "
            "built from the layers you want to see instead."
        )
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


def _graph_layers(model):
    # The functional graph's layers in node order, inputs included (Keras's `_operations`).
    layers = []
    for node in model._nodes:
        if not any(node.layer is seen for seen in layers):
            layers.append(node.layer)
    return layers


def _innermost_source(source, output_index):
    while _kind(source) in ("functional", "sequential"):
        source, _, output_index = source.outputs[output_index]._keras_history
    return source


def _innermost_destination(destination, input_index):
    while _kind(destination) in ("functional", "sequential"):
        if _kind(destination) == "functional":
            destination = destination.inputs[input_index]._keras_history[0]
        else:
            destination = destination.layers[0]
    return destination


def model_to_dot(
    model,
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    subgraph=False,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """Convert a model to a ``pydot.Dot`` graph (or a ``pydot.Cluster`` with ``subgraph=True``).

    Args:
        model: A built model.
        show_shapes: Show each layer's input and output shapes.
        show_dtype: Show each layer's output dtype.
        show_layer_names: Show layer names next to their class names.
        rankdir: Graph direction passed to dot: ``"TB"`` (vertical) or ``"LR"`` (horizontal).
        expand_nested: Draw nested functional and sequential models as clusters of their layers.
        dpi: Image resolution in dots per inch.
        subgraph: Return a ``pydot.Cluster`` (used for nested models).
        show_layer_activations: Show the activation of layers that have one.
        show_trainable: Show whether each layer with weights is trainable.
        splines: How edges are drawn: ``"ortho"`` (default), ``"curved"``, ``"polyline"``,
            ``"spline"`` or ``"line"``.

    Returns:
        A ``pydot.Dot`` (or ``pydot.Cluster``).

    Example:

    >>> dot = lamina.utils.model_to_dot(model, show_shapes=True)
    >>> print(dot.to_string())
    """
    _check_built(model)
    pydot = _pydot()
    if pydot is None:
        raise ImportError(_PYDOT_HINT.format(what="model_to_dot"))
    _check_kwargs(kwargs)
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    label_options = {
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_dtype": show_dtype,
        "show_shapes": show_shapes,
        "show_trainable": show_trainable,
    }
    kind = _kind(model)
    if kind == "other":
        dot.add_node(_make_node(pydot, model, label_options))
        return dot
    layers = model.layers if kind == "sequential" else _graph_layers(model)
    graph_nodes = list(model._nodes)
    for layer in layers:
        if expand_nested and _kind(layer) in ("functional", "sequential"):
            dot.add_subgraph(
                model_to_dot(
                    layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                    subgraph=True, show_layer_activations=show_layer_activations,
                    show_trainable=show_trainable,
                )
            )
        else:
            dot.add_node(_make_node(pydot, layer, label_options, graph_nodes))

    if kind == "sequential":
        if not expand_nested:
            for src, dst in zip(layers[:-1], layers[1:]):
                _add_edge(pydot, dot, src, dst)
            return dot
        layers = layers[1:]
    model_nodes = {id(n) for n in model._nodes} if kind == "functional" else None
    for layer in layers:
        for inbound in layer._inbound_nodes:
            if model_nodes is not None and id(inbound) not in model_nodes:
                continue
            for input_index, tensor in enumerate(inbound.input_tensors):
                history = tensor._keras_history
                if history is None or history[0] is None:
                    continue
                operation, node_index, output_index = history
                source = operation._inbound_nodes[node_index].layer
                if not expand_nested:
                    _add_edge(pydot, dot, source, layer)
                    continue
                _add_edge(
                    pydot, dot,
                    _innermost_source(source, output_index),
                    _innermost_destination(layer, input_index),
                )
    return dot


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=False,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    splines="ortho",
    **kwargs,
):
    """Draw a model's layer graph to an image file with Graphviz.

    Needs pydot (``pip install pydot``) and Graphviz's ``dot`` program.

    Args:
        model: A built model.
        to_file: Output file; its extension picks the format (``.png``, ``.svg``, ``.pdf``,
            ``.dot``, any format dot writes; none means png).
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
        show_layer_activations, show_trainable, splines: As in `model_to_dot`
            (``show_layer_names`` defaults to ``False`` here, as in Keras).

    Returns:
        An ``IPython.display.Image`` of the file when IPython is installed (not for pdf),
        else ``None``.

    Example:

    >>> lamina.utils.plot_model(model, to_file="model.png", show_shapes=True)
    """
    _check_built(model)
    if not check_pydot():
        raise ImportError(_PYDOT_HINT.format(what="plot_model"))
    if not check_graphviz():
        raise ImportError(_GRAPHVIZ_HINT)
    _check_kwargs(kwargs)
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
    )
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
