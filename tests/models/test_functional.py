import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _two_input_model():
    a = lamina.Input((4,), name="a")
    b = lamina.Input((3,), name="b")
    ha = layers.Dense(5, activation="relu", name="ha")(a)
    hb = layers.Dense(5, name="hb")(b)
    s = layers.add([ha, hb])
    out1 = layers.Dense(2, name="out1")(s)
    out2 = layers.Dense(1, name="out2")(ha)
    return lamina.Model([a, b], [out1, out2], name="two")


def test_logistic_regression_seed_example():
    x = lamina.Input(shape=(32,))
    y = layers.Dense(16, activation="softmax")(x)
    model = lamina.Model(x, y)
    assert isinstance(model, lamina.Model) and isinstance(model, lamina.models.Functional)
    out = model(np.random.rand(3, 32).astype("float32"))
    assert out.shape == (3, 16)
    np.testing.assert_allclose(out.sum(-1).detach().numpy(), 1.0, rtol=1e-5)
    assert model.input_shape == (None, 32) and model.output_shape == (None, 16)


def test_multi_input_multi_output():
    model = _two_input_model()
    # Keras 3 orders layers by depth from the outputs: both inputs first.
    assert [l.name for l in model.layers] == ["a", "b", "ha", "hb", "add", "out1", "out2"]
    assert model.output_shape == [(None, 2), (None, 1)]
    xa, xb = torch.randn(2, 4), torch.randn(2, 3)
    o1, o2 = model([xa, xb])
    ha = torch.relu(xa @ model.get_layer("ha").kernel + model.get_layer("ha").bias)
    hb = xb @ model.get_layer("hb").kernel + model.get_layer("hb").bias
    torch.testing.assert_close(o1, (ha + hb) @ model.get_layer("out1").kernel + model.get_layer("out1").bias)
    o1d, _ = model({"a": xa, "b": xb})
    torch.testing.assert_close(o1d, o1)
    assert model.get_layer(index=1).name == "b"
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


def test_dict_inputs_and_outputs():
    a = lamina.Input((2,), name="a")
    b = lamina.Input((2,), name="b")
    out = {"sum": layers.Dense(1, name="s")(a), "diff": layers.Dense(1, name="d")(b)}
    model = lamina.Model({"a": a, "b": b}, out)
    res = model({"a": np.ones((3, 2), "float32"), "b": np.zeros((3, 2), "float32")})
    assert set(res) == {"sum", "diff"} and res["sum"].shape == (3, 1)
    with pytest.raises(ValueError, match="missing"):
        model({"a": np.ones((3, 2), "float32")})


def test_shared_layers_and_nested_models():
    inner_in = lamina.Input((4,))
    inner = lamina.Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    a = lamina.Input((4,))
    b = lamina.Input((4,))
    shared = layers.Dense(4, name="shared")
    ya, yb = inner(shared(a)), inner(shared(b))
    model = lamina.Model([a, b], [ya, yb])
    assert ya.shape == (None, 3)
    x = torch.randn(2, 4)
    o1, o2 = model([x, x])
    torch.testing.assert_close(o1, o2)
    assert len(model.weights) == 4
    # The inner model's layers keep the paths they were built with, as in Keras.
    assert sorted(w.path for w in model.weights) == [
        "inner_dense/bias", "inner_dense/kernel", "shared/bias", "shared/kernel"
    ]
    outer_in = lamina.Input((4,))
    two_deep = lamina.Model(outer_in, model([outer_in, outer_in])[0], name="two_deep")
    assert {w.path for w in two_deep.weights} == {w.path for w in model.weights}


def test_calling_model_on_new_symbolic_input():
    model = _two_input_model()
    a, b = lamina.Input((4,)), lamina.Input((3,))
    o1, o2 = model([a, b])
    assert o1.shape == (None, 2) and o2.shape == (None, 1)
    wrapper = lamina.Model([a, b], o1)
    assert wrapper(([torch.ones(1, 4), torch.ones(1, 3)])).shape == (1, 2)


