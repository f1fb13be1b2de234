"""`.keras` and `.weights.h5` files: Lamina round trips and interop with Keras 3 in both directions."""

import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _lamina_model():
    x = lamina.Input((4,), name="x")
    h = layers.Dense(3, activation="relu", name="d1")(x)
    inner = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, name="inner_d")], name="inner")
    return lamina.Model(x, inner(h), name="m")


def _keras_model(keras):
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, activation="relu", name="d1")(x)
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner_d")], name="inner")
    return keras.Model(x, inner(h), name="m")


def test_round_trip_keeps_outputs_and_config(tmp_path):
    model = _lamina_model()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = torch.randn(3, 4)
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()
    assert [l.name for l in loaded.layers] == ["x", "d1", "inner"]


def test_weights_file_layout_matches_keras(tmp_path):
    model = _lamina_model()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    names = []
    with h5py.File(path) as f:
        f.visit(names.append)
        assert f["layers/dense/vars"].attrs["name"] == "d1"
    assert "layers/dense/vars/0" in names and "layers/sequential/layers/dense/vars/1" in names
    other = _lamina_model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_keras_saved_model_loads_in_lamina(oracle, tmp_path):
    ref = _keras_model(oracle)
    path = tmp_path / "keras.keras"
    ref.save(path)
    model = lamina.models.load_model(path)
    x = np.random.rand(5, 4).astype("float32")
    np.testing.assert_allclose(model(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    wpath = tmp_path / "keras.weights.h5"
    ref.save_weights(wpath)
    fresh = _lamina_model()
    fresh.load_weights(wpath)
    np.testing.assert_allclose(fresh(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_lamina_saved_model_loads_in_keras(oracle, tmp_path):
    model = _lamina_model()
    path = tmp_path / "lamina.keras"
    model.save(path)
    ref = oracle.models.load_model(path)
    x = np.random.rand(5, 4).astype("float32")
    np.testing.assert_allclose(np.asarray(ref(x)), model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    wpath = tmp_path / "lamina.weights.h5"
    model.save_weights(wpath)
    other = _keras_model(oracle)
    other.load_weights(wpath)
    np.testing.assert_allclose(np.asarray(other(x)), model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sequential_and_to_json(tmp_path):
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,), activation="tanh"), layers.Dense(1)])
    model.save(tmp_path / "s.keras")
    loaded = lamina.models.load_model(tmp_path / "s.keras")
    x = torch.randn(2, 3)
    torch.testing.assert_close(loaded(x), model(x))
    rebuilt = lamina.models.model_from_json(model.to_json())
    assert rebuilt.output_shape == (None, 1) and rebuilt.layers[0].activation is model.layers[0].activation


def test_clone_model_has_new_weights():
    model = _lamina_model()
    clone = lamina.models.clone_model(model)
    assert clone.get_config() == model.get_config()
    assert all(a is not b for a, b in zip(clone.weights, model.weights))


def test_weight_mismatch_errors(tmp_path):
    model = _lamina_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    x = lamina.Input((5,), name="x")
    h = layers.Dense(3, name="d1")(x)
    inner = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)], name="inner")
    other = lamina.Model(x, inner(h))
    with pytest.raises(ValueError, match=r"Shape mismatch.*\(4, 3\).*\(5, 3\)"):
        other.load_weights(path)
    other.load_weights(path, skip_mismatch=True)
    with pytest.raises(ValueError, match="weights.h5"):
        model.save_weights(tmp_path / "w.npz")
    # A plain `.h5` name writes the legacy (Keras 2) layout, as Keras 2 did (Keras 3 refuses it).
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert "layer_names" in f.attrs


def test_atomic_save_keeps_previous_file(tmp_path, monkeypatch):
    model = _lamina_model()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


@pytest.mark.oracle
def test_trained_models_move_between_keras_and_lamina_with_optimizer_state(oracle, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.standard_normal((32, 2)).astype("float32")
    ref = _keras_model(oracle)
    ref.compile(optimizer="adam", loss="mse")
    ref.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    ref.save(tmp_path / "trained.keras")

    model = lamina.models.load_model(tmp_path / "trained.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(ref.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == int(ref.optimizer.iterations.numpy()) == 8
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    ref.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-6)

    model.save(tmp_path / "back.keras")
    back = oracle.models.load_model(tmp_path / "back.keras")
    assert int(back.optimizer.iterations.numpy()) == 12
    back.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-6)
