"""Tests for lamina.layers.LeakyReLU."""

import numpy as np
import pytest

import lamina
from lamina import layers


X = np.random.default_rng(0).standard_normal((3, 5)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("slope", [0.3, 0.0, 0.01, 1.5])
def test_leaky_relu_matches_oracle(oracle, slope):
    expected = np.asarray(oracle.layers.LeakyReLU(negative_slope=slope)(X))
    np.testing.assert_allclose(layers.LeakyReLU(negative_slope=slope)(X).numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(layers.LeakyReLU()(X).numpy(), np.asarray(oracle.layers.LeakyReLU()(X)), rtol=1e-6)


@pytest.mark.oracle
def test_leaky_relu_keras2_alpha_alias(oracle):
    # Seed example: LeakyReLU(alpha=0.3). Accepted with a warning, saved the Keras 3 way.
    with pytest.warns(UserWarning, match="negative_slope"):
        ours = layers.LeakyReLU(alpha=0.1, name="leaky")
    with pytest.warns(UserWarning):
        k = oracle.layers.LeakyReLU(alpha=0.1, name="leaky")
    assert ours.negative_slope == 0.1
    assert ours.get_config() == k.get_config()
    assert "alpha" not in ours.get_config()
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(k(X)), rtol=1e-6, atol=1e-7)


@pytest.mark.oracle
def test_leaky_relu_config_round_trip(oracle):
    k = oracle.layers.LeakyReLU(negative_slope=0.2, name="lr")
    for layer in (layers.LeakyReLU.from_config(layers.LeakyReLU(0.2, name="lr").get_config()),
                  layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.LeakyReLU) and layer.negative_slope == 0.2 and layer.name == "lr"


@pytest.mark.parametrize("slope", [-0.1, None, "0.3"])
def test_leaky_relu_invalid_slope(slope):
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=slope)


def test_leaky_relu_symbolic_and_model():
    assert layers.LeakyReLU()(lamina.Input((7,))).shape == (None, 7)
    model = lamina.Sequential([lamina.Input((5,)), layers.Dense(2), layers.LeakyReLU(0.2)])
    assert model.output_shape == (None, 2)
    assert model(X).shape == (3, 2)
