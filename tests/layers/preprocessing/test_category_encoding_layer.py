"""Tests for lamina.layers.CategoryEncoding."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


INPUTS = {
    "rank1": np.array([0, 1, 3, 3]),
    "rank2": np.array([[0, 1], [3, 3], [2, 2]]),
    "column": np.array([[1], [2], [0]]),
    "scalar": np.array(2),
    "int32": np.array([[0, 4, 4, 1]], "int32"),
}


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["multi_hot", "one_hot", "count"])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_category_encoding_matches_oracle(oracle, mode, name):
    x = INPUTS[name]
    expected = np.asarray(oracle.layers.CategoryEncoding(5, output_mode=mode)(x))
    got = layers.CategoryEncoding(5, output_mode=mode)(x)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), expected)
    np.testing.assert_array_equal(layers.CategoryEncoding(5, output_mode=mode)(torch.from_numpy(x)).numpy(), expected)


@pytest.mark.oracle
@pytest.mark.parametrize("weights", [np.array([[0.5, 1.0], [2.0, 0.25], [1.0, 1.0]], "float32"), np.array([[1, 2], [3, 4], [5, 6]])])
def test_category_encoding_count_weights_match_oracle(oracle, weights):
    x = INPUTS["rank2"]
    expected = np.asarray(oracle.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=weights))
    got = layers.CategoryEncoding(4, output_mode="count")(x, count_weights=weights)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("mode, shape", [("multi_hot", (3,)), ("count", (1,)), ("one_hot", (3,)), ("one_hot", (1,))])
def test_category_encoding_symbolic_shape_matches_oracle(oracle, mode, shape):
    expected = oracle.layers.CategoryEncoding(6, output_mode=mode)(oracle.Input(shape, dtype="int32"))
    got = layers.CategoryEncoding(6, output_mode=mode)(lamina.Input(shape, dtype="int32"))
    assert got.shape == tuple(expected.shape) and got.dtype == expected.dtype


@pytest.mark.oracle
def test_category_encoding_config_matches_oracle(oracle):
    k = oracle.layers.CategoryEncoding(7, output_mode="count", name="ce")
    ours = layers.CategoryEncoding(7, output_mode="count", name="ce")
    assert ours.get_config() == k.get_config()
    for layer in (layers.CategoryEncoding.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.CategoryEncoding)
        assert (layer.num_tokens, layer.output_mode, layer.name) == (7, "count", "ce")
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"  # Keras 2 name


def test_category_encoding_out_of_range_and_bad_inputs():
    layer = layers.CategoryEncoding(4, name="cats")
    for bad in (np.array([[0, 4]]), np.array([[-1, 2]])):
        with pytest.raises(ValueError, match="cats.*0 <= values < num_tokens with num_tokens=4"):
            layer(bad)
    with pytest.raises(ValueError, match="fractional"):
        layer(np.array([[0.5, 1.0]], "float32"))
    np.testing.assert_array_equal(layer(np.array([[1.0, 3.0]], "float32")).numpy(), [[0, 1, 0, 1]])
    with pytest.raises(ValueError, match="rank 1 or 2"):
        layer(np.zeros((2, 3, 2), "int64"))
    with pytest.raises(ValueError, match="rank 1 or 2"):
        layer(lamina.Input((3, 2), dtype="int32"))
    with pytest.raises(ValueError, match="count_weights"):
        layer(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
    with pytest.raises(ValueError, match="shape of the inputs"):
        layers.CategoryEncoding(4, output_mode="count")(np.array([[0, 1]]), count_weights=np.ones((1, 3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [({}, "num_tokens must be set"), ({"num_tokens": 0}, "num_tokens"), ({"num_tokens": 2.5}, "num_tokens"),
     ({"num_tokens": 3, "output_mode": "int"}, "output_mode")],
)
def test_category_encoding_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.CategoryEncoding(**kwargs)


def test_category_encoding_sparse_and_one_hot_any_rank():
    x = INPUTS["rank2"]
    sparse = layers.CategoryEncoding(4, sparse=True)(x)
    assert sparse.is_sparse
    np.testing.assert_array_equal(sparse.to_dense().numpy(), layers.CategoryEncoding(4)(x).numpy())
    out = layers.CategoryEncoding(4, output_mode="one_hot")(np.zeros((2, 3, 2), "int64"))
    assert out.shape == (2, 3, 2, 4)


def test_category_encoding_in_trained_model():
    inputs = lamina.Input((3,), dtype="int32")
    outputs = layers.Dense(1)(layers.CategoryEncoding(5, output_mode="count")(inputs))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).integers(0, 5, size=(16, 3)).astype("int32")
    history = model.fit(x, x.sum(axis=1, keepdims=True).astype("float32"), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
