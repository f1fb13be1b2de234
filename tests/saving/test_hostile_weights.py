"""Hostile weights files: HDF5 indirection, allocation bombs, missing or malformed weights.

Each attack is built here from a valid file and must be refused with a ValueError naming the file
and the entry, before any byte of another file is read or any large allocation happens. Canary
files stand for the local files an attacker would like to copy into the weights.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers

CANARY = b"CANARY-SECRET-0123456789"


def _model():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])


def _mark_unread(path):
    # An access time older than the modification time is updated by any read (relatime), so a
    # canary still showing it was never read (on file systems mounted noatime this proves less).
    os.utime(path, (0, os.stat(path).st_mtime))
    return path


def _assert_unread(path):
    assert os.stat(path).st_atime == 0, f"{path} was read"


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "outside" / "secret.bin"
    path.parent.mkdir()
    path.write_bytes(CANARY)
    return _mark_unread(path)


def _edit_archive(src, dst, edit_h5=None, config=None, drop=(), pad=None):
    """Copy the `.keras` archive ``src`` to ``dst``, editing its weights file and config."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename == "model.weights.h5" and edit_h5 is not None:
                buf = io.BytesIO(data)
                with h5py.File(buf, "a") as f:
                    edit_h5(f)
                data = buf.getvalue()
            if info.filename == "model.weights.h5" and pad is not None:
                data = data + pad
            if info.filename == "config.json" and config is not None:
                data = json.dumps(config(json.loads(data))).encode()
            zout.writestr(info.filename, data)
    return dst


def _saved(tmp_path, model=None, compiled=False):
    model = model or _model()
    if compiled:
        model.compile(optimizer="adam", loss="mse")
        model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    path = tmp_path / "ok.keras"
    model.save(path)
    return path


def _assert_untouched(model, before):
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# --- HDF5 indirection -------------------------------------------------------------------------


def _external(canary):
    def edit(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars"].create_dataset("1", shape=(3,), dtype="float32",
                                              external=[(str(canary), 0, 12)])
    return edit


