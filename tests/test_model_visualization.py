"""`utils.model_to_dot` / `utils.plot_model`: the dot graph compared with Keras's."""

import re

import numpy as np
import pydot
import pytest

import lamina
from lamina.utils import model_visualization


def _sequential(k):
    return k.Sequential(
        [k.Input((4,)), k.layers.Dense(3, activation="relu"), k.layers.Dropout(0.1), k.layers.Dense(2)]
    )


def _branches(k):
    x = k.Input((6,), name="x")
    side = k.Input((2,), name="side", dtype="int32")
    a = k.layers.Dense(4, activation="tanh")(x)
    b = k.layers.Dense(4, trainable=False)(x)
    c = k.layers.Concatenate()([a, b])
    d = k.layers.Add()([a, b])
    out1 = k.layers.Dense(1, name="score")(c)
    out2 = k.layers.Dense(3, activation="softmax", name="probs")(d)
    e = k.layers.Embedding(5, 3)(side)
    out3 = k.layers.Flatten()(e)
    return k.Model([x, side], [out1, out2, out3])


def _nested(k):
    inner_seq = k.Sequential(
        [k.Input((4,)), k.layers.Dense(3, activation="relu"), k.layers.Dense(3)], name="inner_seq"
    )
    ii = k.Input((3,), name="inner_in")
    inner_fn = k.Model(ii, k.layers.Dense(2, name="inner_dense")(ii), name="inner_fn")
    i = k.Input((4,), name="x")
    a = k.layers.Dense(3, activation="tanh")(i)
    b = inner_seq(i)
    c = k.layers.Add()([a, b])
    return k.Model(i, inner_fn(c))


def _sequential_in_sequential(k):
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Dense(3)], name="inner")
    return k.Sequential([k.Input((4,)), inner, k.layers.Dense(2)], name="outer")


def _subclassed_functional(k):
    class Net(k.Model):
        def __init__(self):
            inputs = k.Input((4,))
            super().__init__(inputs, k.layers.Dense(2, name="d")(inputs))

    return Net()


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
    inputs = getattr(model, "inputs", None) or []
    for tensor in inputs:
        yield tensor._keras_history[0]


def _normalized(dot, model):
    # Node names are `id(layer)`: name them after the layers. Lines are compared as a sorted
    # list within each (sub)graph, since the order of equal-depth layers is not part of the
    # drawing (Lamina orders a multi-output model's layers differently from Keras).
    names = {str(id(layer)): layer.name for layer in _all_layers(model)}
    text = re.sub(r"\b\d{6,}\b", lambda m: "L_" + names[m.group(0)], dot.to_string())
    blocks, stack = [], [[]]
    for line in text.splitlines():
        if line.startswith("subgraph"):
            stack.append([line])
        elif line == "}" and len(stack) > 1:
            blocks.append(sorted(stack.pop()))
        else:
            stack[-1].append(line)
    return sorted(stack[0]), sorted(blocks)


_OPTIONS = [
    {},
    {"show_shapes": True},
    {"show_shapes": True, "show_dtype": True, "show_layer_activations": True, "show_trainable": True},
    {"show_layer_names": False, "rankdir": "LR", "dpi": 96, "splines": "polyline"},
    {"expand_nested": True, "show_shapes": True, "show_trainable": True},
]


@pytest.mark.oracle
@pytest.mark.parametrize(
    "build", [_sequential, _branches, _nested, _sequential_in_sequential, _subclassed_functional]
)
@pytest.mark.parametrize("options", _OPTIONS)
def test_dot_matches_keras(oracle, build, options):
    keras_model, lamina_model = build(oracle), build(lamina)
    expected = _normalized(oracle.utils.model_to_dot(keras_model, **options), keras_model)
    got = _normalized(lamina.utils.model_to_dot(lamina_model, **options), lamina_model)
    assert got == expected


def test_layer_shared_within_the_model_shows_unknown_shapes():
    shared = lamina.layers.Dense(2, name="shared")
    a, b = lamina.Input((2,), name="a"), lamina.Input((2,), name="b")
    model = lamina.Model([a, b], lamina.layers.Add()([shared(a), shared(b)]))
    text = lamina.utils.model_to_dot(model, show_shapes=True).to_string()
    assert "<b>shared</b> (Dense)</font></td></tr><tr><td bgcolor=\"white\"><font point-size=\"14\">Input shape: <b>?</b>" in text
    # a -> shared, b -> shared, shared -> add: an edge is drawn once however often it is used.
    assert text.count("->") == 3


def test_subclassed_model_is_a_single_node():
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    dot = lamina.utils.model_to_dot(model)
    assert len(dot.get_nodes()) == 2  # the node defaults and the model
    assert "(Net)" in dot.to_string()


@pytest.mark.parametrize("extension", ["png", "svg", "pdf", "dot"])
def test_plot_model_writes_each_format(tmp_path, extension):
    path = tmp_path / f"model.{extension}"
    lamina.utils.plot_model(_nested(lamina), to_file=path, show_shapes=True, expand_nested=True)
    data = path.read_bytes()
    magic = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF", "dot": b"digraph"}[extension]
    assert data.startswith(magic)
    if extension == "dot":
        assert b"inner_seq" in data


def test_plot_model_without_extension_writes_png(tmp_path):
    path = tmp_path / "model"
    lamina.utils.plot_model(_sequential(lamina), to_file=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")


def test_unbuilt_model_and_bad_arguments():
    model = lamina.Sequential([lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="not yet been built"):
        lamina.utils.model_to_dot(model)
    with pytest.raises(ValueError, match="not yet been built"):
        lamina.utils.plot_model(model)
    built = _sequential(lamina)
    with pytest.raises(ValueError, match="layer_range"):
        lamina.utils.model_to_dot(built, layer_range=["dense", "dense_1"])
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        lamina.utils.model_to_dot(built, show_colors=True)


def test_missing_pydot_names_the_install(monkeypatch):
    monkeypatch.setattr(model_visualization, "_pydot", lambda: None)
    with pytest.raises(ImportError, match=r"pip install pydot"):
        lamina.utils.model_to_dot(_sequential(lamina))
    with pytest.raises(ImportError, match=r"pip install pydot"):
        lamina.utils.plot_model(_sequential(lamina))


def test_missing_graphviz_names_the_install(monkeypatch, tmp_path):
    def no_dot(self, *args, **kwargs):
        raise FileNotFoundError("dot not found in path")

    monkeypatch.setattr(pydot.Dot, "create", no_dot)
    assert not model_visualization.check_graphviz()
    with pytest.raises(ImportError, match="install graphviz"):
        lamina.utils.plot_model(_sequential(lamina), to_file=tmp_path / "m.png")
    # The dot text itself needs no Graphviz.
    assert "digraph" in lamina.utils.model_to_dot(_sequential(lamina)).to_string()


def test_graphviz_is_installed():
    # CI installs it (Makefile `graphviz` step); without it plot_model cannot be tested.
    assert model_visualization.check_graphviz(), "Graphviz's `dot` is missing: run `make graphviz`"
