"""Tests for lamina.layers.core.masking.Masking."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.core.dense import Dense
from lamina.layers.core.masking import Masking


def _seed_example():
    """Seed 001: sample 0 lacks timestep 3 and sample 2 lacks timestep 5."""
    x = np.random.default_rng(0).random((3, 6, 2)).astype("float32") + 0.5
    x[0, 3, :] = 0.0
    x[2, 5, :] = 0.0
    return x


@pytest.mark.oracle
@pytest.mark.parametrize("mask_value", [0.0, 1.0, np.inf])
def test_matches_oracle(oracle, mask_value):
    x = _seed_example()
    x[1, 2, :] = mask_value
    x[1, 4, 0] = mask_value  # only one feature equal: not masked
    k = oracle.layers.Masking(mask_value=mask_value)
    ours = Masking(mask_value=mask_value)
    out = ours(x)
    np.testing.assert_array_equal(out.numpy(), np.asarray(k(x)))
    np.testing.assert_array_equal(out._keras_mask.numpy(), np.asarray(k.compute_mask(x)))


def test_seed_example_mask_values():
    x = _seed_example()
    model = lamina.Sequential([Masking(mask_value=0.0, input_shape=(6, 2)), Dense(3)])
    out = model(x)
    expected = np.ones((3, 6), bool)
    expected[0, 3] = expected[2, 5] = False
    np.testing.assert_array_equal(out._keras_mask.numpy(), expected)
    np.testing.assert_array_equal(Masking().compute_mask(torch.as_tensor(x)).numpy(), expected)


@pytest.mark.oracle
def test_symbolic_shape_and_mask(oracle):
    expected = oracle.layers.Masking().compute_output_shape((None, None, 4))
    y = Masking()(lamina.Input((None, 4)))
    assert y.shape == tuple(expected) == (None, None, 4)
    assert y._keras_mask.shape == (None, None) and y._keras_mask.dtype == "bool"


def test_masked_steps_are_zeroed_and_unmasked_kept():
    x = torch.tensor([[[2.0, 2.0], [2.0, 5.0]]])
    out = Masking(mask_value=2)(x)
    np.testing.assert_array_equal(out.numpy(), [[[0.0, 0.0], [2.0, 5.0]]])


@pytest.mark.oracle
def test_config_round_trip(oracle):
    k = oracle.layers.Masking(mask_value=-1.0, name="m")
    ours = Masking(mask_value=-1.0, name="m")
    assert ours.get_config() == k.get_config()
    for layer in (Masking.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, Masking) and layer.mask_value == -1.0 and layer.name == "m"
    assert ours.built and ours.weights == []


@pytest.mark.parametrize("bad", ["a", None, [0.0, 1.0]])
def test_invalid_mask_value(bad):
    with pytest.raises(ValueError, match="mask_value"):
        Masking(mask_value=bad)


def test_scalar_input_rejected():
    with pytest.raises(ValueError, match="min_ndim=1"):
        Masking()(torch.tensor(1.0))
