"""`Model.save(zipped=False)` (Keras 3's unzipped folder form) and the saving functions' arguments."""

import json
import os
import zipfile

import numpy as np
import pytest

import lamina
from lamina import layers


def _model():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    return model


def _same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


def test_unzipped_folder_holds_the_archive_members_and_loads(tmp_path):
    model = _model()
    folder = tmp_path / "saved_model"
    model.save(folder, zipped=False)
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    zipped = tmp_path / "m.keras"
    model.save(zipped)
    with zipfile.ZipFile(zipped) as z:
        assert json.loads(z.read("config.json")) == json.loads((folder / "config.json").read_bytes())
    loaded = lamina.models.load_model(folder)
    _same_weights(loaded, model)
    assert loaded.optimizer is not None
    # Saving again replaces the folder, leaving no temporaries.
    model.layers[0].kernel.assign(np.ones((4, 3), "float32"))
    lamina.saving.save_model(model, folder, zipped=False)
    _same_weights(lamina.models.load_model(folder), model)
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "saved_model"]


@pytest.mark.oracle
def test_unzipped_folders_move_between_keras_and_lamina(oracle, tmp_path):
    ref = oracle.Sequential([oracle.Input((4,)), oracle.layers.Dense(3)])
    ref.save(tmp_path / "from_keras", zipped=False)
    loaded = lamina.models.load_model(tmp_path / "from_keras")
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)
    loaded.save(tmp_path / "from_lamina", zipped=False)
    back = oracle.saving.load_model(tmp_path / "from_lamina")
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(ref(x)), rtol=1e-5, atol=1e-6)


def test_unzipped_folder_is_checked_like_an_archive(tmp_path):
    model = _model()
    folder = tmp_path / "f"
    model.save(folder, zipped=False)
    (folder / "evil.py").write_text("print('x')")
    with pytest.raises(ValueError, match="unexpected archive member 'evil.py'"):
        lamina.models.load_model(folder)
    os.remove(folder / "evil.py")
    os.remove(folder / "config.json")
    os.symlink("/etc/passwd", folder / "config.json")
    with pytest.raises(ValueError, match="symbolic link"):
        lamina.models.load_model(folder)


def test_zipped_and_extension_must_agree(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="should not end in `.keras`"):
        model.save(tmp_path / "m.keras", zipped=False)
    with pytest.raises(ValueError, match="extension"):
        model.save(tmp_path / "m.zip")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        model.save(tmp_path / "file", zipped=False)


def test_unknown_keyword_arguments_raise_type_errors(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    with pytest.raises(TypeError, match=r"Model.save\(\).*\['compression'\]"):
        model.save(path, compression=True)
    with pytest.raises(TypeError, match=r"\['compression'\]"):
        lamina.saving.save_model(model, path, compression=True)
    assert not path.exists()
    model.save(path, include_optimizer=False, save_format="keras")  # Keras's accepted spellings
    with pytest.raises(ValueError, match="save_format"):
        model.save(tmp_path / "m2.keras", save_format="tf")
    with pytest.raises(TypeError, match=r"load_weights\(\).*\['strict'\]"):
        model.load_weights(path, strict=True)
    with pytest.raises(TypeError, match=r"\['strict'\]"):
        lamina.saving.load_weights(model, path, strict=True)
    model.load_weights(path, by_name=None, objects_to_skip=None)
    with pytest.raises(ValueError, match="by_name"):
        model.load_weights(path, by_name=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.save_weights(tmp_path / "w.weights.h5", compression=True)
    with pytest.raises(ValueError, match="max_shard_size"):
        model.save_weights(tmp_path / "w.weights.h5", max_shard_size=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        lamina.models.load_model(path, strict=True)


def test_optimizer_saved_before_its_first_step_loads_with_a_warning(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="Skipping the optimizer state"):
        loaded = lamina.models.load_model(tmp_path / "m.keras")
    _same_weights(loaded, model)
