"""Tests for lamina.layers.ThresholdedReLU (Keras 2 layer: no Keras 3 oracle)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.parametrize("theta", [1.0, 0.0, 0.25, 2])
def test_thresholded_relu_formula(theta):
    x = np.array([[-2.0, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0]], "float32")
    expected = np.where(x > theta, x, 0.0)
    np.testing.assert_array_equal(layers.ThresholdedReLU(theta=theta)(x).numpy(), expected)
    np.testing.assert_array_equal(layers.ThresholdedReLU(theta=theta)(torch.from_numpy(x)).numpy(), expected)


def test_thresholded_relu_default_and_infinities():
    out = layers.ThresholdedReLU()(np.array([-np.inf, 1.0, 1.0001, np.inf], "float32"))
    np.testing.assert_array_equal(out.numpy(), np.array([0.0, 0.0, 1.0001, np.inf], "float32"))


def test_thresholded_relu_config_round_trip():
    layer = layers.ThresholdedReLU(theta=2, name="t")
    config = layer.get_config()
    assert config["theta"] == 2.0 and isinstance(config["theta"], float)
    again = layers.deserialize(layers.serialize(layer))
    assert isinstance(again, layers.ThresholdedReLU) and again.theta == 2.0 and again.name == "t"
    # The Keras 2 (legacy) form of a saved config.
    legacy = layers.deserialize({"class_name": "ThresholdedReLU", "config": {"theta": 0.5, "name": "old"}})
    assert legacy.theta == 0.5


@pytest.mark.parametrize("theta", [-1.0, None, "1"])
def test_thresholded_relu_invalid_theta(theta):
    with pytest.raises(ValueError, match="theta"):
        layers.ThresholdedReLU(theta=theta)


def test_thresholded_relu_symbolic_model_and_mask():
    model = lamina.Sequential([lamina.Input((3,)), layers.ThresholdedReLU(0.5)])
    assert model.output_shape == (None, 3)
    np.testing.assert_allclose(model(np.array([[0.4, 0.6, -1.0]], "float32")).numpy(), [[0.0, 0.6, 0.0]], rtol=1e-6)
    x = np.ones((1, 2, 2), "float32")
    x[0, 0] = 0
    out = layers.ThresholdedReLU()(layers.Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[False, True]])
