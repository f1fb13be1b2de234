"""Tests for lamina.layers.Softmax."""

import numpy as np
import pytest

import lamina
from lamina import layers


RNG = np.random.default_rng(3)
X = RNG.standard_normal((2, 3, 4)).astype("float32") * 4


@pytest.mark.oracle
@pytest.mark.parametrize("axis", [-1, 1, 0, [1, 2], [2], (-2, -1)])
def test_softmax_matches_oracle(oracle, axis):
    expected = np.asarray(oracle.layers.Softmax(axis=axis)(X))
    np.testing.assert_allclose(layers.Softmax(axis=axis)(X).numpy(), expected, rtol=1e-5, atol=1e-7)


MASKS = [
    RNG.random((2, 3, 4)) > 0.4,  # full shape, bool
    (RNG.random((2, 1, 4)) > 0.5).astype("float32"),  # broadcast, 0/1 floats
    np.array([True, False, True, False]),  # lower rank
    np.zeros((2, 3, 4), bool),  # everything masked: all zeros, not uniform
    np.array([0.4, 0.6, 0.9, 0.0], "float32"),  # > 0.5 keeps
]


@pytest.mark.oracle
@pytest.mark.parametrize("mask", MASKS)
def test_softmax_mask_matches_oracle(oracle, mask):
    expected = np.asarray(oracle.layers.Softmax()(X, mask=mask))
    out = layers.Softmax()(X, mask=mask)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-7)
    keep = np.broadcast_to(mask > 0.5, X.shape)
    assert np.all(out.numpy()[~keep] == 0)


@pytest.mark.oracle
def test_softmax_config_matches_oracle(oracle):
    k, ours = oracle.layers.Softmax(axis=[1, 2], name="s"), layers.Softmax(axis=[1, 2], name="s")
    assert ours.get_config() == k.get_config()
    for layer in (layers.Softmax.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.Softmax) and list(layer.axis) == [1, 2] and layer.name == "s"


def test_softmax_mask_errors_and_propagation():
    with pytest.raises(ValueError, match="broadcastable.*mask.shape=\\(2, 3\\)"):
        layers.Softmax()(X, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(X, mask=np.ones((1, 2, 3, 4), bool))
    # An implicit mask (from Masking) whose shape does not broadcast is rejected, as in Keras.
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(layers.Masking()(X))
    mask = np.array([[True, False], [True, True]])
    out = layers.Softmax()(np.ones((2, 2), "float32"), mask=mask)
    np.testing.assert_array_equal(out._keras_mask.numpy(), mask)
    np.testing.assert_allclose(out.numpy(), [[1.0, 0.0], [0.5, 0.5]])


def test_softmax_symbolic_with_mask_input():
    x = lamina.Input((3, 4))
    m = lamina.Input((3, 4), dtype="bool")
    y = layers.Softmax()(x, mask=m)
    assert y.shape == (None, 3, 4)
    model = lamina.Model([x, m], y)
    mask = RNG.random((2, 3, 4)) > 0.3
    np.testing.assert_allclose(model([X, mask]).numpy(), layers.Softmax()(X, mask=mask).numpy(), rtol=1e-6)


@pytest.mark.parametrize("axis", ["last", [], 1.0, [1, None]])
def test_softmax_invalid_axis(axis):
    with pytest.raises(ValueError, match="axis"):
        layers.Softmax(axis=axis)


@pytest.mark.oracle
def test_softmax_explicit_mask_model_saves_and_loads(oracle, tmp_path):
    x = lamina.Input((3, 4), name="logits")
    m = lamina.Input((3, 4), dtype="bool", name="keep")
    model = lamina.Model([x, m], layers.Softmax(axis=-1)(x, mask=m))
    model.save(tmp_path / "s.keras")
    mask = RNG.random((2, 3, 4)) > 0.3
    expected = model([X, mask]).numpy()
    loaded = lamina.models.load_model(tmp_path / "s.keras")
    np.testing.assert_allclose(loaded([X, mask]).numpy(), expected, rtol=1e-6)
    keras_model = oracle.models.load_model(tmp_path / "s.keras")
    np.testing.assert_allclose(np.asarray(keras_model([X, mask])), expected, rtol=1e-5, atol=1e-7)
