"""Hostile legacy ``.h5`` files: code in configs, HDF5 indirection, size bombs, bad attributes.

Each attack starts from a valid file Lamina wrote and must be refused with a ValueError naming
the file and what is wrong, before any other file is read or any large allocation happens.
"""

import json
import os
import warnings

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import legacy_h5_format

CANARY = b"CANARY-SECRET-0123456789"


def _model():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])


def _save(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


def _mark_unread(path):
    # Any read updates an access time older than the modification time (relatime).
    os.utime(path, (0, os.stat(path).st_mtime))
    return path


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "outside" / "secret.bin"
    path.parent.mkdir()
    path.write_bytes(CANARY)
    return _mark_unread(path)


@pytest.fixture
def canary_h5(tmp_path):
    path = tmp_path / "outside_h5" / "secret.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f.create_dataset("secret", data=np.frombuffer(CANARY[:12], "float32"))
        f.create_group("grp").create_dataset("kernel", data=np.zeros((4, 3), "float32"))
    return _mark_unread(path)


def _edit(path, edit):
    with h5py.File(path, "a") as f:
        edit(f)
    return path


# --- Lambda bytecode --------------------------------------------------------------------------


def _lambda_file(tmp_path, keras2_form):
    model = lamina.Sequential([lamina.Input((3,)), layers.Lambda(lambda x: x * 2.0, name="doubler")])
    path = _save(model, tmp_path / "lambda.h5")
    if keras2_form:
        # As tf.keras 2.x wrote it: [code, defaults, closure] and a `function_type`.
        def edit(f):
            config = json.loads(f.attrs["model_config"])
            layer = next(e for e in config["config"]["layers"] if e["class_name"] == "Lambda")
            stored = layer["config"]["function"]["config"]
            layer["config"]["function"] = [stored["code"], stored.get("defaults"), stored.get("closure")]
            layer["config"]["function_type"] = "lambda"
            layer["config"]["module"] = "__main__"
            f.attrs["model_config"] = json.dumps(config).encode()
        _edit(path, edit)
    return path


@pytest.mark.parametrize("keras2_form", [False, True])
def test_lambda_bytecode_refused_unless_safe_mode_off(tmp_path, keras2_form):
    path = _lambda_file(tmp_path, keras2_form)
    with pytest.raises(ValueError, match=r"lambda\.h5.*Lambda layer 'doubler'.*bytecode.*safe_mode=False"):
        lamina.models.load_model(path)
    model = lamina.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(model.predict(np.ones((2, 3), "float32"), verbose=0), 2.0)


def test_lambda_nested_in_a_submodel_is_refused(tmp_path):
    inner = lamina.Sequential([lamina.Input((3,)), layers.Lambda(lambda x: x + 1.0, name="inner_fn")], name="inner")
    i = lamina.Input((3,))
    path = _save(lamina.Model(i, inner(i)), tmp_path / "nested.h5")
    with pytest.raises(ValueError, match="Lambda layer 'inner_fn'"):
        lamina.models.load_model(path)


# --- HDF5 indirection -------------------------------------------------------------------------

_BIAS = "model_weights/dense_1/sequential/dense_1/bias"
_KERNEL = "model_weights/dense/sequential/dense/kernel"


def _external_storage(canary):
    def edit(f):
        del f[_BIAS]
        f.create_dataset(_BIAS, shape=(2,), dtype="float32", external=[(str(canary), 0, 8)])
    return edit


def _external_link(canary_h5):
    def edit(f):
        del f[_BIAS]
        f[_BIAS] = h5py.ExternalLink(str(canary_h5), "/secret")
    return edit


def _external_layer_group(canary_h5):
    def edit(f):
        del f["model_weights/dense"]
        f["model_weights/dense"] = h5py.ExternalLink(str(canary_h5), "/grp")
    return edit


def _external_weights_group(canary_h5):
    def edit(f):
        del f["model_weights"]
        f["model_weights"] = h5py.ExternalLink(str(canary_h5), "/grp")
    return edit


def _soft_link(f):
    f.create_dataset("elsewhere", data=np.zeros(2, "float32"))
    del f[_BIAS]
    f[_BIAS] = h5py.SoftLink("/elsewhere")


def _virtual(canary_h5):
    def edit(f):
        del f[_BIAS]
        layout = h5py.VirtualLayout(shape=(2,), dtype="float32")
        layout[:] = h5py.VirtualSource(str(canary_h5), "secret", shape=(3,))[:2]
        f.create_virtual_dataset(_BIAS, layout)
    return edit


@pytest.mark.parametrize("attack, message", [
    ("external_storage", "external storage"),
    ("external_link", "ExternalLink"),
    ("external_layer_group", "no plain group for layer 'dense'"),
    ("external_weights_group", "no plain `model_weights` group"),
    ("soft_link", "SoftLink"),
    ("virtual", "virtual dataset"),
])
@pytest.mark.parametrize("entry", ["load_model", "load_weights"])
def test_indirection_is_refused(tmp_path, canary, canary_h5, attack, message, entry):
    edit = {
        "external_storage": _external_storage(canary),
        "external_link": _external_link(canary_h5),
        "external_layer_group": _external_layer_group(canary_h5),
        "external_weights_group": _external_weights_group(canary_h5),
        "soft_link": _soft_link,
        "virtual": _virtual(canary_h5),
    }[attack]
    path = _edit(_save(_model(), tmp_path / "bad.h5"), edit)
    target = _model()
    before = [np.asarray(w) for w in target.get_weights()]
    with pytest.raises(ValueError, match=message):
        if entry == "load_model":
            lamina.models.load_model(path)
        else:
            target.load_weights(path)
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert os.stat(canary).st_atime == 0 and os.stat(canary_h5).st_atime == 0


def test_optimizer_weights_link_is_refused(tmp_path, canary_h5):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    path = _save(model, tmp_path / "opt.h5")

    def edit(f):
        del f["optimizer_weights"]
        f["optimizer_weights"] = h5py.ExternalLink(str(canary_h5), "/grp")

    _edit(path, edit)
    with pytest.raises(ValueError, match="optimizer_weights"):
        lamina.models.load_model(path)
    assert os.stat(canary_h5).st_atime == 0


# --- Sizes ------------------------------------------------------------------------------------


def test_absurd_config_is_refused_before_allocation(tmp_path):
    """A config declaring a 40 GB Dense with a tiny file: refused on the meta build."""
    path = _save(_model(), tmp_path / "bomb.h5")

    def edit(f):
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 10**10
        f.attrs["model_config"] = json.dumps(config).encode()

    _edit(path, edit)
    with pytest.raises(ValueError, match=r"bomb\.h5"):
        lamina.models.load_model(path)


def test_real_build_is_bounded_by_the_file_size(tmp_path, monkeypatch):
    """Even when the meta build is unavailable, no variable may outgrow the file."""
    from lamina.saving import model_sizing

    monkeypatch.setattr(model_sizing, "build_on_meta", lambda build: None)
    path = _save(_model(), tmp_path / "bomb.h5")

    def edit(f):
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 10**10
        f.attrs["model_config"] = json.dumps(config).encode()

    _edit(path, edit)
    with pytest.raises(ValueError, match="Refusing to create a variable"):
        lamina.models.load_model(path)


def test_oversized_dataset_is_refused_before_reading(tmp_path):
    """A compressed dataset declaring 400 MB where the model needs (4, 3): refused by shape."""
    path = _save(_model(), tmp_path / "big.h5")

    def edit(f):
        del f[_KERNEL]
        f.create_dataset(_KERNEL, shape=(100_000, 1000), dtype="float32", compression="gzip", chunks=(1000, 1000))

    _edit(path, edit)
    assert os.path.getsize(path) < 10_000_000
    with pytest.raises(ValueError, match=r"Shape mismatch.*\(100000, 1000\)"):
        lamina.models.load_model(path)
    with pytest.raises(ValueError, match=r"Shape mismatch.*\(100000, 1000\)"):
        _model().load_weights(path)


def test_unstored_dataset_matching_a_large_variable_is_refused(tmp_path):
    """A 4 MB kernel declared but never written (nothing stored): refused before reading."""
    model = lamina.Sequential([lamina.Input((1024,)), layers.Dense(1024)])
    path = _save(model, tmp_path / "hollow.h5")
    kernel = "model_weights/dense/sequential/dense/kernel"

    def edit(f):
        del f[kernel]
        f.create_dataset(kernel, shape=(1024, 1024), dtype="float32", chunks=(256, 256))

    _edit(path, edit)
    with pytest.raises(ValueError, match="declares shape .* but stores only"):
        lamina.models.load_model(path)


@pytest.mark.parametrize("fixed_size", [False, True])
def test_attributes_are_size_checked(tmp_path, monkeypatch, fixed_size):
    path = _save(_model(), tmp_path / "attrs.h5")
    if fixed_size:
        # A fixed-size string declares its size: refused before it is read.
        def edit(f):
            f.attrs["model_config"] = np.bytes_(f.attrs["model_config"])
        _edit(path, edit)
        with h5py.File(path, "r") as f:
            assert f.attrs.get_id("model_config").dtype.itemsize > 64
    monkeypatch.setattr(legacy_h5_format, "MAX_ATTR_BYTES", 64)
    with pytest.raises(ValueError, match="attribute 'model_config'.*limit 64 bytes"):
        lamina.models.load_model(path)


def test_name_list_attributes_are_size_checked(tmp_path, monkeypatch):
    path = _save(_model(), tmp_path / "names.h5")

    def edit(f):
        f["model_weights"].attrs["layer_names"] = np.array([b"dense" * 40, b"dense_1"])

    _edit(path, edit)
    monkeypatch.setattr(legacy_h5_format, "MAX_ATTR_BYTES", 100)
    with pytest.raises(ValueError, match="attribute 'layer_names'.*limit 100 bytes"):
        _model().load_weights(path)


def test_attribute_chunks_and_weight_names_leaving_group(tmp_path):
    path = _save(_model(), tmp_path / "names.h5")

    def edit(f):
        f["model_weights/dense"].attrs["weight_names"] = [b"../dense_1/sequential/dense_1/bias", b"x"]

    _edit(path, edit)
    with pytest.raises(ValueError, match="leaves its layer group"):
        lamina.models.load_model(path)


def test_chunked_attributes_round_trip(tmp_path):
    """Name lists over the 64 KiB header limit are split into name0, name1, ... and read back."""
    model = lamina.Sequential([lamina.Input((2,))] + [layers.Dense(2, name=f"d{i:04d}_" + "x" * 300) for i in range(250)])
    path = _save(model, tmp_path / "chunks.h5")
    with h5py.File(path, "r") as f:
        assert "layer_names0" in f["model_weights"].attrs and "layer_names" not in f["model_weights"].attrs
    loaded = lamina.models.load_model(path)
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("damage, message", [
    ("not_hdf5", "not an HDF5 file"),
    ("no_config", "No model config found"),
    ("bad_json", "`model_config` is not valid JSON"),
    ("config_list", "`model_config` is not a JSON object"),
    ("no_weights", "no plain `model_weights` group"),
])
def test_malformed_files(tmp_path, damage, message):
    path = _save(_model(), tmp_path / "m.h5")
    if damage == "not_hdf5":
        path.write_bytes(b"not hdf5 at all")
    else:
        def edit(f):
            if damage == "no_config":
                del f.attrs["model_config"]
            elif damage == "bad_json":
                f.attrs["model_config"] = b"{nope"
            elif damage == "config_list":
                f.attrs["model_config"] = b"[1, 2]"
            else:
                del f["model_weights"]
        _edit(path, edit)
    with pytest.raises(ValueError, match=message):
        lamina.models.load_model(path)
