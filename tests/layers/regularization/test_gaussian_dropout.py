import math

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.regularization.gaussian_dropout import GaussianDropout


@pytest.mark.oracle
def test_gaussian_dropout_statistics_and_inference_match_oracle(oracle, rng):
    x = rng.uniform(1.0, 2.0, size=(20, 500)).astype("float32")
    ref = oracle.layers.GaussianDropout(0.2, seed=1)
    ours = GaussianDropout(0.2, seed=1)
    np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))
    np.testing.assert_array_equal(ours(x, training=False).numpy(), x)
    expected_std = math.sqrt(0.2 / 0.8)
    ours_factor = ours(x, training=True).numpy() / x
    ref_factor = np.asarray(ref(x, training=True)) / x
    for factor in (ours_factor, ref_factor):
        assert abs(factor.mean() - 1.0) < 0.02
        assert abs(factor.std() - expected_std) < 0.02


def test_gaussian_dropout_seeded_and_differentiable():
    x = torch.ones(3, 8, requires_grad=True)
    a = GaussianDropout(0.4, seed=9)(x, training=True)
    torch.testing.assert_close(a, GaussianDropout(0.4, seed=9)(x, training=True))
    a.sum().backward()
    torch.testing.assert_close(x.grad, a.detach())
    assert torch.equal(GaussianDropout(0.0)(x, training=True), x)


def test_gaussian_dropout_symbolic_shape():
    assert GaussianDropout(0.1)(lamina.Input((None, 2))).shape == (None, None, 2)


@pytest.mark.oracle
def test_gaussian_dropout_config_matches_oracle(oracle):
    ours = GaussianDropout(0.3, seed=2, name="gd").get_config()
    ref = oracle.layers.GaussianDropout(0.3, seed=2, name="gd")
    assert ours == ref.get_config()
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, GaussianDropout) and rebuilt.get_config() == ours


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2, "a"])
def test_gaussian_dropout_invalid_rate(rate):
    with pytest.raises(ValueError, match=r"`rate`.*\[0, 1\).*Received: rate="):
        GaussianDropout(rate)
