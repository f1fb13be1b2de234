import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.regularization.gaussian_noise import GaussianNoise


@pytest.mark.oracle
def test_gaussian_noise_statistics_and_inference_match_oracle(oracle, rng):
    x = rng.standard_normal((20, 500)).astype("float32")
    ref = oracle.layers.GaussianNoise(0.3, seed=1)
    ours = GaussianNoise(0.3, seed=1)
    np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))
    np.testing.assert_array_equal(ours(x, training=False).numpy(), x)
    ours_noise = ours(x, training=True).numpy() - x
    ref_noise = np.asarray(ref(x, training=True)) - x
    for noise in (ours_noise, ref_noise):
        assert abs(noise.mean()) < 0.01
        assert abs(noise.std() - 0.3) < 0.01
    assert abs(ours_noise.std() - ref_noise.std()) < 0.01


def test_gaussian_noise_seeded_and_differentiable():
    x = torch.zeros(4, 10, requires_grad=True)
    a = GaussianNoise(0.5, seed=3)(x, training=True)
    b = GaussianNoise(0.5, seed=3)(x, training=True)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, GaussianNoise(0.5, seed=4)(x, training=True))
    a.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(4, 10))
    assert torch.equal(GaussianNoise(0.0)(x, training=True), x)


def test_gaussian_noise_masks_and_symbolic_shape():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.tensor([[True, False, True], [False, True, True]])
    assert torch.equal(GaussianNoise(0.1)(x, training=True)._keras_mask, x._keras_mask)
    assert GaussianNoise(0.1)(lamina.Input((None, 2))).shape == (None, None, 2)


@pytest.mark.oracle
def test_gaussian_noise_config_matches_oracle(oracle):
    ours = GaussianNoise(0.2, seed=4, name="gn").get_config()
    ref = oracle.layers.GaussianNoise(0.2, seed=4, name="gn")
    assert ours == ref.get_config()
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, GaussianNoise) and rebuilt.get_config() == ours
    assert GaussianNoise.from_config(ours).get_config() == ours


@pytest.mark.parametrize("stddev", [-0.1, 1.5, "0.1", None])
def test_gaussian_noise_invalid_stddev(stddev):
    with pytest.raises(ValueError, match=r"`stddev`.*Received: stddev="):
        GaussianNoise(stddev)
