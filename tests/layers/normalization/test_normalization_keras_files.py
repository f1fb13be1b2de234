"""Models with normalization layers move between Keras 3 and Lamina through ``.keras`` files."""

import numpy as np
import pytest

import lamina

pytestmark = pytest.mark.oracle


def _model(lib):
    x = lib.Input((5, 4), name="x")
    h = lib.layers.Dense(6, name="d")(x)
    h = lib.layers.BatchNormalization(momentum=0.9, name="bn")(h)
    h = lib.layers.LayerNormalization(axis=[1, 2], name="ln")(h)
    h = lib.layers.GroupNormalization(3, name="gn")(h)
    h = lib.layers.BatchNormalization(renorm=True, name="bn_renorm")(h)
    return lib.Model(x, lib.layers.UnitNormalization(name="un")(lib.layers.RMSNormalization(name="rms")(h)))


def _trained(lib, x):
    model = _model(lib)
    for _ in range(3):
        model(x, training=True)
    return model


def test_keras_saved_batch_normalization_loads_in_lamina(oracle, tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 5, 4)).astype("float32") * 2 + 1
    ref = _trained(oracle, x)
    ref.save(tmp_path / "k.keras")
    model = lamina.models.load_model(tmp_path / "k.keras")
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(model(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        model(x, training=True).detach().numpy(), np.asarray(ref(x, training=True)), rtol=1e-5, atol=1e-5
    )


def test_lamina_saved_batch_normalization_loads_in_keras(oracle, tmp_path):
    x = np.random.default_rng(1).normal(size=(4, 5, 4)).astype("float32") * 2 + 1
    model = _trained(lamina, x)
    model.save(tmp_path / "l.keras")
    ref = oracle.models.load_model(tmp_path / "l.keras")
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(ref(x)), model(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    model.save_weights(tmp_path / "l.weights.h5")
    other = _model(oracle)
    other.load_weights(tmp_path / "l.weights.h5")
    np.testing.assert_allclose(np.asarray(other(x)), model(x).detach().numpy(), rtol=1e-5, atol=1e-5)
