"""Hostile files: each attack is built here and must be refused without running code."""

import io
import json
import random
import sys
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers


def _valid_archive(tmp_path):
    model = lamina.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    path = tmp_path / "ok.keras"
    model.save(path)
    return path


def _rewrite(src, dst, replace=None, extra=None, drop=()):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if replace and info.filename in replace:
                data = replace[info.filename]
            zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            if isinstance(name, zipfile.ZipInfo):
                zout.writestr(name, data)
            else:
                zout.writestr(name, data)
    return dst


def _config(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


@pytest.mark.parametrize(
    "member, message",
    [("../evil.txt", "unsafe path"), ("/abs/evil.txt", "unsafe path"), ("evil.py", "unexpected archive member")],
)
def test_bad_members_are_refused(tmp_path, member, message):
    path = _rewrite(_valid_archive(tmp_path), tmp_path / "bad.keras", extra={member: b"x"})
    with pytest.raises(ValueError, match=message):
        lamina.models.load_model(path)


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("assets/link")
    info.external_attr = (0o120777 << 16)
    path = _rewrite(_valid_archive(tmp_path), tmp_path / "link.keras", extra={info: b"/etc/passwd"})
    with pytest.raises(ValueError, match="symbolic link|unexpected"):
        lamina.models.load_model(path)


def test_module_named_in_config_is_never_imported(tmp_path):
    src = _valid_archive(tmp_path)
    config = _config(src)
    config["config"]["layers"][1]["module"] = "tests.saving._canary"
    config["config"]["layers"][1]["class_name"] = "IMPORTED"
    config["config"]["layers"][1]["registered_name"] = "IMPORTED"
    path = _rewrite(src, tmp_path / "import.keras", replace={"config.json": json.dumps(config).encode()})
    with pytest.raises(ValueError, match="Unknown class"):
        lamina.models.load_model(path)
    assert "tests.saving._canary" not in sys.modules


def test_lambda_bytecode_is_refused_even_nested(tmp_path):
    src = _valid_archive(tmp_path)
    config = _config(src)
    evil = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "evil",
            "function": {"class_name": "__lambda__", "config": {"code": "YQ==", "defaults": None, "closure": None}},
        },
        "registered_name": None,
    }
    config["config"]["layers"].append(evil)
    path = _rewrite(src, tmp_path / "lambda.keras", replace={"config.json": json.dumps(config).encode()})
    with pytest.raises(ValueError, match="safe_mode"):
        lamina.models.load_model(path)


def test_file_cannot_switch_safe_mode_off(tmp_path):
    from lamina.saving import serialization_lib

    with serialization_lib.SafeModeScope(True):
        with pytest.raises(ValueError, match="safe_mode"):
            serialization_lib.deserialize_keras_object(
                {"class_name": "__lambda__", "config": {"code": "YQ=="}}, safe_mode=False
            )


def test_oversized_hdf5_dataset_is_refused_before_reading(tmp_path):
    src = _valid_archive(tmp_path)
    with zipfile.ZipFile(src) as z:
        raw = z.read("model.weights.h5")
    buf = io.BytesIO(raw)
    with h5py.File(buf, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(10**9, 10**3), dtype="float32", chunks=(1, 1))
    path = _rewrite(src, tmp_path / "huge.keras", replace={"model.weights.h5": buf.getvalue()})
    with pytest.raises(ValueError, match="Shape mismatch"):
        lamina.models.load_model(path)


def test_compression_bomb_is_refused(tmp_path):
    src = _valid_archive(tmp_path)
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "model.weights.h5":
                data = data + b"\0" * (40 * 1024 * 1024)
            zout.writestr(info.filename, data)
    with pytest.raises(ValueError, match="compression ratio"):
        lamina.models.load_model(bomb)


def test_malformed_inputs_give_clear_errors(tmp_path):
    not_zip = tmp_path / "x.keras"
    not_zip.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a `.keras` zip"):
        lamina.models.load_model(not_zip)
    src = _valid_archive(tmp_path)
    missing = _rewrite(src, tmp_path / "nocfg.keras", drop=("config.json",))
    with pytest.raises(ValueError, match="no config.json"):
        lamina.models.load_model(missing)
    bad_json = _rewrite(src, tmp_path / "badjson.keras", replace={"config.json": b"{nope"})
    with pytest.raises(ValueError, match="not valid JSON"):
        lamina.models.load_model(bad_json)
    with pytest.raises(ValueError, match="no such file"):
        lamina.models.load_model(tmp_path / "absent.keras")
    config = _config(src)
    config["config"]["layers"][1]["class_name"] = "NoSuchLayer"
    unknown = _rewrite(src, tmp_path / "unknown.keras", replace={"config.json": json.dumps(config).encode()})
    with pytest.raises(ValueError, match="NoSuchLayer"):
        lamina.models.load_model(unknown)


def test_fuzzed_archives_load_or_fail_cleanly(tmp_path):
    src = _valid_archive(tmp_path).read_bytes()
    rng = random.Random(0)
    outcomes = {"ok": 0, "error": 0}
    for i in range(60):
        data = bytearray(src)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256)
        path = tmp_path / f"fuzz{i}.keras"
        path.write_bytes(bytes(data))
        try:
            model = lamina.models.load_model(path)
            model(np.ones((1, 4), "float32"))
            outcomes["ok"] += 1
        except ValueError:
            outcomes["error"] += 1
    assert outcomes["ok"] + outcomes["error"] == 60
    assert outcomes["error"] > 0
