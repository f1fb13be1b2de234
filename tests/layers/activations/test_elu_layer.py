"""Tests for lamina.layers.ELU."""

import numpy as np
import pytest

import lamina
from lamina import layers


X = np.random.default_rng(1).standard_normal((4, 6)).astype("float32") * 3


@pytest.mark.oracle
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_matches_oracle(oracle, alpha):
    expected = np.asarray(oracle.layers.ELU(alpha=alpha)(X))
    np.testing.assert_allclose(layers.ELU(alpha=alpha)(X).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_elu_config_matches_oracle(oracle):
    k, ours = oracle.layers.ELU(alpha=0.7, name="e"), layers.ELU(alpha=0.7, name="e")
    assert ours.get_config() == k.get_config()
    for layer in (layers.ELU.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.ELU) and layer.alpha == 0.7 and layer.name == "e"


def test_elu_invalid_alpha_and_symbolic():
    with pytest.raises(ValueError, match="alpha"):
        layers.ELU(alpha=None)
    assert layers.ELU()(lamina.Input((2, 3))).shape == (None, 2, 3)
