"""Tests for lamina.layers.ReLU."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


X = np.linspace(-4, 8, 24, dtype="float32").reshape(2, 3, 4)
CONFIGS = [
    {},
    {"max_value": 6.0},
    {"max_value": 2.5},
    {"negative_slope": 0.1},
    {"threshold": 1.5},
    {"max_value": 3.0, "negative_slope": 0.2, "threshold": 1.0},
    {"max_value": 0.5, "threshold": 2.0},
]


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_relu_matches_oracle(oracle, kwargs):
    expected = np.asarray(oracle.layers.ReLU(**kwargs)(X))
    got = layers.ReLU(**kwargs)(X)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layers.ReLU(**kwargs)(torch.from_numpy(X)).numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_relu_config_matches_oracle(oracle):
    kwargs = {"max_value": 3.0, "negative_slope": 0.2, "threshold": 1.0, "name": "r"}
    k, ours = oracle.layers.ReLU(**kwargs), layers.ReLU(**kwargs)
    assert ours.get_config() == k.get_config()
    assert ours.built and ours.weights == []
    for layer in (layers.ReLU.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.ReLU)
        assert (layer.max_value, layer.negative_slope, layer.threshold, layer.name) == (3.0, 0.2, 1.0, "r")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_value": -1.0}, "max_value"),
        ({"negative_slope": -0.1}, "negative_slope"),
        ({"negative_slope": None}, "negative_slope"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"max_value": "6"}, "max_value"),
    ],
)
def test_relu_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        layers.ReLU(**kwargs)


def test_relu_symbolic_sequential_and_mask():
    y = layers.ReLU(max_value=1.0)(lamina.Input((None, 4)))
    assert y.shape == (None, None, 4)
    model = lamina.Sequential([lamina.Input((3, 4)), layers.ReLU(negative_slope=0.5)])
    np.testing.assert_allclose(model(X).numpy(), np.where(X > 0, X, 0.5 * X), rtol=1e-6)
    x = np.ones((2, 3, 2), "float32")
    x[0, 1] = 0
    out = layers.ReLU()(layers.Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True], [True, True, True]])