def test_input_validation_errors():
    model = _two_input_model()
    with pytest.raises(ValueError, match="expects 2 input"):
        model(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"Input 'b'.*expected shape=\(None, 3\)"):
        model([np.ones((2, 4), "float32"), np.ones((2, 5), "float32")])
    a = lamina.Input((2,))
    stray = lamina.Input((2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(a, layers.Dense(1)(stray))
    with pytest.raises(ValueError, match="symbolic"):
        lamina.Model(a, torch.ones(2))


def test_masks_propagate_through_graph():
    class MaskMaker(layers.Layer):
        def compute_mask(self, inputs, previous_mask=None):
            return inputs[..., 0] > 0

        def call(self, inputs):
            return inputs

    x = lamina.Input((3, 2))
    y = layers.Dense(4)(MaskMaker()(x))
    assert y._keras_mask is not None and y._keras_mask.shape == (None, 3)
    model = lamina.Model(x, y)
    data = torch.tensor([[[1.0, 0], [-1, 0], [2, 0]]])
    out = model(data)
    assert out._keras_mask.tolist() == [[True, False, True]]


def test_functional_config_round_trip():
    model = _two_input_model()
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    clone = lamina.Model.from_config(config)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    clone.set_weights(model.get_weights())
    x = [torch.randn(2, 4), torch.randn(2, 3)]
    for p, q in zip(model(x), clone(x)):
        torch.testing.assert_close(p, q)


@pytest.mark.oracle
def test_functional_config_loads_keras_config(oracle):
    a = oracle.Input((4,), name="a")
    h = oracle.layers.Dense(3, activation="relu", name="h")(a)
    out = oracle.layers.Dense(2, name="o")(h)
    ref = oracle.Model(a, out)
    model = lamina.Model.from_config(ref.get_config())
    model.set_weights(ref.get_weights())
    x = np.random.rand(2, 4).astype("float32")
    np.testing.assert_allclose(model(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    assert json.loads(json.dumps(model.get_config())) == json.loads(json.dumps(ref.get_config()))


def test_subclassed_model():
    class MLP(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(2)

        def call(self, x, training=None):
            return self.out(self.hidden(x))

    model = MLP()
    y = model(np.ones((3, 5), "float32"))
    assert y.shape == (3, 2)
    assert len(model.weights) == 4 and [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.name == "mlp"


def test_summary_functional(capsys):
    model = _two_input_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "two"' in text
    assert "ha (Dense)" in text and "(None, 5)" in text and "a[0][0]" in text
    assert "Connected to" in text
    total = sum(int(np.prod(w.shape)) for w in model.weights)
    assert f"Total params: {total:,}" in text
    assert "Non-trainable params: 0" in text
    model.get_layer("out2").trainable = False
    lines.clear()
    model.summary(print_fn=lines.append, show_trainable=True)
    assert "Non-trainable params: 6 (24.00 B)" in "\n".join(lines)
    assert "Trainable" in lines[2]


def test_summary_thousands_separator():
    x = lamina.Input((999,))
    model = lamina.Model(x, layers.Dense(1000)(x))
    lines = []
    model.summary(print_fn=lines.append)
    assert any("1,000,000" in l for l in lines)


def test_operators_on_symbolic_tensors():
    x = lamina.Input((3,))
    y = (x * 2.0 + 1.0)[:, :2] @ torch.ones(2, 4)
    assert y.shape == (None, 4)
    model = lamina.Model(x, -y)
    out = model(torch.ones(5, 3))
    torch.testing.assert_close(out, torch.full((5, 4), -6.0))


def test_ops_on_symbolic_tensors_build_graph_nodes():
    x = lamina.Input((3, 4))
    y = lamina.ops.mean(x, axis=1)
    z = lamina.ops.concatenate([y, lamina.ops.max(x, axis=1)], axis=-1)
    assert z.shape == (None, 8)
    model = lamina.Model(x, z)
    data = torch.randn(2, 3, 4)
    torch.testing.assert_close(model(data), torch.cat([data.mean(1), data.amax(1)], -1))
    assert lamina.ops.mean(torch.ones(2, 3)).shape == ()


@pytest.mark.oracle
def test_layers_built_in_name_scopes_keep_scoped_paths_like_keras(oracle):
    def build(k):
        inp = k.Input((4,))
        with k.name_scope("outer"):
            with k.name_scope("inner"):
                x = k.layers.Dense(3, name="d1")(inp)
            x = k.layers.BatchNormalization(name="bn")(x)
        out = k.layers.Dense(2, name="d2")(x)
        return k.Model(inp, out)

    ours, theirs = build(lamina), build(oracle)
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights]
    assert ours.weights[0].path == "outer/inner/d1/kernel"
