"""Tests for lamina.layers.core.activation.Activation."""

import numpy as np
import pytest
import torch

import lamina
from lamina import activations, layers
from lamina.layers.core.activation import Activation
from lamina.layers.core.masking import Masking


X = np.linspace(-3, 3, 12, dtype="float32").reshape(3, 4)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["relu", "softmax", "tanh", "gelu", "selu", "linear", None])
def test_matches_oracle(oracle, name):
    expected = np.asarray(oracle.layers.Activation(name)(X))
    got = Activation(name)(X)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_any_callable():
    np.testing.assert_allclose(Activation(torch.tanh)(X).numpy(), np.tanh(X), rtol=1e-6)
    np.testing.assert_allclose(Activation(lambda x: 2 * x)(X).numpy(), 2 * X)
    assert Activation(activations.relu).activation is activations.relu


@pytest.mark.oracle
def test_symbolic_shape(oracle):
    expected = oracle.layers.Activation("relu").compute_output_shape((None, None, 4))
    y = Activation("relu")(lamina.Input((None, 4)))
    assert y.shape == tuple(expected) == (None, None, 4)


def test_mask_passes_through():
    x = np.ones((2, 3, 2), "float32")
    x[0, 1] = 0
    out = Activation("relu")(Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True], [True, True, True]])
    y = Activation("relu")(Masking()(lamina.Input((3, 2))))
    assert y._keras_mask.shape == (None, 3)


@pytest.mark.oracle
def test_config_round_trip(oracle):
    k = oracle.layers.Activation("softplus", name="act")
    ours = Activation("softplus", name="act")
    assert ours.get_config() == k.get_config()
    assert ours.built and ours.weights == []
    for layer in (Activation.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, Activation) and layer.name == "act"
        assert layer.activation is activations.softplus


def test_invalid_activation():
    with pytest.raises(ValueError, match="not_an_activation"):
        Activation("not_an_activation")
    with pytest.raises(ValueError, match="3"):
        Activation(3)
