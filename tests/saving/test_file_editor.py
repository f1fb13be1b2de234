"""`saving.KerasFileEditor`: reads what Keras's editor reads, edits the same way, refuses unsafe files."""

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import KerasFileEditor


def _flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}/{key}"))
        else:
            out[f"{prefix}/{key}"] = np.asarray(value)
    return out


def _assert_same_tree(a, b):
    a, b = _flat(a), _flat(b)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _keras_files(oracle, tmp_path):
    x = oracle.Input((4,))
    h = oracle.layers.Dense(3, name="d1")(x)
    h = oracle.layers.BatchNormalization(name="bn")(h)
    model = oracle.Model(x, oracle.layers.Dense(2, name="d2")(h))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4)), np.ones((4, 2)), verbose=0)
    model.save(tmp_path / "model.keras")
    model.save_weights(tmp_path / "model.weights.h5")
    return model


def _edit(editor):
    editor.delete_object("layers/dense_1")
    editor.add_object("layers/dense_1", {"0": np.ones((3, 5), "float32"), "1": np.zeros(5, "float32")})
    editor.rename_object("layers/batch_normalization", "norm")
    editor.delete_weight("layers/dense", "1")
    editor.add_weights("layers/dense", {"1": np.full(3, 7.0, "float32")})
    editor.delete_object("optimizer")


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["model.keras", "model.weights.h5"])
def test_reads_and_edits_like_keras(oracle, tmp_path, name, capsys):
    _keras_files(oracle, tmp_path)
    theirs = oracle.saving.KerasFileEditor(str(tmp_path / name))
    ours = KerasFileEditor(tmp_path / name)
    _assert_same_tree(ours.weights_dict, theirs.weights_dict)
    if name.endswith(".keras"):
        assert ours.config == theirs.config and ours.metadata == theirs.metadata
    _edit(theirs)
    _edit(ours)
    theirs.save(str(tmp_path / "theirs.weights.h5"))
    ours.save(tmp_path / "ours.weights.h5")
    _assert_same_tree(
        KerasFileEditor(tmp_path / "ours.weights.h5").weights_dict,
        oracle.saving.KerasFileEditor(str(tmp_path / "theirs.weights.h5")).weights_dict,
    )


@pytest.mark.oracle
def test_an_edited_file_fits_the_new_architecture(oracle, tmp_path, capsys):
    old = _keras_files(oracle, tmp_path)
    x = lamina.Input((4,))
    h = lamina.layers.Dense(3, name="d1")(x)
    h = lamina.layers.BatchNormalization(name="bn")(h)
    new = lamina.Model(x, lamina.layers.Dense(5, name="d2")(h))
    editor = KerasFileEditor(tmp_path / "model.weights.h5")
    result = editor.compare(new)
    assert result["status"] == "error" and result["error_count"] == 3  # two shapes, the optimizer
    assert "Weight shape mismatch for /layers/dense_1/0" in capsys.readouterr().out
    editor.delete_object("optimizer")
    editor.delete_object("layers/dense_1")
    editor.add_object("layers/dense_1", {"0": np.full((3, 5), 0.5, "float32"), "1": np.ones(5, "float32")})
    assert editor.compare(new) == {"status": "success", "error_count": 0, "match_count": 8}
    editor.resave_weights(tmp_path / "edited.weights.h5")
    new.load_weights(tmp_path / "edited.weights.h5")
    np.testing.assert_array_equal(new.get_weights()[0], np.asarray(old.get_weights()[0]))
    np.testing.assert_array_equal(new.layers[-1].kernel.numpy(), np.full((3, 5), 0.5))


def test_summary_shows_objects_names_and_shapes(tmp_path, capsys):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3, name="first")])
    model.save_weights(tmp_path / "m.weights.h5")
    KerasFileEditor(tmp_path / "m.weights.h5").summary()
    out = capsys.readouterr().out
    assert "dense ('first')" in out and "0: shape=(2, 3), dtype=float32" in out


def test_editing_errors(tmp_path):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3), lamina.layers.Dense(1)])
    model.save_weights(tmp_path / "m.weights.h5")
    editor = KerasFileEditor(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="does not appear"):
        editor.delete_object("conv")
    with pytest.raises(ValueError, match="not found"):
        editor.delete_object("layers/conv")
    with pytest.raises(ValueError, match="leaf name"):
        editor.rename_object("dense", "layers/x")
    with pytest.raises(ValueError, match="already taken"):
        editor.rename_object("dense", "dense_1")
    with pytest.raises(ValueError, match="Weight 7 not found"):
        editor.delete_weight("dense", "7")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("dense", [np.ones(3)])
    with pytest.raises(ValueError, match="not found"):
        editor.add_object("blocks/dense", {"0": np.ones(3)})
    with pytest.raises(ValueError, match=".weights.h5"):
        editor.save(tmp_path / "out.h5")
    with pytest.raises(ValueError, match="extension"):
        KerasFileEditor(tmp_path / "m.h5")
    editor.rename_object("dense", "renamed")
    assert list(editor.weights_dict["layers"]) == ["renamed", "dense_1"]


@pytest.mark.parametrize("kind", ["soft", "external"])
def test_files_with_links_are_refused(tmp_path, kind):
    path = tmp_path / "bad.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("layers/dense/vars").create_dataset("0", data=np.ones(2))
        if kind == "soft":
            f["layers/dense/vars/1"] = h5py.SoftLink("/layers/dense/vars/0")
        else:
            f["layers/dense/vars/1"] = h5py.ExternalLink("/etc/passwd", "/x")
    with pytest.raises(ValueError, match="Not allowed"):
        KerasFileEditor(path)


def test_non_numeric_weights_are_refused(tmp_path):
    path = tmp_path / "bad.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("layers/dense/vars").create_dataset("0", data=np.array([b"x"], dtype=h5py.string_dtype()))
    with pytest.raises(ValueError, match="non-numeric"):
        KerasFileEditor(path)