def _external_link(canary_h5):
    def edit(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = h5py.ExternalLink(str(canary_h5), "/secret")
    return edit


def _soft_link_out(f):
    f.create_dataset("elsewhere", data=np.frombuffer(CANARY[:12], "float32"))
    del f["layers/dense/vars/1"]
    f["layers/dense/vars/1"] = h5py.SoftLink("/elsewhere")


def _virtual(canary_h5):
    def edit(f):
        del f["layers/dense/vars/1"]
        layout = h5py.VirtualLayout(shape=(3,), dtype="float32")
        layout[:] = h5py.VirtualSource(str(canary_h5), "secret", shape=(3,))
        f["layers/dense/vars"].create_virtual_dataset("1", layout)
    return edit


@pytest.fixture
def canary_h5(tmp_path):
    path = tmp_path / "outside_h5" / "secret.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        f.create_dataset("secret", data=np.frombuffer(CANARY[:12], "float32"))
    return _mark_unread(path)


@pytest.mark.parametrize("attack, message", [
    ("external", "external storage"),
    ("external_link", "ExternalLink"),
    ("soft_link", "SoftLink"),
    ("virtual", "virtual dataset"),
])
def test_indirection_is_refused_in_keras_archives_and_weights_files(tmp_path, canary, canary_h5, attack, message):
    edit = {
        "external": _external(canary),
        "external_link": _external_link(canary_h5),
        "soft_link": _soft_link_out,
        "virtual": _virtual(canary_h5),
    }[attack]
    bad = _edit_archive(_saved(tmp_path), tmp_path / "bad.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=rf"bad\.keras.*{message}") as info:
        lamina.models.load_model(bad)
    assert "layers/dense/vars/1" in str(info.value)

    # The same file as a `.weights.h5`, and the archive through `load_weights`: nothing assigned.
    with zipfile.ZipFile(bad) as z:
        (tmp_path / "bad.weights.h5").write_bytes(z.read("model.weights.h5"))
    model = _model()
    before = model.get_weights()
    for path in (tmp_path / "bad.weights.h5", bad):
        with pytest.raises(ValueError, match=message):
            model.load_weights(path)
        _assert_untouched(model, before)
    _assert_unread(canary)
    _assert_unread(canary_h5)


def test_optimizer_variables_are_checked_too(tmp_path, canary):
    src = _saved(tmp_path, compiled=True)

    def edit(f):
        # Slot 2 is the first kernel's momentum, shaped (4, 3).
        entry = f["optimizer/vars/2"]
        shape, dtype = entry.shape, entry.dtype
        del f["optimizer/vars/2"]
        f["optimizer/vars"].create_dataset("2", shape=shape, dtype=dtype,
                                           external=[(str(canary), 0, entry.size * 4)])

    bad = _edit_archive(src, tmp_path / "opt.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"optimizer/vars/2.*external storage"):
        lamina.models.load_model(bad)
    _assert_unread(canary)


def _tf_idf_model():
    lookup = layers.StringLookup(output_mode="tf_idf")
    lookup.adapt([["a", "b"], ["a", "c"]])
    inputs = lamina.Input((2,), dtype="string")
    return lamina.Model(inputs, lookup(inputs))


def _idf_key(f):
    keys = []
    f.visit(lambda name: keys.append(name) if name.endswith("idf_weights") else None)
    (key,) = keys
    return key


def test_lookup_idf_weights_through_external_storage_are_refused(tmp_path, canary):
    def edit(f):
        key = _idf_key(f)
        n = f[key].shape[0]
        del f[key]
        f.create_dataset(key, shape=(n,), dtype="float32", external=[(str(canary), 0, 4 * n)])

    bad = _edit_archive(_saved(tmp_path, _tf_idf_model()), tmp_path / "idf.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"idf\.keras.*idf_weights.*external storage"):
        lamina.models.load_model(bad)
    _assert_unread(canary)


# --- Allocation bombs -------------------------------------------------------------------------


def test_huge_declared_idf_weights_are_refused_before_reading(tmp_path):
    def edit(f):
        key = _idf_key(f)
        del f[key]
        f.create_dataset(key, shape=(3 * 10**9,), dtype="float32", chunks=(10**6,), compression="gzip")

    bad = _edit_archive(_saved(tmp_path, _tf_idf_model()), tmp_path / "idf_bomb.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"idf_bomb\.keras.*idf_weights.*declares shape \(3000000000,\)"):
        lamina.models.load_model(bad)


def test_config_declaring_a_huge_layer_is_refused_before_allocating(tmp_path):
    # 300M units on 1000 inputs is 1.2 TB: had it been allocated, torch would have failed with an
    # out-of-memory error instead of the shape check that must come first.
    def config(c):
        c["config"]["layers"][1]["config"]["units"] = 300_000_000
        return c

    model = lamina.Sequential([lamina.Input((1000,)), layers.Dense(2)])
    bad = _edit_archive(_saved(tmp_path, model), tmp_path / "wide.keras", config=config)
    with pytest.raises(ValueError, match=r"Shape mismatch.*\(1000, 300000000\)"):
        lamina.models.load_model(bad)


@pytest.mark.parametrize("drop_weights", [False, True])
def test_config_that_cannot_be_sized_on_meta_is_still_bounded(tmp_path, monkeypatch, drop_weights):
    # A config with an op the meta device cannot run skips the pre-allocation check; the real build
    # then may not create more variable bytes than the weights file holds (or a small margin).
    from lamina.saving import model_sizing

    monkeypatch.setattr(model_sizing, "build_on_meta", lambda build: None)

    def config(c):
        c["config"]["layers"][1]["config"]["units"] = 300_000_000
        return c

    model = lamina.Sequential([lamina.Input((1000,)), layers.Dense(2)])
    bad = _edit_archive(_saved(tmp_path, model), tmp_path / "unsized.keras", config=config)
    if drop_weights:
        bad = _edit_archive(bad, tmp_path / "unsized_no_weights.keras", drop=("model.weights.h5",))
    with pytest.raises(ValueError, match=r"Refusing to create a variable of shape \(1000, 300000000\)"):
        lamina.models.load_model(bad)
    # A sound file loads through the same path.
    good = lamina.models.load_model(_saved(tmp_path, model))
    np.testing.assert_array_equal(good.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())


def test_weights_member_larger_than_the_config_can_need_is_refused(tmp_path):
    # Compresses about 400x (under the archive's ratio limit) to 40 MB: more than a two-layer
    # model's weights file can hold, so it is refused while streaming, never held whole.
    pad = b"\0" * (40 * 1024 * 1024) + np.random.default_rng(0).bytes(64 * 1024)
    bad = _edit_archive(_saved(tmp_path), tmp_path / "inflated.keras", pad=pad)
    with pytest.raises(ValueError, match=r"inflated\.keras.*model\.weights\.h5.*more than the model"):
        lamina.models.load_model(bad)


# --- Missing or malformed weights -------------------------------------------------------------


def test_archive_without_weights_is_refused_listing_the_variables(tmp_path):
    bad = _edit_archive(_saved(tmp_path), tmp_path / "noweights.keras", drop=("model.weights.h5",))
    with pytest.raises(ValueError, match=r"noweights\.keras.*no model\.weights\.h5.*dense/kernel.*dense_1/bias"):
        lamina.models.load_model(bad)
    with pytest.raises(ValueError, match="no model.weights.h5"):
        _model().load_weights(bad)


def test_variable_stored_as_a_group_is_a_clear_error(tmp_path):
    def edit(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_group("0")

    bad = _edit_archive(_saved(tmp_path), tmp_path / "group.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"group\.keras.*layers/dense/vars/0.*is a group"):
        lamina.models.load_model(bad)


def test_non_numeric_dataset_is_a_clear_error(tmp_path):
    def edit(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars"].create_dataset("1", data=np.array([b"a", b"b", b"c"], dtype=object),
                                              dtype=h5py.string_dtype())

    bad = _edit_archive(_saved(tmp_path), tmp_path / "str.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"layers/dense/vars/1.*numeric"):
        lamina.models.load_model(bad)


def test_valid_files_still_load_the_same_weights(tmp_path):
    model = _model()
    path = _saved(tmp_path, model, compiled=True)
    loaded = lamina.models.load_model(path)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    tf_idf = _tf_idf_model()
    loaded = lamina.models.load_model(_saved(tmp_path, tf_idf))
    data = np.array([["a", "c"]])
    np.testing.assert_allclose(np.asarray(loaded(data)), np.asarray(tf_idf(data)))


def test_idf_weights_longer_than_max_tokens_are_refused(tmp_path):
    lookup = layers.StringLookup(output_mode="tf_idf", max_tokens=5)
    lookup.adapt([["a", "b"], ["a", "c"]])
    inputs = lamina.Input((2,), dtype="string")
    model = lamina.Model(inputs, lookup(inputs))

    def edit(f):
        key = _idf_key(f)
        del f[key]
        f.create_dataset(key, data=np.ones(1000, "float32"))  # stored in full, but too many

    bad = _edit_archive(_saved(tmp_path, model), tmp_path / "long_idf.keras", edit_h5=edit)
    with pytest.raises(ValueError, match=r"idf_weights.*\(1000,\).*max_tokens=5"):
        lamina.models.load_model(bad)


def test_asset_files_are_bounded_in_total(tmp_path, monkeypatch):
    from lamina.saving import saving_lib

    monkeypatch.setattr(saving_lib, "_MAX_ASSETS_BYTES", 1000)
    src = _saved(tmp_path)
    bad = tmp_path / "assets.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        for i in range(3):
            zout.writestr(f"assets/layers/dense/part{i}.txt", b"x" * 400)
    with pytest.raises(ValueError, match=r"assets\.keras.*asset files declare more than 1000 bytes"):
        lamina.models.load_model(bad)
