import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_dense_seed_example():
    model = lamina.Sequential()
    model.add(layers.Dense(32, input_shape=(16,)))
    model.add(layers.Dense(32))
    assert model.output_shape == (None, 32)
    assert model.input_shape == (None, 16)
    assert model(np.ones((2, 16), "float32")).shape == (2, 32)


def test_deferred_build_and_build_method():
    model = lamina.Sequential([layers.Dense(3), layers.Dense(2)])
    assert not model.built
    lines = []
    model.summary(print_fn=lines.append)
    assert any("0 (unbuilt)" in l for l in lines)
    y = model(np.ones((5, 4), "float32"))
    assert y.shape == (5, 2) and model.built and model.output_shape == (5, 2)
    other = lamina.Sequential([layers.Dense(3)])
    other.build((None, 7))
    assert other.output_shape == (None, 3) and other.layers[0].kernel.shape == (7, 3)


def test_input_as_first_layer_and_pop():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 3)
    assert len(model.layers[0]._inbound_nodes) == 1
    with pytest.raises(TypeError, match="no layers"):
        lamina.Sequential().pop()


def test_add_errors():
    model = lamina.Sequential()
    with pytest.raises(ValueError, match="Only instances"):
        model.add("dense")
    model.add(layers.Dense(2, name="x"))
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="x"))
    with pytest.raises(ValueError, match="incompatible"):
        lamina.Sequential([layers.Dense(2, input_shape=(3,))])(np.ones((1, 4), "float32"))


def test_layer_weights_after_call_and_node_api():
    dense = layers.Dense(4)
    model = lamina.Sequential([layers.Dense(3, input_shape=(2,)), dense])
    assert dense.kernel.shape == (3, 4)
    assert dense.input_shape == (None, 3) and dense.output_shape == (None, 4)
    assert dense.get_output_shape_at(0) == (None, 4)


def test_sequential_config_round_trip():
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,), activation="relu"), layers.Dense(2)], name="seq")
    config = model.get_config()
    assert config["name"] == "seq" and config["layers"][0]["class_name"] == "InputLayer"
    clone = lamina.Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    x = torch.randn(2, 3)
    torch.testing.assert_close(clone(x), model(x))


@pytest.mark.oracle
def test_sequential_matches_oracle_and_loads_its_config(oracle, rng):
    ref = oracle.Sequential(
        [oracle.Input((5,)), oracle.layers.Dense(4, activation="tanh"), oracle.layers.Dense(3, activation="softmax")]
    )
    model = lamina.Sequential.from_config(ref.get_config())
    model.set_weights(ref.get_weights())
    x = rng.standard_normal((3, 5)).astype("float32")
    np.testing.assert_allclose(model(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    assert model.output_shape == ref.output_shape


def test_nested_sequential_and_trainable():
    inner = lamina.Sequential([layers.Dense(3, input_shape=(2,))])
    outer = lamina.Sequential([inner, layers.Dense(1)])
    assert outer.output_shape == (None, 1)
    inner.trainable = False
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 2


def test_keras2_predict_classes_and_predict_proba():
    x = np.random.rand(6, 4).astype("float32")
    softmax = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="softmax")])
    np.testing.assert_array_equal(softmax.predict_classes(x), softmax.predict(x, verbose=0).argmax(-1))
    sigmoid = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1, activation="sigmoid")])
    classes = sigmoid.predict_classes(x)
    assert classes.dtype == np.int32 and classes.shape == (6, 1)
    np.testing.assert_array_equal(classes, (sigmoid.predict(x, verbose=0) > 0.5).astype("int32"))
    np.testing.assert_allclose(softmax.predict_proba(x), softmax.predict(x, verbose=0))
    linear = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2, bias_initializer="ones")])
    with pytest.warns(UserWarning, match="invalid probability values"):
        linear.predict_proba(x + 10)
