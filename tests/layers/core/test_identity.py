"""Tests for lamina.layers.core.identity.Identity."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.core.identity import Identity
from lamina.layers.core.masking import Masking


@pytest.mark.oracle
def test_matches_oracle(oracle):
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    np.testing.assert_array_equal(Identity()(x).numpy(), np.asarray(oracle.layers.Identity()(x)))
    expected = oracle.layers.Identity().compute_output_shape((None, None, 5))
    y = Identity()(lamina.Input((None, 5), dtype="int32"))
    assert y.shape == tuple(expected) == (None, None, 5)
    assert y.dtype == "int32"


def test_structures_and_masks():
    a, b = torch.ones(2, 3), torch.zeros(2, 1, dtype=torch.int64)
    out = Identity()({"a": a, "b": b})
    assert out["a"] is a and out["b"] is b
    masked = Masking()(torch.tensor([[[0.0], [1.0]]]))
    np.testing.assert_array_equal(Identity()(masked)._keras_mask.numpy(), [[False, True]])


@pytest.mark.oracle
def test_config_round_trip(oracle):
    k = oracle.layers.Identity(name="ident")
    ours = Identity(name="ident")
    assert ours.get_config() == k.get_config()
    assert ours.built and ours.weights == []
    for layer in (Identity.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, Identity) and layer.name == "ident"


def test_unknown_argument():
    with pytest.raises(TypeError, match="units"):
        Identity(units=3)
