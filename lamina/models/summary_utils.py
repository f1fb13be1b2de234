"""``Model.summary()``: the Keras layer table drawn with box characters."""

import math

import numpy as np

from lamina.backend.variables import count_scalars, whole_shape

_HEAVY = ("┏", "━", "┳", "┓", "┃")
_HEAD_SEP = ("┡", "━", "╇", "┩")
_ROW_SEP = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")


def _format_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return ", ".join(_format_shape(s) for s in shape)
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in shape.items()) + "}"
    # Keras writes a one-dimensional shape as "(None)", not as the Python tuple "(None,)".
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _readable_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def _bytes(weights):
    return sum(int(np.prod(whole_shape(w))) * w.element_size() for w in weights)


def _wrap(text, width):
    """Split ``text`` into lines of at most ``width`` characters, preferring breaks at spaces."""
    lines = []
    for para in str(text).split("\n"):
        while len(para) > width:
            cut = para.rfind(" ", 0, width + 1)
            cut = cut if cut > 0 else width
            lines.append(para[:cut].rstrip())
            para = para[cut:].lstrip()
        lines.append(para)
    return lines


def _layer_output_shape(layer, model_nodes):
    nodes = [n for n in layer._inbound_nodes if id(n) in model_nodes]
    if not nodes:
        return "?"
    shapes = nodes[0].output_shapes
    if isinstance(shapes, list) and len(shapes) == 1:
        shapes = shapes[0]
    return _format_shape(shapes)


def _connections(layer, model_nodes, node_index):
    out = []
    for node in layer._inbound_nodes:
        if id(node) not in model_nodes:
            continue
        for t in node.input_tensors:
            parent, ni, ti = t._keras_history
            parent_node = parent._inbound_nodes[ni]
            out.append(f"{parent.name}[{node_index.get(id(parent_node), 0)}][{ti}]")
    return ", ".join(out) if out else "-"


def _rows(model, expand_nested, show_connections, show_trainable, depth=0):
    model_nodes = {id(n) for n in getattr(model, "_nodes", [])}
    node_index = {}
    # Every operation of the graph, layers and operations (`x + 1`) alike, as Keras's summary.
    operations = model._operations if hasattr(model, "_operations") else model.layers
    for layer in operations:
        i = 0
        for node in layer._inbound_nodes:
            if id(node) in model_nodes:
                node_index[id(node)] = i
                i += 1
    rows = []
    for layer in operations:
        name = ("   " * depth) + f"{layer.name} ({type(layer).__name__})"
        shape = _layer_output_shape(layer, model_nodes) if model_nodes else (
            _format_shape(_safe_output_shape(layer))
        )
        if layer.built or layer._own_variables:
            params = f"{layer.count_params():,}"
        else:
            params = "0 (unbuilt)"
        row = [name, shape, params]
        if show_connections:
            row.append(_connections(layer, model_nodes, node_index))
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)
        if expand_nested and hasattr(layer, "layers") and layer.layers:
            rows.extend(_rows(layer, expand_nested, show_connections, show_trainable, depth + 1))
    return rows


def _safe_output_shape(layer):
    try:
        return layer.output_shape
    except (AttributeError, ValueError, RuntimeError):
        return None


def _is_chain(model):
    """Whether a functional graph is a plain chain (Keras then prints it like a Sequential)."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return False
    consumed, layers = set(), set()
    for node in model._nodes:
        inputs = node.input_tensors
        if len(inputs) > 1 or id(node.layer) in layers:
            return False
        layers.add(id(node.layer))
        for t in inputs:
            if id(t) in consumed:
                return False
            consumed.add(id(t))
    return True


def print_summary(
    model,
    line_length=None,
    positions=None,
    print_fn=None,
    expand_nested=False,
    show_trainable=False,
    layer_range=None,
):
    print_fn = print_fn or print
    show_connections = (
        not getattr(type(model), "_is_sequential", False)
        and bool(getattr(model, "_nodes", None))
        and not _is_chain(model)
    )
    headers = ["Layer (type)", "Output Shape", "Param #"]
    if show_connections:
        headers.append("Connected to")
    if show_trainable:
        headers.append("Trainable")
    line_length = line_length or 78
    if positions is None:
        positions = [0.28, 0.53, 0.69, 1.0] if show_connections else [0.44, 0.76, 0.96]
        if show_trainable:
            positions = [p * 0.88 for p in positions] + [1.0]
    if positions[-1] <= 1:
        positions = [int(math.floor(line_length * p)) for p in positions]
    widths = [positions[0]] + [b - a for a, b in zip(positions, positions[1:])]
    widths = [max(w - 3, len(h)) for w, h in zip(widths, headers)]

    rows = _rows(model, expand_nested, show_connections, show_trainable)
    if layer_range is not None:
        names = [r[0].split(" (")[0].strip() for r in rows]
        start, end = names.index(layer_range[0]), names.index(layer_range[1])
        rows = rows[start : end + 1]

    def border(chars):
        left, fill, mid, right = chars
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def line(cells, edge, right_align=(2,)):
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = []
            for col, (lines, w) in enumerate(zip(wrapped, widths)):
                text = lines[i] if i < len(lines) else ""
                parts.append(" " + (text.rjust(w) if col in right_align else text.ljust(w)) + " ")
            out.append(edge + edge.join(parts) + edge)
        return out

    print_fn(f'Model: "{model.name}"')
    print_fn(border(_HEAVY[:4]))
    for text in line(headers, _HEAVY[4]):
        print_fn(text)
    print_fn(border(_HEAD_SEP))
    for i, row in enumerate(rows):
        for text in line(row, "│"):
            print_fn(text)
        if i < len(rows) - 1:
            print_fn(border(_ROW_SEP))
    print_fn(border(_BOTTOM))
    weights = model.weights
    trainable = model.trainable_weights
    trainable_ids = {id(w) for w in trainable}
    non_trainable = [w for w in weights if id(w) not in trainable_ids]
    print_fn(f" Total params: {count_scalars(weights):,} ({_readable_bytes(_bytes(weights))})")
    print_fn(f" Trainable params: {count_scalars(trainable):,} ({_readable_bytes(_bytes(trainable))})")
    print_fn(f" Non-trainable params: {count_scalars(non_trainable):,} ({_readable_bytes(_bytes(non_trainable))})")
